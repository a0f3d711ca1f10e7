"""Subtitle tracks of every kind screened end to end with real ffmpeg, the shipped lists and
the shipped policy (issue 27, item 4): ASS/SSA fan subtitles are read (override tags and
drawings removed), WebVTT and SRT in Matroska keep their times, a track too big to read whole
says so, and a bitmap track (PGS) is named in the decision as not read."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gateway.adapters.media.formats import SUBTITLE_DECODERS, ffmpeg_capabilities
from gateway.domain.decisions import DecisionRecord
from gateway.domain.media import TEXT_SUBTITLE_CODECS
from gateway.services.screener import Screener
from tests.integration.test_text_screening import frames_of, screen, text_screener
from tests.text_media import ass_file, pgs_file, srt_file, text_clip

ITEMS = [f"3.1.10.3({n})" for n in range(1, 8)]
UNREAD = "subtitle_track:unread"


@pytest.fixture(scope="module")
def screener() -> Screener:
    return text_screener()


def unread_items(record: DecisionRecord) -> list[str]:
    return sorted(h.item for h in record.hits or () if h.label == UNREAD)


def test_every_text_subtitle_codec_has_a_decoder_on_this_machine() -> None:
    assert set(SUBTITLE_DECODERS) == TEXT_SUBTITLE_CODECS
    have = ffmpeg_capabilities().decoders
    assert {c: [d for d in names if d not in have] for c, names in SUBTITLE_DECODERS.items()} == {
        c: [] for c in SUBTITLE_DECODERS
    }


async def test_an_ass_cue_behind_override_tags_blocks_citing_its_time(
    screener: Screener, tmp_path: Path
) -> None:
    track = ass_file(
        tmp_path / "fansub.ass",
        [
            (2.0, 4.0, r"{\fad(200,200)}大家好\N欢迎收看"),
            (12.0, 14.5, r"{\pos(320,50)\c&H00FFFF&\fs40}欢迎来到{\b1}澳门{\b0}百家乐{\r}"),
            (15.0, 16.0, r"{\p1}m 0 0 l 100 0 100 100 0 100{\p0}再见"),
        ],
    )
    clip = text_clip(
        tmp_path / "fansub.mkv", 17, [], size="320x240", subtitles=track, subtitle_codec="copy"
    )
    record = await screen(screener, clip)
    assert record.verdict == "block"
    (hit,) = frames_of(record, "subtitles:gambling")
    # The file's own times: the first cue is at 2 s, and this one is still at 12 s.
    assert (hit["timestamp_s"], hit["end_s"], hit["term"]) == (12.0, 14.5, "百家乐")
    assert hit["text"] == "欢迎来到澳门百家乐"
    assert hit["source"] == "subtitles"
    assert unread_items(record) == []


async def test_an_innocent_ass_track_passes_and_is_read(screener: Screener, tmp_path: Path) -> None:
    track = ass_file(
        tmp_path / "innocent.ass",
        [
            (1.0, 3.0, r"{\an8\bord2\3c&H000000&}第一集{\i1}：{\i0}出发\N明天见"),
            # A logo drawn in vector commands: a shape, not text.
            (0.0, 10.0, r"{\p1\pos(10,10)}m 0 0 l 50 0 50 50 0 50 b 10 10 20 20 30 30{\p0}"),
            (4.0, 6.0, r"{\k20}今{\k20}天{\k40}晴\h朗"),
        ],
    )
    clip = text_clip(
        tmp_path / "innocent.mkv", 10, [], size="320x240", subtitles=track, subtitle_codec="copy"
    )
    record = await screen(screener, clip)
    assert record.verdict == "pass", record.hits
    assert unread_items(record) == []
    assert record.observed == ()


async def test_a_webvtt_track_in_matroska_is_read(screener: Screener, tmp_path: Path) -> None:
    vtt = tmp_path / "cues.vtt"
    vtt.write_text(
        "WEBVTT\n\n00:00:03.000 --> 00:00:04.500\n<b>传奇私服</b> 今晚开服\n\n", encoding="utf-8"
    )
    clip = text_clip(
        tmp_path / "vtt.mkv", 5, [], size="320x240", subtitles=vtt, subtitle_codec="webvtt"
    )
    record = await screen(screener, clip)
    (hit,) = frames_of(record, "subtitles:game_cheats")
    assert (hit["timestamp_s"], hit["end_s"], hit["text"]) == (3.0, 4.5, "传奇私服 今晚开服")


async def test_an_srt_track_in_matroska_keeps_its_times(screener: Screener, tmp_path: Path) -> None:
    cues = srt_file(tmp_path / "late.srt", [(5.0, 6.0, "你好"), (8.0, 9.0, "外挂免费下载")])
    clip = text_clip(tmp_path / "late.mkv", 10, [], size="320x240", subtitles=cues)
    record = await screen(screener, clip)
    (hit,) = frames_of(record, "subtitles:game_cheats")
    assert (hit["timestamp_s"], hit["end_s"]) == (8.0, 9.0)


async def test_100000_ass_events_with_drawings_finish_and_say_they_were_capped(
    screener: Screener, tmp_path: Path
) -> None:
    drawing = r"{\p1}" + " ".join(f"l {i} {i * 2}" for i in range(40)) + r"{\p0}"
    events = [
        ((i % 5900) * 0.01, (i % 5900) * 0.01 + 0.5, f"{drawing}第{i}句" if i % 10 else drawing)
        for i in range(100_000)
    ]
    track = ass_file(tmp_path / "flood.ass", events)
    assert track.stat().st_size > 25 * 2**20
    clip = text_clip(
        tmp_path / "flood.mkv", 60, [], size="64x64", rate=1, subtitles=track, subtitle_codec="copy"
    )
    started = time.monotonic()
    record = await screen(screener, clip)
    assert time.monotonic() - started < 90
    assert record.verdict == "review", [(h.label, h.frames[:2]) for h in record.hits or ()]
    assert unread_items(record) == ITEMS
    (notice, *_) = frames_of(record, UNREAD)
    assert str(notice["text"]).startswith("subtitle track 1 (ass): read in part: stopped after")
    assert [h.label for h in record.hits or () if h.label != UNREAD] == []


async def test_a_bitmap_track_is_named_as_not_read(screener: Screener, tmp_path: Path) -> None:
    sup = pgs_file(tmp_path / "bluray.sup", [1.0, 2.0])
    clip = text_clip(
        tmp_path / "bluray.mkv", 3, [], size="320x240", subtitles=sup, subtitle_codec="copy"
    )
    record = await screen(screener, clip)
    assert record.verdict == "review"
    assert unread_items(record) == ITEMS
    hit = frames_of(record, UNREAD)[0]
    assert hit["text"] == "subtitle track 1 (hdmv_pgs_subtitle): bitmap subtitles not read"
    assert (hit["timestamp_s"], hit["end_s"], hit["source"]) == (0.0, 3.0, "subtitles")
    assert all(h.reason == "" for h in record.hits or ())  # named, not a detector failure
