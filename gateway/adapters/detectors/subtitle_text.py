"""SubtitleTextDetector: the cues of every text subtitle track (the SubtitleReader port reads
them), each matched against the keyword and domain lists with its times."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gateway.adapters.detectors.text_signals import text_labels, text_signals
from gateway.adapters.text.live_lists import ListSnapshot, LiveLists
from gateway.domain.media import TEXT_SUBTITLE_CODECS, SampledFrame, SubtitleCue
from gateway.domain.policy import Signal
from gateway.domain.ports.detection import ScreeningSubject
from gateway.domain.ports.media import SubtitleReader

logger = logging.getLogger(__name__)

# Tracks read per video, and signals kept from them.
MAX_TRACKS = 8
MAX_SIGNALS = 200


class SubtitleTextDetector:
    def __init__(self, lists: LiveLists, reader: SubtitleReader) -> None:
        self.lists = lists
        self.reader = reader
        self.name = "subtitles@1"

    @property
    def labels(self) -> list[str]:
        return text_labels(self.lists.snapshot, "subtitles")

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
        tracks = [s for s in self.subject.media.subtitles if s.codec in TEXT_SUBTITLE_CODECS]
        for stream in tracks[:MAX_TRACKS]:
            cues = await self.detector.reader.cues(
                self.subject.path, stream, self.subject.media.duration_s
            )
            signals += await asyncio.to_thread(self._match, cues)
            logger.info(
                "subtitles.read",
                extra={"stream": stream.index, "codec": stream.codec, "cues": len(cues)},
            )
        return signals[:MAX_SIGNALS]

    def _match(self, cues: list[SubtitleCue]) -> list[Signal]:
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
