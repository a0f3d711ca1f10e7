"""Issue 27 item 1: text flashed mid-clip over a moving picture is read. Every frame sampled
at the text step goes through text detection, each distinct region is recognised once, and
past the bound of regions per minute the decision says its coverage is partial and goes to
review (the shipped policy's on_overload)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.adapters.detectors.ocr_gate import OcrBudget
from gateway.services.screener import Screener
from tests.integration.test_text_screening import frames_of, screen, text_screener
from tests.media import run
from tests.text_media import FONT, caption

AD = "澳门百家乐 线上赌场开户"


@pytest.fixture(scope="module")
def screener() -> Screener:
    return text_screener()


def moving_clip(path: Path, duration_s: float, captions: list[str], *, cut_at: float = 0) -> Path:
    """1080p30 testsrc2 (a moving picture), with a cut to a different moving picture
    (`life`) at `cut_at` when given."""
    source = f"testsrc2=size=1920x1080:rate=30:duration={duration_s}"
    inputs = ["-f", "lavfi", "-i", source]
    chain = ",".join(captions) or "null"
    if cut_at:
        life = (
            "life=size=1920x1080:rate=30:mold=10:ratio=0.2:death_color=#202030"
            f":life_color=#c0c0ff,trim=duration={cut_at}"
        )
        inputs += ["-f", "lavfi", "-i", life]
        graph = (
            "[1:v]format=yuv420p,setsar=1[a];[0:v]format=yuv420p,setsar=1[b];"
            f"[a][b]concat=n=2:v=1,trim=duration={duration_s},setpts=PTS-STARTPTS,{chain}[v]"
        )
    else:
        graph = f"[0:v]{chain}[v]"
    run(
        *inputs, "-filter_complex", graph, "-map", "[v]",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path),
    )  # fmt: skip
    return path


def flagged_at(record: object, label: str = "ocr:gambling") -> list[float]:
    return sorted(float(f["timestamp_s"]) for f in frames_of(record, label))  # type: ignore[arg-type]


@pytest.mark.timeout(400)  # a 75 s 1080p clip made and screened on a shared machine
async def test_flashes_mid_clip_over_a_moving_picture_are_read(
    screener: Screener, tmp_path: Path
) -> None:
    """A 1 s and a 1.5 s gambling ad at arbitrary times in a 75 s moving clip: both found,
    each with its time (the old budget of 2 reads per 15 s caught 4 of 8 such flashes)."""
    flashes = [(37.3, 1.0), (71.6, 1.5)]
    clip = moving_clip(
        tmp_path / "flashes.mp4",
        75,
        [
            caption(AD, start_s=start, end_s=start + shown, size=64, y="h*0.7", box="black@0.6")
            for start, shown in flashes
        ],
    )
    record = await screen(screener, clip)
    assert record.verdict == "block"
    times = flagged_at(record)
    for start, shown in flashes:
        assert any(start <= t <= start + shown for t in times), (start, times)
    assert record.sampling is not None
    assert record.sampling.coverage == "full"
    text = record.sampling.text
    assert text is not None
    assert text.step_s == 1.0
    assert text.frames >= 70  # every text frame went through detection
    # Each distinct text is recognised once, not once a frame.
    assert text.regions_recognised < 2 * text.frames


@pytest.mark.timeout(300)
async def test_a_scene_cut_at_the_start_does_not_stop_later_text_being_read(
    screener: Screener, tmp_path: Path
) -> None:
    clip = moving_clip(
        tmp_path / "cut.mp4",
        24,
        [caption(AD, start_s=17.2, end_s=18.4, size=64, y="h*0.2", box="black@0.6")],
        cut_at=0.1,
    )
    record = await screen(screener, clip)
    assert record.verdict == "block"
    assert any(17.2 <= t <= 18.4 for t in flagged_at(record))


@pytest.fixture(scope="module")
def bounded() -> Screener:
    return text_screener(OcrBudget(regions_per_minute=60))


def noise_clip(path: Path) -> Path:
    """12 lines of random numbers, changing on every frame, for 40 s."""
    clip = path
    lines = [
        f"drawtext=fontfile={FONT}:fontsize=34:fontcolor=white:x={60 + 900 * (i % 2)}"
        f":y={60 + 120 * (i // 2)}"
        f":text='编号 %{{eif\\:mod(n*7919+{i * 104729}\\,99991)\\:d}}"
        f" 数据 %{{eif\\:mod(n*{i + 31}\\,997)\\:d}}'"
        for i in range(12)
    ]
    run(
        "-f", "lavfi", "-i", "color=c=0x203040:s=1920x1080:r=5:d=40", "-vf", ",".join(lines),
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(clip),
    )  # fmt: skip
    return clip


@pytest.mark.timeout(300)
async def test_text_noise_on_every_frame_reaches_the_bound_and_goes_to_review(
    bounded: Screener, tmp_path: Path
) -> None:
    """Many distinct strings on every sample: past the bound of regions per minute the rest
    is not read, and the decision says so (coverage partial, the ranges) and goes to review."""
    clip = noise_clip(tmp_path / "noise.mp4")
    record = await screen(bounded, clip)
    assert record.sampling is not None
    text = record.sampling.text
    assert text is not None
    assert text.regions_recognised <= 60  # the clip is under one minute long
    assert text.regions_tracked > text.regions_recognised
    assert record.sampling.coverage == "partial"
    (gap,) = record.sampling.gaps
    assert "60 text regions per minute" in gap.reason
    assert gap.ranges
    assert gap.ranges[-1][1] >= 35.0  # the end of the clip was not read
    assert record.verdict == "review"
    reasons = {h.reason for h in record.hits or () if h.reason.startswith("coverage partial")}
    assert reasons
    assert all("not read:" in r for r in reasons)
