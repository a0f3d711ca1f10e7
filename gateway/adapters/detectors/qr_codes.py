"""QrCodeDetector: QR codes in sampled frames (zxing-cpp, no GUI libraries). A code's links
are checked against the domain lists (`qr:<list>`), an unlisted domain's name against the
domain-term tokens (`qr_domain:<list>`), and its text against the keyword lists as any other
text is (`qr_text:<list>`). A code none of these finds anything in is kept as evidence
(`qr:unlisted`, judged by no item) and not judged."""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.metadata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import zxingcpp

from gateway.adapters.detectors.text_signals import text_labels, text_signals
from gateway.adapters.text.domain_terms import DomainTerms
from gateway.adapters.text.links import find_links
from gateway.adapters.text.live_lists import ListSnapshot, LiveLists
from gateway.domain.media import SampledFrame
from gateway.domain.policy import Signal
from gateway.domain.ports.detection import ScreeningSubject

UNLISTED_LABEL = "qr:unlisted"
# What of a payload is kept and read: a link or an advert fits; a code can hold ~3 KB.
MAX_PAYLOAD_CHARS = 500
# Distinct codes kept per video: the same code on every frame is one finding.
MAX_CODES = 50
QR_FORMATS = zxingcpp.BarcodeFormats(
    [zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.MicroQRCode]
)


@dataclass(frozen=True, slots=True)
class QrCode:
    payload: str
    box: tuple[int, int, int, int]


class QrCodeDetector:
    def __init__(self, lists: LiveLists, terms: DomainTerms | None = None) -> None:
        self.lists = lists
        self.terms = terms or DomainTerms({})
        self.name = f"zxing-cpp@{importlib.metadata.version('zxing-cpp')}"
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="qr")

    @property
    def labels(self) -> list[str]:
        return [
            *(f"qr:{name}" for name in self.lists.snapshot.domains.lists),
            *(f"qr_domain:{name}" for name in self.terms.lists),
            *text_labels(self.lists.snapshot, "qr_text", links=False),
        ]

    async def state(self, tenant_id: str | None, declared: Mapping[str, str]) -> str:
        return f"{self.name}:{await self.lists.state()}:{self.terms.digest}"

    async def begin(self, subject: ScreeningSubject) -> QrPass:
        return QrPass(self, await self.lists.current())

    async def decode(self, pixels: npt.NDArray[np.uint8]) -> list[QrCode]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, decode_codes, pixels)

    def close(self) -> None:
        self._executor.shutdown(wait=False)


def decode_codes(pixels: npt.NDArray[np.uint8]) -> list[QrCode]:
    """Blocking: the QR codes in one RGB frame, each payload as safe text."""
    codes = []
    for result in zxingcpp.read_barcodes(
        np.ascontiguousarray(pixels),
        formats=QR_FORMATS,
    ):
        if result.content_type == zxingcpp.ContentType.Text:
            payload = result.text[:MAX_PAYLOAD_CHARS]
        else:
            payload = f"<{len(result.bytes)} bytes of binary data>"
        position = result.position
        xs = [position.top_left.x, position.top_right.x, position.bottom_left.x,
              position.bottom_right.x]  # fmt: skip
        ys = [position.top_left.y, position.top_right.y, position.bottom_left.y,
              position.bottom_right.y]  # fmt: skip
        codes.append(QrCode(payload, (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))))
    return codes


@dataclass
class QrPass:
    detector: QrCodeDetector
    lists: ListSnapshot
    seen: set[str] = field(default_factory=set)

    async def detect(self, frames: Sequence[SampledFrame]) -> list[Signal]:
        signals: list[Signal] = []
        for frame in frames:
            if frame.reason == "dense" or len(self.seen) >= MAX_CODES:
                continue
            pixels = frame.text_pixels if frame.text_pixels is not None else frame.pixels
            for code in await self.detector.decode(pixels):
                if code.payload in self.seen:
                    continue
                self.seen.add(code.payload)
                signals += self._judge(code, frame.timestamp_s)
        return signals

    def _judge(self, code: QrCode, timestamp_s: float) -> list[Signal]:
        def signal(label: str, term: str | None, host: str | None) -> Signal:
            return Signal(
                self.detector.name, label, timestamp_s, 1.0, text=code.payload, box=code.box,
                term=term, normalised=host, source="qr",
            )  # fmt: skip

        signals: list[Signal] = []
        for link in find_links(code.payload):
            listed = [
                signal(f"qr:{hit.list_name}", hit.entry, hit.link.host)
                for hit in self.lists.domains.check(link)
            ]
            # A listed domain is judged by its list; the name's tokens are for the rest.
            signals += listed or [
                signal(f"qr_domain:{hit.list_name}", hit.token, hit.link.host)
                for hit in self.detector.terms.check(link)
            ]
        # The payload was cut to MAX_PAYLOAD_CHARS when decoded: this read is bounded.
        signals += text_signals(
            self.lists, code.payload, detector=self.detector.name, kind="qr_text",
            timestamp_s=timestamp_s, box=code.box, source="qr", links=False,
        )  # fmt: skip
        return signals or [signal(UNLISTED_LABEL, None, None)]

    async def finish(self) -> list[Signal]:
        return []
