"""An async tus 1.0 client: creation, resume from the server's offset, a checksum per chunk,
retries with exponential backoff, a progress callback and an optional rate limit."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin

import aiohttp

from gateway.client.resume import ResumeStore, fingerprint
from gateway.domain.tus_headers import TUS_VERSION, encode_metadata

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
T = TypeVar("T")
# Statuses worth retrying: the server is busy or briefly unwell, or another writer holds it.
RETRY_STATUSES = frozenset({408, 423, 429, 500, 502, 503, 504})
# Slices of a chunk sent to the socket; also the granularity of the rate limit.
SEND_SLICE_BYTES = 64 * 1024
# Decision states: the screening is over (or the upload can go no further).
SETTLED_STATES = frozenset(
    {
        "approved",
        "rejected",
        "review",
        "failed",
        "expired",
        "terminated",
        "purged",
        "forwarding",
        "stored",
        "transcoding",
        "delivered",
        "released",
    }
)


class UploadError(Exception):
    """The server refused the upload (a 4xx it will not change its mind about), or gave up."""

    def __init__(self, status: int, code: str, message: str, clause: str | None = None) -> None:
        super().__init__(f"{status} {code}: {message}" + (f" (clause {clause})" if clause else ""))
        self.status, self.code, self.message, self.clause = status, code, message, clause


class _Retry(Exception):
    """A failure worth another try after a backoff."""


class UploadClient:
    def __init__(
        self,
        server_url: str,
        api_key: str,
        *,
        chunk_size: int = 8 * 1024 * 1024,
        checksum_algorithm: str | None = "sha256",
        resume_store: ResumeStore | None = None,
        max_retries: int = 8,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        limit_rate: int | None = None,
        timeout_s: float = 300.0,
    ) -> None:
        self.server_url = server_url.rstrip("/") + "/"
        self.files_url = urljoin(self.server_url, "files/")
        self._headers = {"Authorization": f"Bearer {api_key}", "Tus-Resumable": TUS_VERSION}
        self.chunk_size = chunk_size
        self.checksum_algorithm = checksum_algorithm
        self.resume_store = resume_store
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.limit_rate = limit_rate
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.resumed_from: int | None = None

    async def upload(
        self,
        path: Path,
        metadata: dict[str, str] | None = None,
        progress: ProgressCallback | None = None,
    ) -> str:
        """Upload the file (resuming a previous attempt when one is known); return its id."""
        metadata = {"filename": path.name, **(metadata or {})}
        size, key = await asyncio.to_thread(self._identify, path)
        async with aiohttp.ClientSession(timeout=self._timeout, headers=self._headers) as session:
            url, offset = await self._resume_or_create(session, key, size, metadata)
            if progress:
                progress(offset, size)
            attempt = 0
            while offset < size:
                try:
                    offset = await self._send_chunk(session, path, url, offset, size, progress)
                    attempt = 0
                except _Retry as exc:
                    attempt = await self._backoff(attempt, exc)
                    offset = await self._with_retries(lambda: self._server_offset(session, url))
            if self.resume_store is not None:
                await asyncio.to_thread(self.resume_store.remove, key)
        return url.rstrip("/").rsplit("/", 1)[-1]

    async def status(self, upload_id: str) -> dict[str, Any]:
        return await self._get(f"v1/uploads/{upload_id}")

    async def uploads(self, **filters: str | int) -> dict[str, Any]:
        """One page of the tenant's own uploads (newest first). Filters: state ("a,b"),
        verdict, since, until (ISO 8601 with offset), limit, cursor (a page's next_cursor)."""
        return await self._get("v1/uploads", {k: str(v) for k, v in filters.items()})

    async def account(self) -> dict[str, Any]:
        """The tenant's standing (clause 7.3.3), its limits and usage (clause 3.1.3.6)."""
        return await self._get("v1/account")

    async def _get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        url = urljoin(self.server_url, path)
        async with (
            aiohttp.ClientSession(timeout=self._timeout, headers=self._headers) as session,
            session.get(url, params=params) as resp,
        ):
            await _raise_for_status(resp)
            body: dict[str, Any] = await resp.json()
            return body

    def _identify(self, path: Path) -> tuple[int, str]:
        return path.stat().st_size, fingerprint(path, self.server_url)

    async def wait_for_decision(
        self, upload_id: str, timeout_s: float = 600.0, poll_s: float = 1.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            status = await self.status(upload_id)
            if status["state"] in SETTLED_STATES or time.monotonic() > deadline:
                return status
            await asyncio.sleep(poll_s)

    async def _resume_or_create(
        self, session: aiohttp.ClientSession, key: str, size: int, metadata: dict[str, str]
    ) -> tuple[str, int]:
        known = await asyncio.to_thread(self.resume_store.get, key) if self.resume_store else None
        if known is not None:
            try:
                offset = await self._with_retries(lambda: self._server_offset(session, known))
                self.resumed_from = offset
                logger.info("upload.resumed", extra={"offset": offset})
                return known, offset
            except UploadError as exc:
                if exc.status not in (404, 410):
                    raise
        url = await self._with_retries(lambda: self._create(session, size, metadata))
        if self.resume_store is not None:
            await asyncio.to_thread(self.resume_store.put, key, url)
        return url, 0

    async def _create(
        self, session: aiohttp.ClientSession, size: int, metadata: dict[str, str]
    ) -> str:
        headers = {"Upload-Length": str(size), "Upload-Metadata": encode_metadata(metadata)}
        async with _request(session, "POST", self.files_url, headers=headers) as resp:
            await _raise_for_status(resp)
            return urljoin(self.files_url, resp.headers["Location"])

    async def _server_offset(self, session: aiohttp.ClientSession, url: str) -> int:
        async with _request(session, "HEAD", url) as resp:
            await _raise_for_status(resp)
            return int(resp.headers["Upload-Offset"])

    async def _send_chunk(
        self,
        session: aiohttp.ClientSession,
        path: Path,
        url: str,
        offset: int,
        size: int,
        progress: ProgressCallback | None,
    ) -> int:
        length = min(self.chunk_size, size - offset)
        chunk = await asyncio.to_thread(_read_range, path, offset, length)
        headers = {
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            "Content-Length": str(length),
        }
        if self.checksum_algorithm:
            digest = hashlib.new(self.checksum_algorithm, chunk).digest()
            headers["Upload-Checksum"] = (
                f"{self.checksum_algorithm} {base64.b64encode(digest).decode()}"
            )
        body = self._paced(chunk, offset, size, progress)
        async with _request(session, "PATCH", url, headers=headers, data=body) as resp:
            await _raise_for_status(resp)
            new_offset = int(resp.headers["Upload-Offset"])
        if progress:
            progress(new_offset, size)
        return new_offset

    async def _paced(
        self, chunk: bytes, offset: int, size: int, progress: ProgressCallback | None
    ) -> AsyncIterator[bytes]:
        started = time.monotonic()
        view = memoryview(chunk)
        for sent in range(0, len(chunk), SEND_SLICE_BYTES):
            yield bytes(view[sent : sent + SEND_SLICE_BYTES])
            done = min(sent + SEND_SLICE_BYTES, len(chunk))
            if progress:
                progress(offset + done, size)
            if self.limit_rate:
                ahead = done / self.limit_rate - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)

    async def _with_retries(self, call: Callable[[], Awaitable[T]]) -> T:
        attempt = 0
        while True:
            try:
                return await call()
            except _Retry as exc:
                attempt = await self._backoff(attempt, exc)

    async def _backoff(self, attempt: int, exc: Exception) -> int:
        if attempt >= self.max_retries:
            raise UploadError(0, "retries_exhausted", f"gave up after {attempt} retries: {exc}")
        delay = min(self.max_backoff_s, self.backoff_s * 2**attempt)
        logger.warning("upload.retry", extra={"attempt": attempt + 1, "delay_s": delay})
        await asyncio.sleep(delay)
        return attempt + 1


def _read_range(path: Path, offset: int, length: int) -> bytes:
    with path.open("rb") as file:
        file.seek(offset)
        return file.read(length)


class _request:
    """session.request whose connection failures become _Retry."""

    def __init__(self, session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any):
        self._cm = session.request(method, url, **kwargs)

    async def __aenter__(self) -> aiohttp.ClientResponse:
        try:
            return await self._cm.__aenter__()
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError) as exc:
            raise _Retry(str(exc) or type(exc).__name__) from exc

    async def __aexit__(self, *exc: object) -> None:
        await self._cm.__aexit__(*exc)  # type: ignore[arg-type]


async def _raise_for_status(resp: aiohttp.ClientResponse) -> None:
    if resp.status < 400:
        return
    if resp.status in RETRY_STATUSES or resp.status == 409:
        # 409: our offset is stale (a previous PATCH landed after all); re-read it and go on.
        raise _Retry(f"HTTP {resp.status}")
    try:
        error = (await resp.json()).get("error", {})
    except (aiohttp.ContentTypeError, ValueError):
        error = {}
    raise UploadError(
        resp.status,
        error.get("code", f"http_{resp.status}"),
        error.get("message", resp.reason or ""),
        error.get("clause"),
    )
