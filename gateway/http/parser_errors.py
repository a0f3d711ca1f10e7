"""aiohttp's parser errors, redacted: a request it cannot parse (a control character, a bare
CR or LF, a NUL in a header) is logged by aiohttp at ERROR with a traceback that quotes the raw
header line, API key included. Any client could write keys and ERROR tracebacks into the log.

This filter turns each such record into a WARNING `http.request_malformed` that names the
error class and keeps no raw bytes."""

from __future__ import annotations

import logging

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
