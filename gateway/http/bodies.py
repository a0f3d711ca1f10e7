"""Request bodies of the /v1 routes, read whole (to EOF) under a cap.

`StreamReader.read(n)` returns what is buffered, not the body: a body that arrives in more
than one TCP segment (nginx streams bodies unbuffered) would be cut at the first. Every route
that reads a body reads it here."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import ClientPayloadError, web
from pydantic import BaseModel, ValidationError

from gateway.domain.errors import BodyInterrupted, BodyInvalid, BodyTooLarge
from gateway.http.app_keys import SERVICES

MAX_JSON_BYTES = 64 * 1024


async def read_body(request: web.Request, max_bytes: int) -> bytes:
    """The whole body, or 413 once it passes `max_bytes` (declared or counted), or 400 when
    it stops before its end or stays silent for the body idle timeout."""
    if (request.content_length or 0) > max_bytes:
        raise BodyTooLarge("the body is too large")
    idle_s = request.app[SERVICES].settings.body_idle_timeout_s
    parts: list[bytes] = []
    size = 0
    try:
        while chunk := await asyncio.wait_for(request.content.readany(), idle_s):
            size += len(chunk)
            if size > max_bytes:
                raise BodyTooLarge("the body is too large")
            parts.append(chunk)
    except TimeoutError as exc:
        raise BodyInterrupted(f"no byte of the body arrived for {idle_s:g} s") from exc
    except (ConnectionError, ClientPayloadError) as exc:
        raise BodyInterrupted("the request body stopped before its end") from exc
    if request.content_length is not None and size < request.content_length:
        raise BodyInterrupted("the request body was shorter than its Content-Length")
    return b"".join(parts)


async def read_json(
    request: web.Request, model: type[BaseModel], max_bytes: int = MAX_JSON_BYTES
) -> Any:
    """A JSON body of at most `max_bytes`, validated by `model` (400 naming the field)."""
    raw = await read_body(request, max_bytes)
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BodyInvalid(f"{where}: {first['msg']}") from exc
