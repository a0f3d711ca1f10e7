"""Access log (clause 3.1.8): what the middleware records of every upload and API request."""

from __future__ import annotations

import re
import time

from aiohttp import web

from gateway.domain.access_records import AccessRecord
from gateway.domain.ports.clock import Clock

LOGGED_PREFIXES = ("/files", "/v1/")

_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
TENANT_KEY = web.RequestKey("tenant_id", str)
UPLOAD_KEY = web.RequestKey("upload_id", str)


def client_ip(request: web.Request, trusted_proxies: tuple[str, ...]) -> str | None:
    """The peer address, or the nearest untrusted hop of X-Forwarded-For behind our proxies."""
    peer = request.remote
    forwarded = request.headers.get("X-Forwarded-For")
    if peer in trusted_proxies and forwarded:
        for hop in reversed([h.strip() for h in forwarded.split(",")]):
            if hop and hop not in trusted_proxies:
                return hop[:64]
    return peer


def build_record(
    request: web.Request,
    status: int,
    bytes_out: int,
    started: float,
    clock: Clock,
    request_id: str,
    trusted_proxies: tuple[str, ...],
    client_request_id: str | None = None,
) -> AccessRecord:
    return AccessRecord(
        at=clock.now(),
        request_id=request_id,
        client_ip=client_ip(request, trusted_proxies),
        tenant_id=request.get(TENANT_KEY),
        host=(request.headers.get("Host") or "")[:255] or None,
        origin=(request.headers.get("Origin") or "")[:255] or None,
        method=request.method[:10],
        path=request.path[:2048],
        upload_id=request.get(UPLOAD_KEY) or _upload_id(request),
        bytes_in=request.content.total_bytes,
        bytes_out=bytes_out,
        status=status,
        duration_ms=int((time.perf_counter() - started) * 1000),
        client_request_id=client_request_id,
    )


def _upload_id(request: web.Request) -> str | None:
    candidate = request.match_info.get("upload_id", "")
    return candidate if _UPLOAD_ID.match(candidate) else None
