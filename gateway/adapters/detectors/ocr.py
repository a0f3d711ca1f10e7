"""OcrDetector: PP-OCRv4 text detection and Chinese/English recognition (the ONNX models that
ship in the `rapidocr-onnxruntime` wheel) on the frames the OCR gate picks, in one thread of
its own. Each line read is matched against the keyword and domain lists; the lines read in
the opening and closing seconds are searched for a licence number (3.1.10.1)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gateway.adapters.detectors.ocr_gate import OcrBudget, OcrGate
from gateway.adapters.detectors.text_signals import text_labels, text_signals
from gateway.adapters.text.live_lists import ListSnapshot, LiveLists
from gateway.domain.errors import ConfigError
from gateway.domain.licence_on_screen import differs, shown_numbers
from gateway.domain.media import SampledFrame
from gateway.domain.policy import Signal
from gateway.domain.ports.detection import ScreeningSubject

logger = logging.getLogger(__name__)

LICENCE_LABEL = "licence_number:mismatch"
# A line shorter than this (in letters and digits) is noise: at default thresholds the
# models read single glyphs ("O", "口") on textless frames.
MIN_TEXT_CHARS = 2
# Recognition confidence below this is not text anyone could read.
MIN_TEXT_SCORE = 0.5


@dataclass(frozen=True, slots=True)
class TextLine:
    timestamp_s: float
    text: str
    score: float
    box: tuple[int, int, int, int]  # x, y, width, height in the text frame


class OcrDetector:
    def __init__(
        self, lists: LiveLists, *, threads: int = 2, budget: OcrBudget | None = None
    ) -> None:
        """Blocking (loads three models): at start-up, in a thread."""
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:
            raise ConfigError(
                "OCR needs rapidocr-onnxruntime (make deps installs it with --no-deps)"
            ) from exc
        # det_limit_side_len: frames arrive at most 960 px long, ~540 short; "min" keeps
        # them at their size (a larger limit would enlarge them: 2.5x the cost, no gain).
        self._engine: Any = RapidOCR(
            det_limit_side_len=540,
            intra_op_num_threads=threads,
            inter_op_num_threads=1,
            text_score=MIN_TEXT_SCORE,
        )
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="ocr")
        self.lists = lists
        self.budget = budget or OcrBudget()
        self.name = "ppocr@v4"

    @property
    def labels(self) -> list[str]:
        return [*text_labels(self.lists.snapshot, "ocr"), LICENCE_LABEL]

    def warm_up(self) -> None:
        self.read_lines(np.zeros((540, 960, 3), np.uint8), 0.0)

    async def state(self, tenant_id: str | None, declared: Mapping[str, str]) -> str:
        number = declared.get("licence_number", "")  # compared with what is on screen
        return f"{self.name}:{await self.lists.state()}:{number}"

    async def begin(self, subject: ScreeningSubject) -> OcrPass:
        return OcrPass(
            self,
            await self.lists.current(),
            subject,
            OcrGate(self.budget, subject.media.duration_s),
        )

    async def read(self, pixels: npt.NDArray[np.uint8], timestamp_s: float) -> list[TextLine]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.read_lines, pixels, timestamp_s)

    def read_lines(self, pixels: npt.NDArray[np.uint8], timestamp_s: float) -> list[TextLine]:
        """Blocking: the text lines in one RGB frame."""
        result, _ = self._engine(np.ascontiguousarray(pixels[:, :, ::-1]), use_cls=False)
        lines = []
        for points, text, score in result or ():
            if sum(ch.isalnum() for ch in text) < MIN_TEXT_CHARS:
                continue
            xs = [int(p[0]) for p in points]
            ys = [int(p[1]) for p in points]
            box = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
            lines.append(TextLine(timestamp_s, str(text), float(score), box))
        return lines

    def close(self) -> None:
        self._executor.shutdown(wait=False)


@dataclass
class OcrPass:
    detector: OcrDetector
    lists: ListSnapshot
    subject: ScreeningSubject
    gate: OcrGate

    async def detect(self, frames: Sequence[SampledFrame]) -> list[Signal]:
        signals: list[Signal] = []
        # Time order within the batch: the gate compares each frame with the last one read.
        for frame in sorted(frames, key=lambda f: f.timestamp_s):
            if frame.reason == "dense" or frame.text_pixels is None:
                continue  # dense windows are for the image models; text was read already
            if not self.gate.wants(frame.timestamp_s, frame.text_pixels):
                continue
            for line in await self.detector.read(frame.text_pixels, frame.timestamp_s):
                signals += text_signals(
                    self.lists,
                    line.text,
                    detector=self.detector.name,
                    kind="ocr",
                    timestamp_s=line.timestamp_s,
                    score=line.score,
                    box=line.box,
                )
                if self.gate.in_edges(line.timestamp_s):
                    signals += self._licence_mismatch(line)
        return signals

    async def finish(self) -> list[Signal]:
        logger.info(
            "ocr.frames", extra={"read": self.gate.read, "skipped": self.gate.skipped_total}
        )
        return []

    def _licence_mismatch(self, line: TextLine) -> list[Signal]:
        """A licence number shown in the opening or closing seconds that is not the one
        declared (3.1.10.1). No declared number: nothing to compare (creation refused it)."""
        declared = self.subject.declared.get("licence_number", "").strip()
        if not declared:
            return []
        return [
            Signal(
                self.detector.name,
                LICENCE_LABEL,
                line.timestamp_s,
                1.0,
                text=line.text,
                box=line.box,
                term=number,
                reference=declared,  # what the customer declared
                source="ocr",
            )
            for number in shown_numbers(line.text)
            if differs(declared, number)
        ]
