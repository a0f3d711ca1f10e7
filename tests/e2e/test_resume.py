"""Interruptions: a body that stops half-way, a killed gateway, a killed CLI."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from gateway.client import ResumeStore, UploadClient
from tests.conftest import LICENCE_NUMBER
from tests.e2e.conftest import Gateway, kill, vodgate
from tests.helpers import PATCH_TYPE, checksum_header, creation_headers, upload_id_of

META = {"licence_type": "avsp", "licence_number": LICENCE_NUMBER}


async def raw_patch_then_vanish(
    gateway: Gateway, upload_id: str, head: dict[str, str], declared: int, sent: bytes
) -> None:
    """Send a PATCH declaring `declared` bytes, write only `sent`, then drop the connection."""
    _reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    lines = [
        f"PATCH /files/{upload_id} HTTP/1.1",
        f"Host: 127.0.0.1:{gateway.port}",
        "Content-Type: application/offset+octet-stream",
        f"Content-Length: {declared}",
    ]
    lines += [f"{k}: {v}" for k, v in {**gateway.auth, **head}.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + sent)
    await writer.drain()
    await asyncio.sleep(0.3)  # the bytes reach the server before the connection goes
    writer.transport.abort()


def create_upload(gateway: Gateway, length: int) -> str:
    import urllib.request

    request = urllib.request.Request(
        f"{gateway.url}/files/", method="POST", headers={**gateway.auth, **creation_headers(length)}
    )
    with urllib.request.urlopen(request, timeout=5) as resp:
        return upload_id_of(resp.headers["Location"])


def wait_for_offset(gateway: Gateway, upload_id: str, expected: int) -> int:
    """The offset once it reaches `expected` and the interrupted PATCH has let go of the
    upload (its offset is recorded a moment before its lock is freed; a client that comes
    back in that moment gets 423 and retries, as this does)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + 10
    offset = -1
    while time.monotonic() < deadline:
        offset = gateway.head_offset(f"{gateway.url}/files/{upload_id}")
        if offset == expected:
            probe = urllib.request.Request(
                f"{gateway.url}/files/{upload_id}",
                method="PATCH",
                data=b"",
                headers={**gateway.auth, **PATCH_TYPE, "Upload-Offset": str(offset)},
            )
            try:
                with urllib.request.urlopen(probe, timeout=5):
                    break
            except urllib.error.HTTPError as exc:
                # 409: complete already; 400: patch_too_small, answered once the lock is
                # taken (an empty PATCH does not end the upload).
                if exc.code not in (400, 409, 423):
                    raise
                if exc.code in (400, 409):
                    break
        time.sleep(0.05)
    return offset


def test_a_body_that_stops_half_way_keeps_exactly_what_arrived(gateway: Gateway) -> None:
    data = os.urandom(1_000_000)
    upload_id = create_upload(gateway, len(data))
    asyncio.run(
        raw_patch_then_vanish(gateway, upload_id, {"Upload-Offset": "0"}, len(data), data[:300_001])
    )
    assert wait_for_offset(gateway, upload_id, 300_001) == 300_001
    assert gateway.staged(upload_id) == data[:300_001]

    # Resume from there with a second interrupted PATCH, then finish.
    asyncio.run(
        raw_patch_then_vanish(
            gateway,
            upload_id,
            {"Upload-Offset": "300001"},
            len(data) - 300_001,
            data[300_001:700_000],
        )
    )
    assert wait_for_offset(gateway, upload_id, 700_000) == 700_000
    asyncio.run(
        raw_patch_then_vanish(
            gateway, upload_id, {"Upload-Offset": "700000"}, len(data) - 700_000, data[700_000:]
        )
    )
    assert wait_for_offset(gateway, upload_id, len(data)) == len(data)
    assert gateway.staged(upload_id) == data
    assert gateway.status(upload_id)["state"] == "received"


def test_a_checksummed_body_that_stops_half_way_keeps_nothing(gateway: Gateway) -> None:
    data = os.urandom(200_000)
    upload_id = create_upload(gateway, len(data))
    head = {"Upload-Offset": "0", "Upload-Checksum": checksum_header("sha256", data)}
    asyncio.run(raw_patch_then_vanish(gateway, upload_id, head, len(data), data[:50_000]))
    time.sleep(0.5)
    assert gateway.head_offset(f"{gateway.url}/files/{upload_id}") == 0


def test_killed_gateway_loses_no_acknowledged_byte(gateway: Gateway, tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024)
    source = tmp_path / "video.bin"
    source.write_bytes(data)
    store = ResumeStore(tmp_path / "resume.json")
    acknowledged: list[int] = []

    async def first_part() -> None:
        client = UploadClient(
            gateway.url, gateway.api_key, chunk_size=1024 * 1024, resume_store=store, max_retries=0
        )

        def progress(done: int, _total: int) -> None:
            acknowledged.append(done)
            if done >= 2 * 1024 * 1024 and gateway.process is not None:
                # SIGKILL: no shutdown hooks run. Reaped below, off the event loop.
                gateway.process.send_signal(signal.SIGKILL)

        try:
            await client.upload(source, META, progress)
        except Exception:  # the server vanished; that is the point
            return

    asyncio.run(first_part())
    assert gateway.process is not None
    kill(gateway.process)
    gateway.process = None
    gateway.start()  # same data dir: the database and staging files are all it has
    client = UploadClient(gateway.url, gateway.api_key, resume_store=store)
    upload_id = asyncio.run(client.upload(source, META))
    assert client.resumed_from is not None
    assert client.resumed_from >= 1024 * 1024  # at least the first acknowledged chunk survived
    assert gateway.staged(upload_id) == data


def test_killed_cli_resumes_instead_of_restarting(gateway: Gateway, tmp_path: Path) -> None:
    data = os.urandom(4 * 1024 * 1024)
    source = tmp_path / "movie.mp4"
    source.write_bytes(data)
    store = tmp_path / "resume.json"
    command = [
        sys.executable,
        "-m",
        "gateway",
        "upload",
        str(source),
        "--server",
        gateway.url,
        "--api-key",
        gateway.api_key,
        "--meta",
        "licence_type=avsp",
        "--meta",
        f"licence_number={LICENCE_NUMBER}",
        "--chunk-size",
        str(256 * 1024),
        "--resume-store",
        str(store),
        "--no-progress",
    ]
    slow = subprocess.Popen(
        [*command, "--limit-rate", str(1024 * 1024)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 20
    upload_url = None
    while time.monotonic() < deadline:
        if store.exists() and (entries := json.loads(store.read_text())):
            upload_url = next(iter(entries.values()))
            if gateway.head_offset(upload_url) >= 512 * 1024:
                break
        time.sleep(0.05)
    assert upload_url is not None
    kill(slow)  # type: ignore[arg-type]
    if slow.stdout:
        slow.stdout.close()
    if slow.stderr:
        slow.stderr.close()
    offset_at_kill = gateway.head_offset(upload_url)
    assert 0 < offset_at_kill < len(data)

    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    upload_id = done.stdout.strip()
    assert upload_url.endswith(upload_id)  # the same upload, not a new one
    assert f"resumed at byte {offset_at_kill}" in done.stderr
    assert gateway.staged(upload_id) == data
    assert json.loads(store.read_text()) == {}  # finished uploads leave the store


def test_a_gateway_killed_mid_patch_keeps_its_checkpoints(gateway: Gateway) -> None:
    """The security review's reproduction, scaled down: one long PATCH, the gateway SIGKILLed
    half-way. Before checkpoints the offset went back to 0; now at most one checkpoint
    interval (1 MiB here) of what arrived is lost, and the staged bytes match the offset."""
    assert gateway.process is not None
    kill(gateway.process)
    gateway.env["VODGATE_CHECKPOINT_BYTES"] = str(1024 * 1024)
    gateway.start()
    mib = 1024 * 1024
    data = os.urandom(8 * mib)
    upload_id = create_upload(gateway, len(data))
    url = f"{gateway.url}/files/{upload_id}"

    async def send_half_then_kill() -> None:
        _reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        head = [
            f"PATCH /files/{upload_id} HTTP/1.1",
            f"Host: 127.0.0.1:{gateway.port}",
            "Content-Type: application/offset+octet-stream",
            f"Content-Length: {len(data)}",
            "Upload-Offset: 0",
            *(f"{k}: {v}" for k, v in gateway.auth.items()),
        ]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        for start in range(0, 5 * mib, 256 * 1024):
            writer.write(data[start : start + 256 * 1024])
            await writer.drain()
        for _ in range(200):  # a checkpoint shows while the body still streams
            if await asyncio.to_thread(gateway.head_offset, url) >= 4 * mib:
                break
            await asyncio.sleep(0.05)
        assert gateway.process is not None
        gateway.process.send_signal(signal.SIGKILL)  # no shutdown hooks run
        writer.transport.abort()

    asyncio.run(send_half_then_kill())
    kill(gateway.process)
    gateway.process = None
    gateway.start()
    offset = gateway.head_offset(url)
    assert offset >= 4 * mib
    # Bytes past the recorded offset were never acknowledged: the staged file may hold some
    # (the next writer cuts them); up to the offset it is exactly what was sent.
    assert gateway.staged(upload_id)[:offset] == data[:offset]
    import urllib.request

    rest = urllib.request.Request(
        url,
        data=data[offset:],
        method="PATCH",
        headers={
            **gateway.auth,
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": str(offset),
        },
    )
    with urllib.request.urlopen(rest, timeout=30) as resp:
        assert resp.status == 204
    assert gateway.staged(upload_id) == data


def test_a_gateway_killed_mid_patch_frees_the_tenants_patch_slot(gateway: Gateway) -> None:
    """With one PATCH allowed at a time, a body in flight when the gateway is killed does not
    hold the tenant's slot after the restart (a short lease, cleared by its node at start)."""
    import urllib.error
    import urllib.request

    vodgate("tenant", "limits", gateway.tenant_id, "--concurrent-patches", "1",
            data_dir=gateway.data_dir)  # fmt: skip
    first, second = create_upload(gateway, 1_000_000), create_upload(gateway, 100_000)

    async def hold_a_body_open() -> None:
        _reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        lines = [f"PATCH /files/{first} HTTP/1.1", f"Host: 127.0.0.1:{gateway.port}",
                 "Content-Type: application/offset+octet-stream", "Content-Length: 1000000",
                 "Upload-Offset: 0", *(f"{k}: {v}" for k, v in gateway.auth.items())]  # fmt: skip
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + b"x" * 70_000)
        await writer.drain()
        await asyncio.sleep(1.0)  # the body is in flight: its slot is counted
        assert gateway.process is not None
        kill(gateway.process)
        writer.transport.abort()

    asyncio.run(hold_a_body_open())
    gateway.process = None
    gateway.start()
    request = urllib.request.Request(
        f"{gateway.url}/files/{second}", method="PATCH", data=b"y" * 100_000,
        headers={**gateway.auth, **PATCH_TYPE, "Upload-Offset": "0"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.status == 204
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"{exc.code}: {exc.read()!r}") from exc
