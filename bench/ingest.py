"""Ingest benchmark: prints JSON figures for any tus 1.0 server (never asserted in tests).

    python bench/ingest.py measure --url http://127.0.0.1:8080/files/ \
        --header "Authorization: Bearer KEY" --meta licence_type=avsp ... --pid PID
    python bench/ingest.py compare     # vodgate beside @tus/server (file store), with ratios

Figures: one upload of --big-mib in 64 MiB PATCHes and in one PATCH (MB/s), --concurrent
uploads of --concurrent-mib each at once (aggregate MB/s, p50/p99 seconds per upload),
--tiny uploads made with creation-with-upload (uploads/s), and the server's peak RSS (VmHWM).
The client runs on the same 2 cores as the server: it costs the server CPU time.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import aiohttp

MiB = 1024 * 1024
PATCH_MIB = 64
SLICE = 1 * MiB
ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = Path(__file__).resolve().parent / "node"
LICENCE = {"licence_type": "avsp", "licence_number": "BENCH-0001"}


@dataclass
class Target:
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    pid: int | None = None
    checksum: str | None = "sha256"


def encode_metadata(metadata: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in metadata.items())


def vm_hwm_mib(pid: int | None) -> float | None:
    if pid is None:
        return None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


class Runner:
    def __init__(self, target: Target, session: aiohttp.ClientSession) -> None:
        self.t = target
        self.s = session
        self.base = {"Tus-Resumable": "1.0.0", **target.headers}

    async def create(self, length: int, body: bytes | None = None) -> str:
        headers = {**self.base, "Upload-Length": str(length)}
        if self.t.metadata:
            headers["Upload-Metadata"] = encode_metadata(self.t.metadata)
        if body is not None:
            headers["Content-Type"] = "application/offset+octet-stream"
            headers.update(self._checksum([body], 1))
        async with self.s.post(self.t.url, headers=headers, data=body) as resp:
            if resp.status != 201:
                raise RuntimeError(f"create: {resp.status} {await resp.text()}")
            return urljoin(self.t.url, resp.headers["Location"])

    def _checksum(self, parts: list[bytes], repeat: int) -> dict[str, str]:
        if not self.t.checksum:
            return {}
        digest = hashlib.new(self.t.checksum)
        for _ in range(repeat):
            for part in parts:
                digest.update(part)
        return {
            "Upload-Checksum": f"{self.t.checksum} {base64.b64encode(digest.digest()).decode()}"
        }

    async def patch(
        self, url: str, offset: int, buffer: bytes, repeat: int, checksum: dict[str, str]
    ) -> None:
        async def body() -> AsyncIterator[bytes]:
            view = memoryview(buffer)
            for _ in range(repeat):
                for start in range(0, len(buffer), SLICE):
                    yield view[start : start + SLICE]  # type: ignore[misc]

        headers = {
            **self.base,
            **checksum,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            "Content-Length": str(len(buffer) * repeat),
        }
        async with self.s.patch(url, headers=headers, data=body()) as resp:
            if resp.status != 204:
                raise RuntimeError(f"patch: {resp.status} {await resp.text()}")


async def big_upload(runner: Runner, total_mib: int, patch_mib: int | None) -> float:
    buffer = os.urandom(PATCH_MIB * MiB if patch_mib else 64 * MiB)
    repeat_total = total_mib // 64
    if patch_mib:
        checksum = runner._checksum([buffer], 1)
    else:
        checksum = runner._checksum([buffer], repeat_total)
    started = time.perf_counter()
    url = await runner.create(total_mib * MiB)
    if patch_mib:
        for i in range(repeat_total):
            await runner.patch(url, i * len(buffer), buffer, 1, checksum)
    else:
        await runner.patch(url, 0, buffer, repeat_total, checksum)
    return round(total_mib * MiB / 1e6 / (time.perf_counter() - started), 1)


async def concurrent_uploads(runner: Runner, count: int, each_mib: int) -> dict[str, float]:
    buffer = os.urandom(each_mib * MiB)
    checksum = runner._checksum([buffer], 1)
    durations: list[float] = []

    async def one() -> None:
        started = time.perf_counter()
        url = await runner.create(len(buffer))
        await runner.patch(url, 0, buffer, 1, checksum)
        durations.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    wall = time.perf_counter() - started
    durations.sort()
    return {
        "aggregate_mb_s": round(count * len(buffer) / 1e6 / wall, 1),
        "p50_s": round(statistics.median(durations), 3),
        "p99_s": round(durations[min(len(durations) - 1, int(len(durations) * 0.99))], 3),
    }


async def tiny_uploads(runner: Runner, count: int, concurrency: int) -> float:
    body = os.urandom(1024)
    queue = iter(range(count))

    async def worker() -> None:
        for _ in queue:
            await runner.create(len(body), body)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return round(count / (time.perf_counter() - started), 1)


async def measure(target: Target, args: argparse.Namespace) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=max(args.concurrent, args.tiny_concurrency) + 4)
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        runner = Runner(target, session)
        result: dict[str, Any] = {
            "checksum": target.checksum,
            f"single_{args.big_mib}mib_in_64mib_patches_mb_s": await big_upload(
                runner, args.big_mib, PATCH_MIB
            ),
            f"single_{args.big_mib}mib_in_one_patch_mb_s": await big_upload(
                runner, args.big_mib, None
            ),
            f"concurrent_{args.concurrent}x{args.concurrent_mib}mib": await concurrent_uploads(
                runner, args.concurrent, args.concurrent_mib
            ),
            f"tiny_{args.tiny}_creation_with_upload_per_s": await tiny_uploads(
                runner, args.tiny, args.tiny_concurrency
            ),
        }
    result["server_peak_rss_mib"] = vm_hwm_mib(target.pid)
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("server did not start")


def start_vodgate(workdir: Path) -> tuple[subprocess.Popen[bytes], Target]:
    data = workdir / "vodgate"
    cli = [sys.executable, "-m", "gateway", "--log-level", "WARNING"]
    created = json.loads(
        subprocess.check_output([*cli, "tenant", "create", "bench", "--data-dir", str(data)])
    )
    subprocess.check_call(
        [
            *cli,
            "licence",
            "add",
            "--tenant",
            created["tenant_id"],
            "--type",
            "avsp",
            "--number",
            LICENCE["licence_number"],
            "--holder",
            "Bench",
            "--valid-until",
            "2099-01-01",
            "--data-dir",
            str(data),
        ],
        stdout=subprocess.DEVNULL,
    )
    port = free_port()
    # Ingest alone: screening workers off, or they would spend the same 2 cores screening
    # every benchmark upload (VODGATE_BENCH_SCREENING=1 keeps them on).
    workers = "1" if os.environ.get("VODGATE_BENCH_SCREENING") == "1" else "0"
    process = subprocess.Popen(
        [*cli, "serve", "--port", str(port), "--data-dir", str(data)],
        cwd=ROOT,
        env={**os.environ, "VODGATE_SCREENING_WORKERS": workers},
    )
    wait_listening(port, process)
    return process, Target(
        f"http://127.0.0.1:{port}/files/",
        {"Authorization": f"Bearer {created['api_key']}"},
        dict(LICENCE),
        process.pid,
    )


def start_node_reference(workdir: Path) -> tuple[subprocess.Popen[bytes], Target]:
    if not (NODE_DIR / "node_modules").exists():
        subprocess.check_call(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR
        )
    port = free_port()
    (workdir / "node").mkdir()
    process = subprocess.Popen(
        ["node", str(NODE_DIR / "server.mjs"), str(port), str(workdir / "node")],
        stdout=subprocess.DEVNULL,
    )
    wait_listening(port, process)
    return process, Target(f"http://127.0.0.1:{port}/files/", {}, {}, process.pid)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def ratios(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in ours.items():
        other = theirs.get(key)
        if isinstance(value, dict) and isinstance(other, dict):
            for sub, v in value.items():
                if isinstance(v, (int, float)) and other.get(sub):
                    out[f"{key}.{sub}"] = round(v / other[sub], 2)
        elif isinstance(value, (int, float)) and isinstance(other, (int, float)) and other:
            out[key] = round(value / other, 2)
    return out


def compare(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="vodgate-bench-", dir=args.workdir))
    results: dict[str, Any] = {"vodgate_fsync": "on", "config": vars(args) | {"func": None}}
    try:
        for name, start in [("vodgate", start_vodgate), ("tus_node", start_node_reference)]:
            process, target = start(workdir)
            target.checksum = args.checksum if name == "vodgate" else None
            try:
                results[name] = asyncio.run(measure(target, args))
            finally:
                stop(process)
        results["ratios_vodgate_over_tus_node"] = ratios(results["vodgate"], results["tus_node"])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(required=True)
    for name in ("measure", "compare"):
        sub = commands.add_parser(name)
        sub.add_argument("--big-mib", type=int, default=1024)
        sub.add_argument("--concurrent", type=int, default=64)
        sub.add_argument("--concurrent-mib", type=int, default=16)
        sub.add_argument("--tiny", type=int, default=1000)
        sub.add_argument("--tiny-concurrency", type=int, default=8)
        sub.add_argument("--checksum", default="sha256", help="algorithm, or 'none'")
        if name == "measure":
            sub.add_argument("--url", required=True)
            sub.add_argument("--header", action="append", default=[], metavar="NAME: VALUE")
            sub.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE")
            sub.add_argument("--pid", type=int, help="server process, for its peak RSS")
        else:
            sub.add_argument("--workdir", help="where the servers keep files (default /tmp)")
        sub.set_defaults(func=name)
    args = parser.parse_args()
    if args.checksum == "none":
        args.checksum = None
    if args.func == "measure":
        target = Target(
            args.url,
            dict(h.split(": ", 1) for h in args.header),
            dict(m.split("=", 1) for m in args.meta),
            args.pid,
            args.checksum,
        )
        print(json.dumps(asyncio.run(measure(target, args)), indent=2))
    else:
        print(json.dumps(compare(args), indent=2))


if __name__ == "__main__":
    main()
