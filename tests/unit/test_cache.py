from __future__ import annotations

from gateway.adapters.db.cache import TtlCache


async def test_cache_reads_once_within_ttl_and_again_after() -> None:
    loads = 0

    async def load() -> int:
        nonlocal loads
        loads += 1
        return loads

    now = [100.0]
    cache: TtlCache[str, int] = TtlCache(ttl_s=5.0, monotonic=lambda: now[0])
    assert await cache.get("k", load) == 1
    now[0] += 4.999
    assert await cache.get("k", load) == 1  # still within the TTL
    now[0] += 0.002
    assert await cache.get("k", load) == 2  # past it: read again
    cache.forget("k")
    assert await cache.get("k", load) == 3


async def test_zero_ttl_disables_and_size_is_bounded() -> None:
    calls: list[str] = []

    async def load_for(key: str) -> str:
        calls.append(key)
        return key

    off: TtlCache[str, str] = TtlCache(ttl_s=0)
    await off.get("a", lambda: load_for("a"))
    await off.get("a", lambda: load_for("a"))
    assert calls == ["a", "a"]

    small: TtlCache[str, str] = TtlCache(ttl_s=60, max_entries=2)
    for key in ("x", "y", "z"):
        await small.get(key, lambda key=key: load_for(key))  # type: ignore[misc]
    await small.get("x", lambda: load_for("x"))  # evicted first, so loaded again
    assert calls[-4:] == ["x", "y", "z", "x"]
