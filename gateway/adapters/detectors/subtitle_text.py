"""SubtitleTextDetector: the cues of every text subtitle track (the SubtitleReader port reads
them), each matched against the keyword and domain lists with its times. A track that is not
read, or read only in part (bitmap subtitles, a codec not read, tracks past MAX_TRACKS, a
track past the reader's caps), is named in a `subtitle_track:unread` signal: the policy says
what that means (review under every item whose text it could hold)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gateway.adapters.detectors.text_signals import text_labels, text_signals
from gateway.adapters.text.live_lists import ListSnapshot, LiveLists
from gateway.domain.media import (
    BITMAP_SUBTITLE_CODECS,
    TEXT_SUBTITLE_CODECS,
    SampledFrame,
    SubtitleCue,
    SubtitleStream,
)
from gateway.domain.policy import Signal
from gateway.domain.ports.detection import ScreeningSubject
from gateway.domain.ports.media import SubtitleReader

logger = logging.getLogger(__name__)

# Tracks read per video, and signals kept from them.
MAX_TRACKS = 8
MAX_SIGNALS = 200
UNREAD_LABEL = "subtitle_track:unread"


class SubtitleTextDetector:
    def __init__(self, lists: LiveLists, reader: SubtitleReader) -> None:
        self.lists = lists
        self.reader = reader
        self.name = "subtitles@1"

    @property
    def labels(self) -> list[str]:
        return [*text_labels(self.lists.snapshot, "subtitles"), UNREAD_LABEL]

    async def state(self, tenant_id: str | None, declared: Mapping[str, str]) -> str:
        return f"{self.name}:{await self.lists.state()}"

    async def begin(self, subject: ScreeningSubject) -> SubtitlePass:
        return SubtitlePass(self, await self.lists.current(), subject)


@dataclass
class SubtitlePass:
    detector: SubtitleTextDetector
    lists: ListSnapshot
    subject: ScreeningSubject

    async def detect(self, frames: Sequence[SampledFrame]) -> list[Signal]:
        return []

    async def finish(self) -> list[Signal]:
        signals: list[Signal] = []
        unread: list[Signal] = []  # kept whole: never cut by MAX_SIGNALS
        read = 0
        for stream in self.subject.media.subtitles:
            if stream.codec in BITMAP_SUBTITLE_CODECS:
                unread.append(self._unread(stream, "bitmap subtitles not read"))
            elif stream.codec not in TEXT_SUBTITLE_CODECS:
                unread.append(self._unread(stream, "a subtitle format not read"))
            elif read >= MAX_TRACKS:
                unread.append(self._unread(stream, f"past the {MAX_TRACKS} text tracks read"))
            else:
                read += 1
                track = await self.detector.reader.read(
                    self.subject.path, stream, self.subject.media.duration_s
                )
                signals += await asyncio.to_thread(self._match, track.cues)
                if track.capped:
                    unread.append(self._unread(stream, f"read in part: {track.capped}"))
                logger.info(
                    "subtitles.read",
                    extra={"stream": stream.index, "codec": stream.codec,
                           "cues": len(track.cues), "capped": track.capped},
                )  # fmt: skip
        return unread + signals[:MAX_SIGNALS]

    def _unread(self, stream: SubtitleStream, why: str) -> Signal:
        return Signal(
            self.detector.name,
            UNREAD_LABEL,
            0.0,
            1.0,
            text=f"subtitle track {stream.index} ({stream.codec}): {why}",
            end_s=self.subject.media.duration_s,
            source="subtitles",
        )

    def _match(self, cues: Sequence[SubtitleCue]) -> list[Signal]:
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
