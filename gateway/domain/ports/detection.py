"""The Detector port: sampled frames in, typed signals out.

An image classifier scores labels; an OCR detector will add the text it read and its box; a
hash matcher the reference it matched and its bank (`Signal` carries each when present).
The screener takes any number of detectors and never asks which kind it holds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gateway.domain.media import SampledFrame
from gateway.domain.policy import Signal


class Detector(Protocol):
    @property
    def name(self) -> str:
        """Name and version, as decisions record it: "open_nsfw@1.0"."""
        ...

    @property
    def labels(self) -> list[str]:
        """The `detector:label`s it scores; a policy may name any of them."""
        ...

    async def detect(self, frames: Sequence[SampledFrame]) -> list[Signal]:
        """Signals for these frames. Raises on failure: the screener then applies each of
        its labels' on_error and goes on with the other detectors."""
        ...
