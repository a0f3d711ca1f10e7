"""Noisy neighbour: how much one tenant's flood slows another tenant (clause 3.1.3.6).

    python bench/noisy_neighbour.py [--rounds 60] [--streams 16] [--seconds-per-phase ...]

Starts `vodgate serve` (embedded default, screening off) with two tenants. Tenant B runs
create + one 64 KiB PATCH + DELETE in a loop and its latencies are taken, first alone, then
while tenant A floods from --streams connections: 1-byte PATCHes ("tiny", refused by the
minimum PATCH size and the request rate), then 64 KiB PATCHes ("small", within every limit
but the request rate). The same is run once more with the defences off (minimum PATCH size
0, a request rate no flood reaches) to show what they buy. Prints JSON: B's p50/p90 per
phase, the ratio to alone, and what A's requests were answered. Never asserted in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import LICENCE, encode_metadata, free_port, stop, wait_listening

KiB = 1024
CLI = [sys.executable, "-m", "gateway", "--log-level", "WARNING"]


def _tenant(data: Path, name: str) -> dict[str, str]:
    made: dict[str, str] = json.loads(
        subprocess.check_output([*CLI, "tenant", "create", name, "--data-dir", str(data)])
    )
    subprocess.check_call(
        [*CLI, "licence", "add", "--tenant", made["tenant_id"], "--type", "avsp",
         "--number", LICENCE["licence_number"], "--holder", name, "--valid-until", "2099-01-01",
         "--data-dir", str(data)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return made


class Tenant:
    def __init__(self, url: str, key: str, session: aiohttp.ClientSession) -> None:
        self.url, self.session = url, session
        self.auth = {"Authorization": f"Bearer {key}", "Tus-Resumable": "1.0.0"}

    async def create(self, length: int) -> str | None:
        headers = {**self.auth, "Upload-Length": str(length),
                   "Upload-Metadata": encode_metadata(dict(LICENCE))}  # fmt: skip
        async with self.session.post(f"{self.url}/files/", headers=headers) as resp:
            await resp.read()
            return resp.headers.get("Location") if resp.status == 201 else None

    async def patch(self, location: str, offset: int, data: bytes) -> int:
        headers = {**self.auth, "Upload-Offset": str(offset),
                   "Content-Type": "application/offset+octet-stream"}  # fmt: skip
        async with self.session.patch(f"{self.url}{location}", headers=headers, data=data) as r:
            await r.read()
            return r.status

    async def delete(self, location: str) -> None:
        async with self.session.delete(f"{self.url}{location}", headers=self.auth) as resp:
            await resp.read()


async def quiet_round(b: Tenant) -> float:
    started = time.perf_counter()
    location = await b.create(1024 * KiB)
    assert location is not None, "tenant B's creation was refused"
    status = await b.patch(location, 0, b"b" * 64 * KiB)
    assert status == 204, status
    await b.delete(location)
    return time.perf_counter() - started


async def flood(a: Tenant, size: int, stop_at: float, answers: collections.Counter[int]) -> None:
    location = None
    offset = 0
    while time.perf_counter() < stop_at:
        if location is None:
            location = await a.create(1024 * 1024 * KiB)
            offset = 0
            if location is None:
                answers[429] += 1
                await asyncio.sleep(0.01)
                continue
        status = await a.patch(location, offset, b"a" * size)
        answers[status] += 1
        if status == 204:
            offset += size
        elif status == 429:
            await asyncio.sleep(0)  # an attacker retries at once


async def phase(
    b: Tenant, a: Tenant | None, size: int, rounds: int, streams: int
) -> dict[str, Any]:
    answers: collections.Counter[int] = collections.Counter()
    flooders: list[asyncio.Task[None]] = []
    if a is not None:
        stop_at = time.perf_counter() + 3600
        flooders = [asyncio.create_task(flood(a, size, stop_at, answers)) for _ in range(streams)]
        await asyncio.sleep(1.0)  # the flood is under way
    latencies = [await quiet_round(b) for _ in range(rounds)]
    for task in flooders:
        task.cancel()
    await asyncio.gather(*flooders, return_exceptions=True)
    cuts = statistics.quantiles(latencies, n=10)
    return {"p50_s": round(statistics.median(latencies), 4), "p90_s": round(cuts[8], 4),
            "flood_answers": dict(sorted(answers.items()))}  # fmt: skip


async def run(url: str, keys: dict[str, str], rounds: int, streams: int) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=streams + 4)
    async with aiohttp.ClientSession(connector=connector) as session:
        a, b = Tenant(url, keys["a"], session), Tenant(url, keys["b"], session)
        await phase(b, None, 0, 5, streams)  # warm-up
        out = {"alone": await phase(b, None, 0, rounds, streams)}
        for name, size in (("tiny_patches", 1), ("small_patches", 64 * KiB)):
            out[name] = await phase(b, a, size, rounds, streams)
            out[name]["p90_vs_alone"] = round(out[name]["p90_s"] / out["alone"]["p90_s"], 2)
        return out


def measure(env: dict[str, str], rounds: int, streams: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "var"
        keys = {name: _tenant(data, f"bench-{name}")["api_key"] for name in "ab"}
        port = free_port()
        process = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--data-dir", str(data)],
            env={**os.environ, "VODGATE_SCREENING_WORKERS": "0", **env},
        )
        try:
            wait_listening(port, process)
            return asyncio.run(run(f"http://127.0.0.1:{port}", keys, rounds, streams))
        finally:
            stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=60, help="tenant B's rounds per phase")
    parser.add_argument("--streams", type=int, default=16, help="tenant A's connections")
    args = parser.parse_args()
    defended = measure({}, args.rounds, args.streams)
    undefended = measure(
        {"VODGATE_MIN_PATCH_BYTES": "0", "VODGATE_QUOTA_REQUESTS_PER_SECOND": "1000000"},
        args.rounds, args.streams,
    )  # fmt: skip
    print(json.dumps({"defaults": defended, "defences_off": undefended}, indent=2))


if __name__ == "__main__":
    main()
