"""SubtitleTextDetector: the text subtitle tracks (mov_text, subrip, ass, webvtt) converted to
SRT by ffmpeg under the probe's hardening (the file protocol only, allow-listed demuxers and
decoders, resource limits), each cue matched with its times. Bitmap subtitles (DVD, PGS)
carry no text to read here and are skipped."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import srt

from gateway.adapters.detectors.text_signals import text_labels, text_signals
from gateway.adapters.media.limits import MediaLimits, hardened_ffmpeg
from gateway.adapters.text.live_lists import ListSnapshot, LiveLists
from gateway.domain.media import SampledFrame, SubtitleStream
from gateway.domain.policy import Signal
from gateway.domain.ports.detection import ScreeningSubject

logger = logging.getLogger(__name__)

TEXT_SUBTITLE_CODECS = frozenset({"mov_text", "subrip", "srt", "ass", "ssa", "webvtt", "text"})
# A track's text past this is not subtitles (100,000 cues are ~5 MB): the rest is not read.
MAX_TRACK_BYTES = 16 * 1024 * 1024
# Tracks read per video, and signals kept from them.
MAX_TRACKS = 8
MAX_SIGNALS = 200
TRACK_TIMEOUT_S = 120.0
# Markup a converted cue may still carry: <i>, <font ...>, {\an8}.
_MARKUP = re.compile(r"<[^>]{0,200}>|\{\\[^}]{0,200}\}")


class SubtitleUnreadable(Exception):
    """ffmpeg could not convert a text track (the screener applies on_error)."""


@dataclass(frozen=True, slots=True)
class Cue:
    start_s: float
    end_s: float
    text: str


class SubtitleTextDetector:
    def __init__(
        self, lists: LiveLists, limits: MediaLimits | None = None, ffmpeg: str = "ffmpeg"
    ) -> None:
        self.lists = lists
        self.limits = limits or MediaLimits()
        self._ffmpeg = ffmpeg
        self.name = "subtitles@1"

    @property
    def labels(self) -> list[str]:
        return text_labels(self.lists.snapshot, "subtitles")

    async def begin(self, subject: ScreeningSubject) -> SubtitlePass:
        return SubtitlePass(self, await self.lists.current(), subject)

    async def cues(self, subject: ScreeningSubject, stream: SubtitleStream) -> list[Cue]:
        """One track's cues; raises when ffmpeg could not convert it."""
        command = await asyncio.to_thread(  # resolving the path reads the disk
            functools.partial(
                hardened_ffmpeg,
                self.limits,
                int(30 + subject.media.duration_s / 10),
                subject.path,
                ffmpeg=self._ffmpeg,
                # The SRT encoder is named too: ffmpeg checks encoders against the list.
                decoders=(stream.codec, "srt", "subrip"),
            )
        )
        argv = [*command, "-map", f"0:{stream.index}", "-c:s", "srt", "-f", "srt", "pipe:1"]
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None and process.stderr is not None  # noqa: S101
        try:
            data, errors = await asyncio.wait_for(
                asyncio.gather(
                    _read_up_to(process.stdout, MAX_TRACK_BYTES),
                    _read_up_to(process.stderr, 64 * 1024, keep_tail=True),
                ),
                TRACK_TIMEOUT_S,
            )
            # At the cap ffmpeg is still writing: stopped here, the text read so far kept.
            capped = len(data) >= MAX_TRACK_BYTES
            code = 0 if capped else await asyncio.wait_for(process.wait(), TRACK_TIMEOUT_S)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        if code != 0:
            # A track the screening cannot read is the detector's failure: never a pass.
            tail = errors.decode(errors="replace")[-300:]
            raise SubtitleUnreadable(f"stream {stream.index}: ffmpeg exited with {code}: {tail}")
        return await asyncio.to_thread(parse_srt, data.decode("utf-8", errors="replace"))


async def _read_up_to(
    stream: asyncio.StreamReader, limit: int, *, keep_tail: bool = False
) -> bytes:
    """Everything up to `limit` bytes, or to the end; with keep_tail the stream is read to
    its end and its last `limit` bytes kept (a child's stderr must never block it)."""
    data = bytearray()
    while chunk := await stream.read(64 * 1024):
        data += chunk
        if len(data) >= limit:
            if not keep_tail:
                return bytes(data[:limit])
            del data[:-limit]
    return bytes(data)


def parse_srt(text: str) -> list[Cue]:
    """Blocking on a long track: the cues, markup removed; broken entries skipped."""
    return [
        Cue(
            cue.start.total_seconds(),
            cue.end.total_seconds(),
            _MARKUP.sub(" ", cue.content).strip(),
        )
        for cue in srt.parse(text, ignore_errors=True)
    ]


@dataclass
class SubtitlePass:
    detector: SubtitleTextDetector
    lists: ListSnapshot
    subject: ScreeningSubject

    async def detect(self, frames: Sequence[SampledFrame]) -> list[Signal]:
        return []

    async def finish(self) -> list[Signal]:
        signals: list[Signal] = []
        tracks = [s for s in self.subject.media.subtitles if s.codec in TEXT_SUBTITLE_CODECS]
        for stream in tracks[:MAX_TRACKS]:
            cues = await self.detector.cues(self.subject, stream)
            signals += await asyncio.to_thread(self._match, cues)
            logger.info(
                "subtitles.read",
                extra={"stream": stream.index, "codec": stream.codec, "cues": len(cues)},
            )
        return signals[:MAX_SIGNALS]

    def _match(self, cues: list[Cue]) -> list[Signal]:
        signals: list[Signal] = []
        for cue in cues:
            signals += text_signals(
                self.lists,
                cue.text,
                detector=self.detector.name,
                kind="subtitles",
                timestamp_s=cue.start_s,
                end_s=cue.end_s,
            )
            if len(signals) >= MAX_SIGNALS:
                break
        return signals
