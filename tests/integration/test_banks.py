"""Hash banks on real media, real PDQ and faiss, and a real SQLite database: copies of a
banked reference block (re-encoded, scaled, cropped, overlaid, re-timed, trimmed, embedded,
mirrored), unrelated clips pass, rights holders' own uploads pass, and bad input is refused
without adding anything."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.adapters.db.banks import SqlBankStore
from gateway.adapters.detectors.bank_index import LiveBankIndex
from gateway.adapters.detectors.bank_matcher import BankMatcher
from gateway.adapters.detectors.pdq import PdqHasher
from gateway.adapters.media.fingerprint import FpcalcFingerprinter
from gateway.adapters.media.probe import FfprobeProber
from gateway.adapters.media.sampler import FfmpegFrameSampler
from gateway.adapters.policy_files import load_content_policy
from gateway.adapters.system_clock import SystemClock
from gateway.domain.banks import BankKind
from gateway.domain.errors import BankInputInvalid, MediaTooLong
from gateway.domain.media import SamplingPlan
from gateway.domain.policy import Verdict
from gateway.runtime.settings import PROJECT_ROOT, Settings
from gateway.runtime.wiring import open_database
from gateway.services.banks import BankService
from gateway.services.screener import Screener, ScreeningResult
from tests.bank_media import ENCODE, copy_of, landscape, pan_clip
from tests.media import run

OWNER, OTHER = "a" * 32, "b" * 32
LAVFI = ["testsrc", "testsrc2", "smptebars", "rgbtestsrc", "cellauto", "life", "mandelbrot",
         "yuvtestsrc"]  # fmt: skip


@dataclass
class Banks:
    service: BankService
    screener: Screener
    store: SqlBankStore

    async def screen(self, path: Path, tenant: str = OTHER) -> ScreeningResult:
        return await self.screener.screen(path, None, {}, tenant)


@pytest.fixture
async def banks(tmp_path: Path) -> AsyncIterator[Banks]:
    engine = await open_database(Settings(data_dir=tmp_path / "var"))
    async with engine.begin() as conn:  # the rights holder, as a tenant row
        await conn.exec_driver_sql(
            "INSERT INTO tenants (id, name, created_at) VALUES (?, 'owner', '2026-01-01')",
            (OWNER,),
        )
    store = SqlBankStore(engine)
    hasher = PdqHasher()
    audio = FpcalcFingerprinter()
    service = BankService(
        store, FfprobeProber(), FfmpegFrameSampler(), hasher, SystemClock(), audio
    )
    matcher = BankMatcher(LiveBankIndex(store, check_every_s=0.0), hasher, audio)
    policy = await asyncio.to_thread(
        load_content_policy, PROJECT_ROOT / "policies" / "prohibited-content.yaml"
    )
    screener = Screener(FfprobeProber(), FfmpegFrameSampler(), [matcher], policy, SamplingPlan())
    yield Banks(service, screener, store)
    await engine.dispose()


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bank-media")
    ref = pan_clip(root / "reference.mp4", seed=1, seconds=24, size="960x540")
    filler_a = pan_clip(root / "filler-a.mp4", seed=50, seconds=8, size="960x540")
    filler_b = pan_clip(root / "filler-b.mp4", seed=51, seconds=8, size="960x540")
    embedded = root / "embedded.mp4"
    run(
        "-i", str(filler_a), "-ss", "2", "-t", "20", "-i", str(ref), "-i", str(filler_b),
        "-filter_complex", "[0:v][1:v][2:v]concat=n=3:v=1:a=0[v]", "-map", "[v]",
        *ENCODE, str(embedded),
    )  # fmt: skip
    copies = {
        "low bitrate": ("-b:v", "120k"),
        "480p": ("-vf", "scale=-2:480"),
        "cropped 5 %": ("-vf", "crop=iw*0.95:ih*0.95"),
        "logo": ("-vf", "drawbox=x=iw-200:y=30:w=160:h=80:color=white@0.85:t=fill"),
        "25 fps": ("-r", "25"),
        "trimmed 3 s each end": ("-ss", "3", "-t", "18"),
        "mirrored": ("-vf", "hflip"),
    }
    with concurrent.futures.ThreadPoolExecutor(2) as pool:  # ffmpeg children, two at once
        made = {
            name: pool.submit(copy_of, ref, root / f"copy{n}.mp4", *opts)
            for n, (name, opts) in enumerate(copies.items())
        }
        made |= {
            f"unrelated {source}": pool.submit(
                run,
                "-f",
                "lavfi",
                "-i",
                f"{source}=size=320x180:rate=15",
                "-t",
                "8",
                *ENCODE,
                str(root / f"unrelated-{source}.mp4"),
            )
            for source in LAVFI
        }
        made |= {
            f"unrelated pan {seed}": pool.submit(
                pan_clip, root / f"pan{seed}.mp4", seed, seconds=8, size="320x180"
            )
            for seed in range(100, 112)
        }
        clips = {name: future.result() for name, future in made.items()}
    for source in LAVFI:
        clips[f"unrelated {source}"] = root / f"unrelated-{source}.mp4"
    clips["embedded in a longer clip"] = embedded
    clips["reference"] = ref
    return clips


@pytest.mark.timeout(600)
async def test_copies_block_and_unrelated_clips_pass(banks: Banks, media: dict[str, Path]) -> None:
    await banks.service.create("known", BankKind.PROHIBITED, "3.1.10.3(4)")
    entry, new = await banks.service.add_file("known", media["reference"], "operator:test")
    assert new
    assert entry.frames >= 20  # 24 s at one frame a second
    rows = []
    for name, path in media.items():
        if name == "reference":
            continue
        result = await banks.screen(path)
        hits = [h for h in result.decision.hits if h.label == "bank:3.1.10.3-4"]
        rows.append((name, result.decision.verdict, hits))
        if hits:  # side by side: the upload's frame and the reference's, with the distance
            captions = [e.reason for e in result.evidence if e.reason.startswith("bank match")]
            assert captions[0].startswith("bank match: upload at "), name
            assert captions[1].startswith("bank match: reference entry "), name
            assert captions[1].endswith(" bits apart"), name
    copies = [(n, v) for n, v, _ in rows if not n.startswith("unrelated")]
    unrelated = [(n, v) for n, v, _ in rows if n.startswith("unrelated")]
    blocked = sum(v == Verdict.BLOCK for _, v in copies)
    false = sum(v != Verdict.PASS for _, v in unrelated)
    print(
        f"\nbank matching on {len(rows)} clips\n"
        f"                  block   pass\n"
        f"  copies          {blocked:5d}  {len(copies) - blocked:5d}\n"
        f"  unrelated       {false:5d}  {len(unrelated) - false:5d}"
    )
    for name, verdict, hits in rows:
        detail = [(f.timestamp_s, f.end_s, f.reference, f.text) for h in hits for f in h.frames]
        print(f"  {name:28s} {verdict.name.lower():6s} {detail}")
    assert [n for n, v in copies if v != Verdict.BLOCK] == []
    assert [n for n, v in unrelated if v != Verdict.PASS] == []
    (_, _, hits) = next(r for r in rows if r[0] == "embedded in a longer clip")
    start, end = hits[0].frames[0].timestamp_s, hits[0].frames[0].end_s
    assert 6 <= start <= 11
    assert end is not None
    assert 24 <= end <= 29  # the 20 s taken from the reference, 8 s in


async def test_rights_go_to_review_for_others_and_pass_for_the_owner(
    banks: Banks, media: dict[str, Path]
) -> None:
    with pytest.raises(BankInputInvalid, match="owner"):
        await banks.service.create("film", BankKind.RIGHTS, "3.1.10.3(7)")
    await banks.service.create("film", BankKind.RIGHTS, "3.1.10.3(7)", OWNER)
    await banks.service.add_file("film", media["reference"], "operator:test")
    other = await banks.screen(media["trimmed 3 s each end"], tenant=OTHER)
    assert other.decision.verdict == Verdict.REVIEW
    (hit,) = other.decision.hits
    assert (hit.label, hit.item_id) == ("rights:3.1.10.3-7", "3.1.10.3(7)")
    signal = hit.frames[0]
    assert signal.bank == "film"
    assert signal.reference is not None
    assert signal.reference.startswith("entry ")  # which reference, and its matched range
    owner = await banks.screen(media["trimmed 3 s each end"], tenant=OWNER)
    assert owner.decision.verdict == Verdict.PASS


# A melody that does not repeat for minutes (two quadratic-residue note sequences).
SONG = (
    "aevalsrc='0.3*sin(2*PI*220*pow(2\\,mod(floor(t*3)*floor(t*3)*7\\,23)/12)*t)"
    "+0.2*sin(2*PI*330*pow(2\\,mod(floor(t*3)*floor(t*3)*5\\,19)/12)*t)':s=44100:d=40"
)


async def test_a_song_under_another_video_goes_to_review_and_its_owner_passes(
    banks: Banks, tmp_path: Path
) -> None:
    song = tmp_path / "song.m4a"
    run("-f", "lavfi", "-i", SONG, "-c:a", "aac", str(song))
    video = tmp_path / "holiday.mp4"  # unrelated pictures; the song from 5 s, 10 s in
    run(
        "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=15:d=45",
        "-f", "lavfi", "-i", "anoisesrc=d=10:a=0.05", "-ss", "5", "-i", str(song),
        "-filter_complex", "[1:a][2:a]concat=n=2:v=0:a=1[a]", "-map", "0:v", "-map", "[a]",
        *ENCODE, "-c:a", "aac", "-b:a", "96k", "-shortest", str(video),
    )  # fmt: skip
    await banks.service.create("label", BankKind.RIGHTS, "3.1.10.3(7)", OWNER)
    entry, _ = await banks.service.add_file("label", song, "operator:test")
    assert entry.frames == 0  # audio only
    other = await banks.screen(video, tenant=OTHER)
    assert other.decision.verdict == Verdict.REVIEW
    (hit,) = other.decision.hits
    assert hit.label == "rights:3.1.10.3-7"
    (signal,) = hit.frames
    assert signal.source == "audio"
    assert 7 <= signal.timestamp_s <= 13  # the song starts 10 s in
    assert signal.end_s is not None
    assert signal.end_s >= 35
    assert signal.reference is not None
    assert signal.reference.startswith(f"entry {entry.id} audio at ")
    assert (await banks.screen(video, tenant=OWNER)).decision.verdict == Verdict.PASS
    silent = tmp_path / "silent.mp4"  # the same pictures, no audio: nothing to match
    run("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=15:d=20", *ENCODE, str(silent))
    assert (await banks.screen(silent, tenant=OTHER)).decision.verdict == Verdict.PASS


async def test_bad_input_adds_nothing(banks: Banks, media: dict[str, Path], tmp_path: Path) -> None:
    await banks.service.create("known", BankKind.PROHIBITED, "3.1.10.3(4)")
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all")
    with pytest.raises(BankInputInvalid, match="not a video"):
        await banks.service.add_file("known", text, "operator:test")
    lines = ["entry good", "0" * 64 + ",100,0.0", "entry bad", "xyz" + "0" * 61 + ",100,1.0"]
    with pytest.raises(BankInputInvalid, match="line 4: not a 64-digit PDQ hex hash"):
        await banks.service.import_lines("known", lines, "operator:test")
    assert await banks.store.entries("known") == []
    first, new = await banks.service.add_file("known", media["reference"], "operator:test")
    again, new_again = await banks.service.add_file("known", media["reference"], "operator:x")
    assert (new, new_again, again.id) == (True, False, first.id)
    assert len(await banks.store.entries("known")) == 1


async def test_a_banked_picture_blocks_a_video_that_shows_it(banks: Banks, tmp_path: Path) -> None:
    from PIL import Image

    picture = tmp_path / "poster.png"
    Image.open(landscape(tmp_path / "wide.png", seed=9)).crop((300, 0, 1580, 720)).save(picture)
    video = tmp_path / "shows-the-poster.mp4"  # 4 s of something else, the poster for 8 s
    run(
        "-f", "lavfi", "-i", "testsrc=size=640x360:rate=15:d=4",
        "-loop", "1", "-framerate", "15", "-t", "8", "-i", str(picture),
        "-filter_complex", "[1:v]scale=640:360,setsar=1[p];[0:v][p]concat=n=2:v=1:a=0[v]",
        "-map", "[v]", *ENCODE, str(video),
    )  # fmt: skip
    await banks.service.create("posters", BankKind.PROHIBITED, "3.1.10.3(1)")
    entry, _ = await banks.service.add_file("posters", picture, "operator:test")
    assert (entry.frames, entry.duration_s) == (1, 0.0)
    result = await banks.screen(video)
    assert result.decision.verdict == Verdict.BLOCK
    (hit,) = result.decision.hits
    assert hit.label == "bank:3.1.10.3-1"
    assert 3.5 <= hit.frames[0].timestamp_s <= 6.5


async def test_a_10_hour_silent_audio_track_is_refused_before_any_decoding(
    banks: Banks, tmp_path: Path
) -> None:
    minute = tmp_path / "minute.mka"
    run("-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "60", "-c:a", "libopus",
        "-b:a", "6k", str(minute))  # fmt: skip
    listing = tmp_path / "list.txt"
    listing.write_text(f"file '{minute}'\n" * 600)
    hours = tmp_path / "hours.mka"
    run("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(hours))
    video = tmp_path / "ten-hours.mkv"  # 2 s of pictures over 10 h of silence
    run("-f", "lavfi", "-i", "testsrc2=size=160x90:rate=5:d=2", "-i", str(hours),
        "-map", "0:v", "-map", "1:a", *ENCODE, "-c:a", "copy", str(video))  # fmt: skip
    await banks.service.create("known", BankKind.PROHIBITED, "3.1.10.3(4)")
    with pytest.raises(BankInputInvalid, match="media_too_long"):
        await banks.service.add_file("known", video, "operator:test")
    with pytest.raises(MediaTooLong):
        await banks.screen(video)


async def test_export_import_round_trip_and_removal(banks: Banks, media: dict[str, Path]) -> None:
    await banks.service.create("known", BankKind.PROHIBITED, "3.1.10.3(4)")
    entry, _ = await banks.service.add_file("known", media["reference"], "operator:test")
    exported = await banks.service.export("known")
    assert exported[0] == "# vodgate-bank v1 known prohibited 3.1.10.3(4)"
    await banks.service.create("copy", BankKind.PROHIBITED, "3.1.10.3(2)")
    (imported,) = await banks.service.import_lines("copy", exported, "operator:test")
    assert imported.frames == entry.frames
    assert (await banks.screen(media["low bitrate"])).decision.verdict == Verdict.BLOCK
    await banks.service.remove("known", entry.id, "operator:test")
    await banks.service.remove("copy", imported.id, "operator:test")
    assert (await banks.screen(media["low bitrate"])).decision.verdict == Verdict.PASS


async def test_a_bank_changed_while_screening_runs(banks: Banks, media: dict[str, Path]) -> None:
    """The screening keeps the index it began with; the next one sees the change."""
    await banks.service.create("known", BankKind.PROHIBITED, "3.1.10.3(4)")
    entry, _ = await banks.service.add_file("known", media["reference"], "operator:test")
    screening = asyncio.create_task(banks.screen(media["logo"]))
    await asyncio.sleep(0.2)
    await banks.service.remove("known", entry.id, "operator:test")
    assert (await screening).decision.verdict in (Verdict.BLOCK, Verdict.PASS)
    assert (await banks.screen(media["logo"])).decision.verdict == Verdict.PASS
