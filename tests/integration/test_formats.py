"""Every format a VOD platform takes, screened for real: a generated corpus through the
gateway's probe, sampler, colour model and policy; the formats we refuse, refused by name;
rotated and HDR sources reach the models (and the renditions) upright and in SDR."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from gateway.adapters.media.formats import DEMUXERS, VIDEO_DECODERS, ffmpeg_capabilities
from gateway.adapters.media.limits import MediaLimits
from gateway.adapters.media.probe import FfprobeProber
from gateway.adapters.media.sampler import FfmpegFrameSampler
from gateway.adapters.media.transcode import FfmpegTranscoder
from gateway.domain.decisions import MediaSummary
from gateway.domain.errors import MediaRefused
from gateway.domain.media import SamplingPlan
from gateway.domain.policy import Verdict
from gateway.domain.renditions import rendition_for_height
from gateway.runtime.screening_wiring import build_screener
from gateway.runtime.settings import Settings
from gateway.services.screener import Screener
from tests.formats_corpus import CORPUS, FFMPEG, Sample, half_red, make, rotated
from tests.integration.test_probe import OpenWatch
from tests.models import DARK, PINK


@pytest.fixture(scope="module")
def screener(setup_dirs: tuple[Path, Path]) -> Screener:
    models, policies = setup_dirs
    return build_screener(Settings(models_dir=models, policies_dir=policies))


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("formats")


def test_allow_lists_name_what_this_ffmpeg_has() -> None:
    capabilities = ffmpeg_capabilities()
    assert capabilities.missing() == []
    assert {d.name for d in DEMUXERS} <= capabilities.demuxers
    assert {d.name for d in VIDEO_DECODERS.values()} <= capabilities.decoders
    assert all(d.reason for d in (*DEMUXERS, *VIDEO_DECODERS.values()))


@pytest.mark.parametrize("sample", CORPUS, ids=lambda s: s.name)
async def test_each_accepted_format_passes_benign_and_reviews_pink(
    sample: Sample, screener: Screener, corpus_dir: Path
) -> None:
    benign = await asyncio.to_thread(make, sample, corpus_dir, DARK)
    pink = await asyncio.to_thread(make, sample, corpus_dir, PINK)
    passed = await screener.screen(benign)
    assert passed.probe.video.codec == sample.codec
    assert passed.decision.verdict == Verdict.PASS, passed.decision
    assert passed.frames_sampled >= 2
    reviewed = await screener.screen(pink)
    # The colour reached the model through this decoder: pink scores for review.
    assert reviewed.decision.verdict == Verdict.REVIEW, reviewed.decision


async def test_hdr_and_interlaced_sources_are_normalised_for_the_models(
    screener: Screener, corpus_dir: Path
) -> None:
    samples = {s.name: s for s in CORPUS}
    hlg = await screener.screen(
        await asyncio.to_thread(make, samples["hlg10.mp4"], corpus_dir, PINK)
    )
    assert hlg.probe.video.hdr
    interlaced = await screener.screen(
        await asyncio.to_thread(make, samples["interlaced.mpg"], corpus_dir, PINK)
    )
    assert interlaced.probe.video.interlaced
    # Tone-mapped, the HLG pink scores as the SDR pink does (washed out, it would not).
    scores = [f.score for h in hlg.decision.hits for f in h.frames]
    assert scores
    assert min(scores) == pytest.approx(0.69, abs=0.05)


async def _first_frame(path: Path) -> np.ndarray:
    prober, sampler = FfprobeProber(), FfmpegFrameSampler()
    facts = await prober.probe(path)
    frames = sampler.sample(path, SamplingPlan(), video=facts.video, duration_s=facts.duration_s)
    async with contextlib.aclosing(frames):  # stops the decoder after the first frame
        async for frame in frames:
            return np.asarray(frame.pixels, dtype=np.float32)
    raise AssertionError("no frame")


def _red_on_top(pixels: np.ndarray) -> bool:
    half = pixels.shape[0] // 2
    return bool(pixels[:half, :, 0].mean() > pixels[half:, :, 0].mean() + 100)


@pytest.mark.parametrize(("degrees", "red_on_top"), [(90, False), (270, True)])
async def test_phone_rotation_reaches_the_models_upright(
    tmp_path: Path, degrees: int, red_on_top: bool
) -> None:
    """The coded frame has red on its left. The display matrix turns it: 90 (counter-
    clockwise, as ffprobe reports it) puts the left side at the bottom, 270 at the top."""
    source = await asyncio.to_thread(rotated, await asyncio.to_thread(half_red, tmp_path), degrees)
    facts = await FfprobeProber().probe(source)
    assert facts.video.rotation == degrees
    pixels = await _first_frame(source)
    assert _red_on_top(pixels) == red_on_top
    assert _red_on_top(pixels[::-1]) != red_on_top  # the other half is blue


def _probe_json(path: Path) -> dict[str, object]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
        capture_output=True, check=True, text=True,
    ).stdout  # fmt: skip
    first: dict[str, object] = json.loads(out)["streams"][0]
    return first


async def test_renditions_of_rotated_and_10_bit_sources_are_upright_8_bit_h264(
    tmp_path: Path, corpus_dir: Path
) -> None:
    turned = await asyncio.to_thread(rotated, await asyncio.to_thread(half_red, tmp_path), 270)
    ten_bit = await asyncio.to_thread(
        make, {s.name: s for s in CORPUS}["hevc10.mp4"], corpus_dir, PINK
    )
    transcoder = FfmpegTranscoder()
    for source in (turned, ten_bit):
        media = MediaSummary.of(await FfprobeProber().probe(source))
        output = tmp_path / f"{source.stem}-120p.mp4"
        await transcoder.render(source, [(output, rendition_for_height(120))], media)
        stream = _probe_json(output)
        assert (stream["codec_name"], stream["pix_fmt"]) == ("h264", "yuv420p")
        assert not stream.get("side_data_list")  # turned already: no display matrix left
    stream = _probe_json(tmp_path / f"{turned.stem}-120p.mp4")
    assert (stream["width"], stream["height"]) == (90, 120)  # portrait, as it was shown
    assert _red_on_top(await _first_frame(tmp_path / f"{turned.stem}-120p.mp4"))


async def _refusal(path: Path, prober: FfprobeProber | None = None) -> MediaRefused:
    with pytest.raises(MediaRefused) as info:
        await (prober or FfprobeProber()).probe(path)
    return info.value


async def test_unlisted_codecs_and_containers_are_refused_by_name(tmp_path: Path) -> None:
    def encode(name: str, *args: str) -> Path:
        path = tmp_path / name
        subprocess.run(
            [*FFMPEG, "-f", "lavfi", "-i", "color=c=gray:s=160x120:r=10:d=2", *args, str(path)],
            check=True, timeout=60,
        )  # fmt: skip
        return path

    theora_ogg = await _refusal(encode("clip.ogv", "-c:v", "libtheora"))
    assert (theora_ogg.code, "ogg" in theora_ogg.message) == ("media_unsupported", True)
    theora_mkv = await _refusal(encode("clip.mkv", "-c:v", "libtheora"))
    assert (theora_mkv.code, "theora" in theora_mkv.message) == ("media_unsupported", True)
    raw = await _refusal(encode("raw.avi", "-c:v", "rawvideo", "-pix_fmt", "yuv420p"))
    assert (raw.code, "rawvideo" in raw.message) == ("media_unsupported", True)
    elementary = await _refusal(encode("clip.h264", "-c:v", "libx264", "-f", "h264"))
    assert (elementary.code, "elementary" in elementary.message) == ("media_unsupported", True)


async def _outcome(screener: Screener, path: Path) -> str:
    """The verdict, or the media refusal's code."""
    try:
        return (await screener.screen(path)).decision.verdict.name.lower()
    except MediaRefused as refusal:
        return refusal.code


@pytest.mark.parametrize("name", ["mpeg2.mpg", "wmv2.wmv", "dnxhr.mxf"])
async def test_hostile_variants_of_the_new_demuxers(
    name: str, tmp_path: Path, corpus_dir: Path, screener: Screener
) -> None:
    sample = {s.name: s for s in CORPUS}[name]
    whole = (await asyncio.to_thread(make, sample, corpus_dir, DARK)).read_bytes()
    # The container's header and nothing more (an MPEG-PS pack and system header are 36
    # bytes; at 256 a flat test frame already fits whole): refused.
    header_only = tmp_path / f"header-{name}"
    header_only.write_bytes(whole[:40])
    assert await _outcome(screener, header_only) in ("media_invalid", "media_no_video")
    # Truncated: refused, or (MPEG-PS has no index to miss) screened as the shorter video it
    # is; never a decoder error sent to a human.
    truncated = tmp_path / f"truncated-{name}"
    truncated.write_bytes(whole[: len(whole) // 3])
    assert await _outcome(screener, truncated) in (
        "pass", "media_invalid", "media_no_video", "media_unsupported"
    )  # fmt: skip
    # Frames over the pixel limit are refused before a decoder runs.
    small_limit = FfprobeProber(MediaLimits(max_pixels=100 * 100))
    assert (await _refusal(corpus_dir / f"{DARK}-{name}", small_limit)).code == "media_unsupported"


async def test_an_asf_with_a_hundred_streams_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "many.wmv"
    maps = [arg for _ in range(100) for arg in ("-map", "1:a")]
    subprocess.run(
        [*FFMPEG, "-f", "lavfi", "-i", "color=c=gray:s=160x120:r=10:d=1",
         "-f", "lavfi", "-i", "sine=duration=1", "-map", "0:v", *maps,
         "-c:v", "wmv2", "-c:a", "wmav2", str(path)],
        check=True, timeout=120,
    )  # fmt: skip
    refusal = await _refusal(path)
    assert (refusal.code, "streams" in refusal.message) == ("media_unsupported", True)


async def test_an_mpeg_ps_that_is_a_playlist_opens_nothing(tmp_path: Path) -> None:
    watch = OpenWatch(tmp_path)
    playlist = tmp_path / "archive.mpg"
    playlist.write_text(
        "#EXTM3U\n#EXT-X-TARGETDURATION:10\n"
        f"#EXTINF:10,\nfile://{watch.fifo}\n"
        f"#EXTINF:10,\nhttp://127.0.0.1:{watch.port}/segment.ts\n#EXT-X-ENDLIST\n"
    )
    try:
        assert (await _refusal(playlist)).code == "media_unsupported"
        _out, _err, code = await FfprobeProber()._run(playlist)  # the allow-list alone
        assert code != 0
    finally:
        touched = watch.stop()
    assert touched == []


async def test_a_file_no_decoder_can_read_is_a_media_refusal_not_a_review(
    tmp_path: Path, corpus_dir: Path, screener: Screener
) -> None:
    """The container is whole, the video data is zeros: ffmpeg gives up before a frame. That
    is the file's fault (media_invalid, the upload fails), not a reason for a human."""
    data = bytearray((await asyncio.to_thread(make, CORPUS[0], corpus_dir, DARK)).read_bytes())
    at = data.find(b"mdat")
    size = int.from_bytes(data[at - 4 : at], "big")
    data[at + 4 : at - 4 + size] = bytes(size - 8)
    zeroed = tmp_path / "zeroed.mp4"
    zeroed.write_bytes(bytes(data))
    assert await _outcome(screener, zeroed) == "media_invalid"


def test_which_decode_failures_are_the_files_and_which_may_pass() -> None:
    from gateway.adapters.media.sampler import SamplingFailed, decode_failure

    opened = "[av1 @ 0x1] Error while opening decoder for input stream #0:0"
    unopened = decode_failure(1, opened, "av1", frames_seen=0)
    assert isinstance(unopened, MediaRefused)
    assert unopened.code == "media_unsupported"
    nothing = decode_failure(1, "Error marking filters as finished", "h264", frames_seen=0)
    assert isinstance(nothing, MediaRefused)
    assert nothing.code == "media_invalid"
    # Killed by its CPU limit or a shutdown (a signal), or a late error after frames: retried.
    assert isinstance(decode_failure(-9, opened, "av1", frames_seen=0), SamplingFailed)
    assert isinstance(decode_failure(1, "late hiccup", "h264", frames_seen=12), SamplingFailed)


@pytest.mark.parametrize("name", ["av1.mp4", "prores422.mov", "wmv2.wmv", "dnxhr.mxf"])
def test_vodgate_scan_takes_what_it_used_to_refuse(
    name: str, setup_dirs: tuple[Path, Path], corpus_dir: Path
) -> None:
    """The report's reproduction: these exited 1 (review, decoder error) or 3 (media_invalid)."""
    from tests.integration.test_screening import LICENCE_META, scan

    clip = make({s.name: s for s in CORPUS}[name], corpus_dir, DARK)
    code, body = scan(setup_dirs, clip, *LICENCE_META)
    assert (code, body["verdict"]) == (0, "pass"), body
