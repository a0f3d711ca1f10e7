"""Scale-out benchmark: prints JSON figures (never asserted in tests).

    python bench/scaleout.py [--uploads 4] [--upload-mib 64] [--clips 8] [--clip-s 30]

Runs, in one go, on this machine's PostgreSQL and a Ceph RGW (`scripts/s3-server`):
  ingest     --uploads concurrent uploads of --upload-mib MiB each, in 16 MiB PATCHes:
             local staging (the embedded default, one instance), S3 staging through one
             instance, and S3 staging through two (PATCHes alternate between them).
             MB/s over the whole batch, and each gateway's peak RSS (VmHWM).
  screening  --clips 720p clips of --clip-s seconds, uploaded first, then screened by one
             `vodgate worker` process, and (new clips) by two, each on one core
             (VODGATE_SCREENING_CORES=1): videos per minute from the first screening's
             start to the last decision (model loading left out).
  ceiling    one boto3 client sending the same bytes straight to RGW as 16 MiB parts.
The client, the gateways, PostgreSQL and RGW share the machine's cores: the ratios between
the rows of one run are the figures to quote, not the absolute rates.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import free_port  # noqa: E402
from tests.helpers import creation_headers, upload_id_of  # noqa: E402
from tests.postgres import asyncpg_dsn, create_database, drop_database  # noqa: E402
from tests.s3 import new_bucket, start_s3_server  # noqa: E402

MiB = 1024 * 1024
PATCH = 16 * MiB
SLICE = MiB


class Run:
    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root, self.env = root, env
        self.processes: list[subprocess.Popen[bytes]] = []

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "gateway", "--log-level", "WARNING", *args,
             "--data-dir", str(self.root / "a")],
            capture_output=True, text=True, check=True, env=self.env,
        )  # fmt: skip
        return done.stdout

    def start(self, name: str, *args: str, **extra: str) -> subprocess.Popen[bytes]:
        with (self.root / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "gateway", "--log-level", "WARNING", *args,
                 "--data-dir", str(self.root / name)],
                stdout=log, stderr=subprocess.STDOUT, env={**self.env, **extra},
            )  # fmt: skip
        self.processes.append(process)
        return process

    def serve(self, name: str) -> tuple[str, subprocess.Popen[bytes]]:
        port = free_port()
        process = self.start(name, "serve", "--port", str(port))
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=2):  # noqa: S310
                    return url, process
            except OSError:
                time.sleep(0.2)
        raise RuntimeError((self.root / f"{name}.log").read_text()[-2000:])

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=60)
        self.processes.clear()

    def tenant(self) -> str:
        created = json.loads(self.cli("tenant", "create", f"bench-{uuid.uuid4().hex[:6]}"))
        licence = ["--type", "avsp", "--number", "0108-2026-TEST", "--valid-until", "2099-12-31"]
        self.cli("licence", "add", "--tenant", created["tenant_id"], *licence, "--holder", "B")
        return str(created["api_key"])


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


async def upload(
    session: aiohttp.ClientSession, urls: list[str], key: str, data: bytes, metadata: str
) -> str:
    auth = {"Authorization": f"Bearer {key}", "Tus-Resumable": "1.0.0"}
    headers = {**auth, **creation_headers(len(data))}
    headers["Upload-Metadata"] = metadata
    async with session.post(f"{urls[0]}/files/", headers=headers) as resp:
        assert resp.status == 201, await resp.text()
        upload_id = upload_id_of(resp.headers["Location"])
    offset, turn = 0, 0
    while offset < len(data):
        piece = memoryview(data)[offset : offset + PATCH]

        async def body(piece: memoryview = piece) -> Any:
            for start in range(0, len(piece), SLICE):
                yield bytes(piece[start : start + SLICE])

        patch = {**auth, "Content-Type": "application/offset+octet-stream",
                 "Upload-Offset": str(offset), "Content-Length": str(len(piece))}  # fmt: skip
        async with session.patch(
            f"{urls[turn % len(urls)]}/files/{upload_id}", headers=patch, data=body()
        ) as resp:
            assert resp.status == 204, await resp.text()
        offset += len(piece)
        turn += 1
    return upload_id


async def ingest(urls: list[str], key: str, uploads: int, size: int, metadata: str) -> float:
    data = os.urandom(size)
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(upload(session, urls, key, data, metadata) for _ in range(uploads)))
    return round(uploads * size / MiB / (time.perf_counter() - started), 1)


async def decided(url: str, ids: list[str]) -> tuple[float, list[float]]:
    """When the first of `ids` began screening, and when each was decided so far (epoch
    seconds)."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await connection.fetch(
            "SELECT created_at FROM decisions WHERE upload_id = ANY($1::text[])", ids
        )
        began = await connection.fetchval(
            "SELECT min(at) FROM upload_events WHERE upload_id = ANY($1::text[]) "
            "AND to_state = 'screening'",
            ids,
        )
    finally:
        await connection.close()
    return (0.0 if began is None else began.timestamp()), sorted(
        r["created_at"].timestamp() for r in rows
    )


def cpu_seconds(pid: int) -> float:
    """User and system time of a process and its waited-for children (ffmpeg)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def workers_alive(url: str) -> int:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:  # noqa: S310
        for line in response.read().decode().splitlines():
            if line.startswith('vodgate_workers_alive{stage="screening"}'):
                return int(float(line.split()[-1]))
    return 0


def raw_s3_mb_s(s3: Any, size: int, parts: int) -> float:
    """The ceiling: one client sending `parts` parts of `size` bytes straight to RGW."""
    client = s3.client()
    bucket = new_bucket()
    client.create_bucket(Bucket=bucket)
    data = os.urandom(size)
    made = client.create_multipart_upload(Bucket=bucket, Key="raw")
    started = time.perf_counter()
    for number in range(1, parts + 1):
        client.upload_part(
            Bucket=bucket, Key="raw", UploadId=made["UploadId"], PartNumber=number, Body=data
        )
    elapsed = time.perf_counter() - started
    client.abort_multipart_upload(Bucket=bucket, Key="raw", UploadId=made["UploadId"])
    return round(parts * size / MiB / elapsed, 1)


def make_clip(path: Path, seconds: float, seed: int) -> None:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", f"testsrc2=size=1280x720:rate=30:duration={seconds}", "-vf", f"hue=h={seed * 17}",
         "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip


def measure(root: Path, args: argparse.Namespace, s3: Any, metadata: str) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    size = args.upload_mib * MiB
    # The embedded default: SQLite, local staging, one instance.
    local = Run(root / "local", {**os.environ, "VODGATE_SCREENING_WORKERS": "0",
                                 "VODGATE_DELIVERY_WORKERS": "0"})  # fmt: skip
    (root / "local").mkdir()
    key = local.tenant()
    try:
        url, process = local.serve("a")
        figures["ingest_local_mb_s"] = asyncio.run(ingest([url], key, args.uploads, size, metadata))
        figures["ingest_local_peak_rss_mib"] = peak_rss_mib(process.pid)
    finally:
        local.stop()

    name = f"vodgate_bench_{uuid.uuid4().hex[:8]}"
    db = asyncio.run(create_database(name))
    scaled = None
    try:
        env = {**os.environ, "VODGATE_DATABASE_URL": db, "VODGATE_STAGING": "s3",
               "VODGATE_WORKER_HEARTBEAT_S": "1",
               "VODGATE_S3_STAGING_BUCKET": new_bucket(),
               **{f"VODGATE_{k.upper()}": str(v)
                  for k, v in s3.settings_for(new_bucket()).items()}}  # fmt: skip
        (root / "s3").mkdir()
        scaled = Run(root / "s3", {**env, "VODGATE_SCREENING_WORKERS": "0",
                                   "VODGATE_DELIVERY_WORKERS": "0"})  # fmt: skip
        key = scaled.tenant()
        url_a, a = scaled.serve("a")
        figures["ingest_s3_one_mb_s"] = asyncio.run(
            ingest([url_a], key, args.uploads, size, metadata)
        )
        figures["ingest_s3_one_peak_rss_mib"] = peak_rss_mib(a.pid)
        url_b, b = scaled.serve("b")
        figures["ingest_s3_two_mb_s"] = asyncio.run(
            ingest([url_a, url_b], key, args.uploads, size, metadata)
        )
        figures["ingest_s3_two_peak_rss_mib"] = [peak_rss_mib(a.pid), peak_rss_mib(b.pid)]
        figures["s3_vs_local"] = round(
            figures["ingest_s3_one_mb_s"] / figures["ingest_local_mb_s"], 2
        )

        figures["raw_rgw_upload_part_mb_s"] = raw_s3_mb_s(
            s3, 16 * MiB, args.uploads * args.upload_mib // 16
        )
        # Each worker process screens on one core: N workers should use N cores.
        # Delivery runs only to seal the staged uploads: no renditions to transcode.
        one_core = {"VODGATE_SCREENING_WORKERS": "1", "VODGATE_SCREENING_CORES": "1",
                    "VODGATE_DELIVERY_WORKERS": "1", "VODGATE_RENDITIONS": "[]"}  # fmt: skip
        for workers in (1, 2):
            clips = []
            for i in range(args.clips):  # new bytes each run: screened, not reused
                clip = root / f"clip{workers}-{i}.mp4"
                make_clip(clip, args.clip_s, workers * 100 + i)
                clips.append(clip.read_bytes())

            async def send_all(clips: list[bytes] = clips) -> list[str]:
                async with aiohttp.ClientSession() as session:
                    return [await upload(session, [url_a], key, c, metadata) for c in clips]

            for n in range(workers):
                scaled.start(f"w{workers}{n}", "worker", **one_core)
            # Every worker has loaded its models before the first clip arrives.
            while workers_alive(url_a) < workers:
                time.sleep(0.5)
            cpu_before = sum(cpu_seconds(p.pid) for p in scaled.processes[2:])
            ids = asyncio.run(send_all())
            while len((progress := asyncio.run(decided(db, ids)))[1]) < len(ids):
                time.sleep(0.5)
            # From the first screening's start to the last decision: model loading at
            # start is left out.
            began, times = progress
            minutes = (times[-1] - began) / 60
            figures[f"screening_{workers}_worker_videos_per_min"] = round(len(ids) / minutes, 1)
            # Cores the worker processes kept busy (their own CPU time, ffmpeg's too).
            cpu = sum(cpu_seconds(p.pid) for p in scaled.processes[2:]) - cpu_before
            figures[f"screening_{workers}_worker_cores_busy"] = round(cpu / (minutes * 60), 2)
            for process in scaled.processes[2:]:
                process.terminate()
                process.wait(timeout=60)
            del scaled.processes[2:]
        figures["two_workers_vs_one"] = round(
            figures["screening_2_worker_videos_per_min"]
            / figures["screening_1_worker_videos_per_min"],
            2,
        )
    finally:
        if scaled is not None:
            scaled.stop()
        asyncio.run(drop_database(name))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--uploads", type=int, default=4)
    parser.add_argument("--upload-mib", type=int, default=64)
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--clip-s", type=float, default=30.0)
    args = parser.parse_args()
    s3 = start_s3_server()
    from tests.helpers import metadata_header

    metadata = metadata_header()
    figures: dict[str, Any] = {"uploads": args.uploads, "upload_mib": args.upload_mib}
    # Kept when a run fails: the gateways' and workers' logs are in it.
    workdir = tempfile.mkdtemp(prefix="vodgate-bench-")
    try:
        figures.update(measure(Path(workdir), args, s3, metadata))
    finally:
        s3.purge_test_buckets()  # the test server keeps objects in memory
    shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
