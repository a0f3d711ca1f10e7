"""A raw HTTP/1.1 request whose body goes out in segments with pauses between them, as a
proxy that streams bodies unbuffered (nginx with proxy_request_buffering off) delivers it."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Sequence
from typing import Any


async def send_in_segments(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    cuts: Sequence[int],
    *,
    pause_s: float = 0.05,
    chunked: bool = False,
) -> tuple[int, Any]:
    """Send `body` cut at the byte positions `cuts` (with Content-Length, or as chunked
    transfer encoding, one chunk a segment); returns the status and the parsed JSON body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(len(body))}
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    head += [f"{name}: {value}" for name, value in (headers | framing).items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    await writer.drain()
    bounds = [0, *sorted(c for c in cuts if 0 < c < len(body)), len(body)]
    for start, end in itertools.pairwise(bounds):
        part = body[start:end]
        writer.write(f"{len(part):x}\r\n".encode() + part + b"\r\n" if chunked else part)
        await writer.drain()
        await asyncio.sleep(pause_s)
    if chunked:
        writer.write(b"0\r\n\r\n")
        await writer.drain()
    raw = await reader.read()
    writer.close()
    status_line, _, rest = raw.partition(b"\r\n")
    _, _, payload = rest.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in rest.partition(b"\r\n\r\n")[0].lower():
        payload = _dechunk(payload)
    return int(status_line.split()[1]), json.loads(payload) if payload.strip() else None


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2 :]
    return bytes(out)
