"""OcrDetector: PP-OCRv4 text detection and Chinese/English recognition (the ONNX models that
ship in the `rapidocr-onnxruntime` wheel), as two stages run separately in one thread of
their own: detection on every text frame (at a reduced size or the frame's full size), and
recognition only of the regions that are new or changed (OcrPass tracks them). Each line
read is matched against the keyword and domain lists; the lines read in the opening and
closing seconds are searched for a licence number (3.1.10.1)."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import cv2
import numpy as np
import numpy.typing as npt

from gateway.adapters.detectors.ocr_gate import OcrBudget
from gateway.adapters.detectors.ocr_pass import (
    LICENCE_LABEL,
    MIN_TEXT_SCORE,
    OcrPass,
    Quad,
    TextLine,
    box_of,
    legible,
)
from gateway.adapters.detectors.text_signals import text_labels
from gateway.adapters.text.live_lists import LiveLists
from gateway.domain.errors import ConfigError
from gateway.domain.ports.detection import ScreeningSubject

T = TypeVar("T")


class OcrDetector:
    def __init__(
        self, lists: LiveLists, *, threads: int = 2, budget: OcrBudget | None = None
    ) -> None:
        """Blocking (loads the models): at start-up, in a thread."""
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:
            raise ConfigError(
                "OCR needs rapidocr-onnxruntime (make deps installs it with --no-deps)"
            ) from exc
        # Frames are sized here (multiples of 32) before detection; limit type "min" with a
        # tiny limit keeps them as they come (it only ever enlarges).
        self._engine: Any = RapidOCR(
            det_limit_side_len=32,
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
        self.find_text(np.zeros((540, 960, 3), np.uint8), self.budget.det_side)

    async def state(self, tenant_id: str | None, declared: Mapping[str, str]) -> str:
        number = declared.get("licence_number", "")  # compared with what is on screen
        return f"{self.name}:{await self.lists.state()}:{number}"

    async def begin(self, subject: ScreeningSubject) -> OcrPass:
        return OcrPass(self, await self.lists.current(), subject)

    async def run(self, call: Callable[[], T]) -> T:
        """A blocking call in OCR's own thread (one at a time: the models' threads are set)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def find_text(self, bgr: npt.NDArray[np.uint8], side: int | None) -> list[Quad]:
        """Blocking: text boxes in a BGR frame, detected with its short side scaled down to
        `side` (None: at its own size), in the frame's coordinates."""
        height, width = bgr.shape[:2]
        scale = 1.0 if side is None else min(1.0, side / min(height, width))
        if scale == 1.0:  # the engine rounds the size to multiples of 32 and maps boxes back
            quads, _ = self._engine.text_det(np.ascontiguousarray(bgr))
            return [np.asarray(q, np.float32) for q in quads] if quads is not None else []
        size = (max(32, round(width * scale / 32) * 32), max(32, round(height * scale / 32) * 32))
        image = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
        quads, _ = self._engine.text_det(image)
        if quads is None:
            return []
        factor = np.array([width / size[0], height / size[1]], np.float32)
        return [np.asarray(q, np.float32) * factor for q in quads]

    def crop(self, bgr: npt.NDArray[np.uint8], quad: Quad) -> npt.NDArray[np.uint8]:
        crop: npt.NDArray[np.uint8] = self._engine.get_crop_img_list(bgr, [quad])[0]
        return crop

    def recognise(self, crops: list[npt.NDArray[np.uint8]]) -> list[tuple[str, float]]:
        """Blocking: each crop's text and confidence."""
        if not crops:
            return []
        results, _ = self._engine.text_rec(crops)
        return [(str(text), float(score)) for text, score in results]

    def read_lines(self, pixels: npt.NDArray[np.uint8], timestamp_s: float) -> list[TextLine]:
        """Blocking: the text lines in one RGB frame, detected at full size."""
        bgr = np.ascontiguousarray(pixels[:, :, ::-1])
        quads = self.find_text(bgr, None)
        read = self.recognise([self.crop(bgr, q) for q in quads])
        return [
            TextLine(timestamp_s, text, score, box_of(quad))
            for quad, (text, score) in zip(quads, read, strict=True)
            if legible(text, score)
        ]

    def close(self) -> None:
        self._executor.shutdown(wait=False)


__all__ = ["LICENCE_LABEL", "OcrDetector", "TextLine"]
