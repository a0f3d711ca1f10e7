"""aiohttp's parser errors, redacted: a request it cannot parse (a control character, a bare
CR or LF, a NUL in a header) is logged by aiohttp at ERROR with a traceback that quotes the raw
header line, API key included. Any client could write keys and ERROR tracebacks into the log.

This filter turns each such record into a WARNING `http.request_malformed` that names the
error class and keeps no raw bytes; and the answer to such a request is the gateway's JSON
error (400 `request_malformed`) instead of aiohttp's plain text. aiohttp answers these
before any application code runs (no middleware sees them), so its error responder is
wrapped, once, for the 4xx it produces."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web, web_protocol
from aiohttp.http_exceptions import HttpProcessingError

AIOHTTP_SERVER_LOGGER = "aiohttp.server"


class RedactParserErrors(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "http.request_malformed", ()
            record.exc_info, record.exc_text, record.stack_info = None, None, None
            record.error = type(error).__name__  # the class only: its text holds the bytes
        return True


def install() -> None:
    """Once per process (idempotent)."""
    logger = logging.getLogger(AIOHTTP_SERVER_LOGGER)
    if not any(isinstance(f, RedactParserErrors) for f in logger.filters):
        logger.addFilter(RedactParserErrors())
    handler = web_protocol.RequestHandler
    if not getattr(handler.handle_error, "_vodgate_json", False):
        handler.handle_error = _json_client_errors(handler.handle_error)  # type: ignore[method-assign]


def _json_client_errors(original: Callable[..., web.StreamResponse]) -> Any:
    def handle_error(
        self: web_protocol.RequestHandler,
        request: Any,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        response = original(self, request, status, exc, message)  # logs (redacted), checks
        if 400 <= status < 500:
            body = {"error": {"code": "request_malformed", "message": _MALFORMED}}
            response = web.Response(
                status=status, text=json.dumps(body), content_type="application/json"
            )
            response.force_close()
        return response

    handle_error._vodgate_json = True  # type: ignore[attr-defined]
    return handle_error


_MALFORMED = (
    "the request could not be parsed (a header with a control character, a bare CR or LF, "
    "or a line too long); nothing was done"
)
