"""DeclaredTextDetector: what the customer typed (title, file name, description) matched
against the keyword lists. Free text: the policy names `metadata:<list>` labels with no
block threshold, so a hit sends the video to a human unless a list's rule says otherwise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gateway.adapters.detectors.text_signals import text_labels, text_signals
from gateway.adapters.text.live_lists import ListSnapshot, LiveLists
from gateway.domain.media import SampledFrame
from gateway.domain.policy import Signal
from gateway.domain.ports.detection import ScreeningSubject

# The Upload-Metadata keys that carry free text.
DECLARED_FIELDS = ("title", "filename", "name", "description")


class DeclaredTextDetector:
    def __init__(self, lists: LiveLists) -> None:
        self.lists = lists
        self.name = "metadata@1"

    @property
    def labels(self) -> list[str]:
        return text_labels(self.lists.snapshot, "metadata", links=False)

    async def state(self, tenant_id: str | None, declared: Mapping[str, str]) -> str:
        fields = [declared.get(key, "")[:2000] for key in DECLARED_FIELDS]
        return f"{self.name}:{await self.lists.state()}:{fields}"

    async def begin(self, subject: ScreeningSubject) -> DeclaredTextPass:
        return DeclaredTextPass(self.name, await self.lists.current(), subject)


@dataclass
class DeclaredTextPass:
    name: str
    lists: ListSnapshot
    subject: ScreeningSubject

    async def detect(self, frames: Sequence[SampledFrame]) -> list[Signal]:
        return []

    async def finish(self) -> list[Signal]:
        signals: list[Signal] = []
        for key in DECLARED_FIELDS:
            value = self.subject.declared.get(key, "")[:2000]
            if value:
                signals += text_signals(
                    self.lists,
                    value,
                    detector=self.name,
                    kind="metadata",
                    source=key,
                    timestamp_s=0.0,
                    links=False,  # a link a customer typed is not on screen: no verdict
                )
        return signals
