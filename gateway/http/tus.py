"""tus 1.0 at /files/: core, creation, creation-with-upload, termination, checksum, expiration.

Handlers only translate between HTTP and the ingest service; the rules live there.
"""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import AsyncIterator

from aiohttp import ClientPayloadError, web

from gateway.domain.errors import (
    BodyInterrupted,
    TokenSizeExceeded,
    UnsupportedMediaType,
)
from gateway.domain.principals import Principal
from gateway.domain.tus_headers import (
    CHECKSUM_ALGORITHMS,
    TUS_EXTENSIONS,
    TUS_VERSION,
    encode_metadata,
    parse_checksum,
    parse_length,
    parse_metadata,
)
from gateway.domain.uploads import UploadRecord
from gateway.http.access_records import UPLOAD_KEY
from gateway.http.app_keys import SERVICES
from gateway.http.auth import authenticate_uploader
from gateway.services.body_receiver import Body, Checksum

PATCH_CONTENT_TYPE = "application/offset+octet-stream"


def add_routes(app: web.Application) -> None:
    app.router.add_route("OPTIONS", "/files/", options)
    app.router.add_route("OPTIONS", "/files/{upload_id}", options)
    app.router.add_post("/files/", create)
    app.router.add_head("/files/{upload_id}", head)
    app.router.add_patch("/files/{upload_id}", patch)
    app.router.add_delete("/files/{upload_id}", delete)


async def options(request: web.Request) -> web.Response:
    ingest = request.app[SERVICES].ingest
    return web.Response(
        status=204,
        headers={
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": ",".join(TUS_EXTENSIONS),
            "Tus-Max-Size": str(ingest.max_size),
            "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
            # The IETF resumable-upload draft's field: a PATCH that does not end the upload
            # brings at least this many bytes.
            "Upload-Limit": f"min-append-size={ingest.appender.min_patch_bytes}",
        },
    )


async def create(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    caller = await authenticate_uploader(request)
    length = parse_length(
        "Upload-Length", request.headers.get("Upload-Length"), max_size=services.ingest.max_size
    )
    metadata = parse_metadata(
        request.headers.get("Upload-Metadata"), max_bytes=services.settings.metadata_max_bytes
    )
    token = caller.token
    if token is not None:
        if length > token.max_size:
            raise TokenSizeExceeded(f"the upload token allows at most {token.max_size} bytes")
        metadata = token.check_metadata(metadata)
    body = None
    if request.body_exists and request.content_length != 0:
        _require_patch_content_type(request)
        body = _body(request)
    # A token is spent in the transaction that records its upload: a refused creation
    # (quota, licence) leaves it valid for the retry.
    token_id = None if token is None else token.token_id
    upload = await services.ingest.create(caller.principal, length, metadata, body, token_id)
    request[UPLOAD_KEY] = upload.id
    headers = {"Location": f"/files/{upload.id}", **_offset_headers(upload)}
    return web.Response(status=201, headers=headers)


async def _caller_of(request: web.Request) -> Principal:
    """The caller, when it may reach this upload: a token only the upload it created."""
    caller = await authenticate_uploader(request)
    if caller.token is not None:
        await request.app[SERVICES].upload_tokens.check_upload(
            caller.token, request.match_info["upload_id"]
        )
    return caller.principal


async def head(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    principal = await _caller_of(request)
    upload = await services.ingest.get(principal, request.match_info["upload_id"])
    headers = {
        **_offset_headers(upload),
        "Upload-Length": str(upload.length),
        "Cache-Control": "no-store",
    }
    if upload.metadata:
        headers["Upload-Metadata"] = encode_metadata(upload.metadata)
    return web.Response(status=200, headers=headers)


async def patch(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    principal = await _caller_of(request)
    _require_patch_content_type(request)
    offset = parse_length("Upload-Offset", request.headers.get("Upload-Offset"))
    upload = await services.ingest.write(
        principal, request.match_info["upload_id"], offset, _body(request)
    )
    return web.Response(status=204, headers=_offset_headers(upload))


async def delete(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    principal = await _caller_of(request)
    await services.ingest.terminate(principal, request.match_info["upload_id"])
    return web.Response(status=204)


def _require_patch_content_type(request: web.Request) -> None:
    if request.content_type != PATCH_CONTENT_TYPE:
        raise UnsupportedMediaType(f"Content-Type must be {PATCH_CONTENT_TYPE}")


def _checksum(request: web.Request) -> Checksum | None:
    parsed = parse_checksum(request.headers.get("Upload-Checksum"))
    return None if parsed is None else Checksum(*parsed)


def _body(request: web.Request) -> Body:
    idle_s = request.app[SERVICES].settings.body_idle_timeout_s
    return Body(_chunks(request, idle_s), request.content_length, _checksum(request))


async def _chunks(request: web.Request, idle_s: float) -> AsyncIterator[bytes]:
    """The request body as chunks. A lost connection, or one silent for `idle_s` (a NAT that
    dropped it without a word), becomes BodyInterrupted: what arrived is kept, its offset
    committed and the upload's lock freed, so the client can resume or terminate."""
    try:
        while chunk := await asyncio.wait_for(request.content.readany(), idle_s):
            yield chunk
    except TimeoutError as exc:
        raise BodyInterrupted(f"no byte of the body arrived for {idle_s:g} s") from exc
    except (ConnectionError, ClientPayloadError) as exc:
        raise BodyInterrupted("the request body stopped before its end") from exc
    if request.content_length is not None and request.content.total_bytes < request.content_length:
        raise BodyInterrupted("the request body was shorter than its Content-Length")


def _offset_headers(upload: UploadRecord) -> dict[str, str]:
    headers = {"Upload-Offset": str(upload.offset)}
    if upload.expires_at is not None:
        headers["Upload-Expires"] = email.utils.format_datetime(upload.expires_at, usegmt=True)
    return headers
