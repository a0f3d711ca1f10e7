"""The keyword and domain lists a running gateway matches against, reloaded when an
operator edits them: no restart. A list that fails to load on reload is logged and the
previous lists stay in force (a typo must not switch screening off)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from gateway.adapters.text.keyword_matcher import KeywordMatcher
from gateway.adapters.text.links import DomainLists
from gateway.adapters.text.term_lists import load_lists, signature
from gateway.domain.errors import ConfigError

logger = logging.getLogger(__name__)

# How often a screening may look at the lists' files for changes.
RELOAD_CHECK_S = 5.0


@dataclass(frozen=True, slots=True)
class ListSnapshot:
    keywords: KeywordMatcher
    domains: DomainLists
    signature: tuple[object, ...]


class LiveLists:
    def __init__(
        self, keywords_dir: Path, domains_dir: Path, check_every_s: float = RELOAD_CHECK_S
    ) -> None:
        """Blocking (reads and builds every list): at start-up, in a thread."""
        self.check_every_s = check_every_s
        self.keywords_dir = keywords_dir
        self.domains_dir = domains_dir
        self._snapshot = self._load()
        self._checked = time.monotonic()
        self._failed: tuple[object, ...] | None = None  # files that did not load, as seen
        self._lock = asyncio.Lock()

    @property
    def snapshot(self) -> ListSnapshot:
        return self._snapshot

    async def state(self) -> str:
        """A digest of the lists in force (their files' names, sizes and times)."""
        snapshot = await self.current()
        return hashlib.sha256(repr(snapshot.signature).encode()).hexdigest()[:16]

    def keyword_lists(self) -> list[str]:
        return sorted(self._snapshot.keywords.lists)

    def domain_lists(self) -> list[str]:
        return sorted(self._snapshot.domains.lists)

    def _signature(self) -> tuple[object, ...]:
        return (signature(self.keywords_dir), signature(self.domains_dir))

    def _load(self) -> ListSnapshot:
        started = time.perf_counter()
        before = self._signature()
        keywords = KeywordMatcher(load_lists(self.keywords_dir))
        domains = DomainLists(load_lists(self.domains_dir))
        logger.info(
            "text_lists.loaded",
            extra={
                "keyword_lists": len(keywords.lists),
                "terms": keywords.term_count,
                "domain_lists": len(domains.lists),
                "seconds": round(time.perf_counter() - started, 3),
            },
        )
        return ListSnapshot(keywords, domains, before)

    async def current(self) -> ListSnapshot:
        """The lists in force, reloaded first when their files changed (checked at most
        every RELOAD_CHECK_S)."""
        if time.monotonic() - self._checked < self.check_every_s:
            return self._snapshot
        async with self._lock:
            if time.monotonic() - self._checked >= self.check_every_s:
                await asyncio.to_thread(self._reload_if_changed)
                self._checked = time.monotonic()
        return self._snapshot

    def _reload_if_changed(self) -> None:
        seen = self._signature()
        if seen in (self._snapshot.signature, self._failed):
            return
        try:
            self._snapshot = self._load()
        except (ConfigError, OSError) as exc:
            self._failed = seen  # logged once per edit, not at every check
            logger.error("text_lists.reload_failed", extra={"error": str(exc)[:300]})
