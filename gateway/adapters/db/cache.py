"""A small read-through cache with a time-to-live, for rows read on every request."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Entries live `ttl_s` seconds; at most `max_entries` (the oldest go first).

    A change made by another process shows after at most `ttl_s`; ttl_s=0 disables caching.
    """

    def __init__(
        self,
        ttl_s: float,
        max_entries: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._max = max_entries
        self._monotonic = monotonic  # seconds; tests pass their own
        self._entries: dict[K, tuple[float, V]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        now = self._monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = await load()
        if self._ttl_s > 0:
            if len(self._entries) >= self._max:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = (now + self._ttl_s, value)
        return value

    def forget(self, key: K) -> None:
        self._entries.pop(key, None)
