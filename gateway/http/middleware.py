"""Middlewares: request id and timing, the access log, and the one place errors become JSON."""

from __future__ import annotations

import logging
import re
import secrets
import time
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.domain.errors import DatabaseUnavailable, GatewayError, PreconditionFailed
from gateway.domain.requester import requester
from gateway.domain.tus_headers import TUS_VERSION
from gateway.http.access_records import LOGGED_PREFIXES, build_record
from gateway.http.app_keys import SERVICES
from gateway.runtime.logs import request_id_var
from gateway.runtime.settings import Settings
from gateway.runtime.wiring import is_outage

logger = logging.getLogger(__name__)

TUS_PREFIX = "/files"
# Where a browser refreshes its direct-upload token mid-upload (CORS like /files/).
TOKEN_REFRESH_PATH = "/v1/upload-tokens/refresh"  # noqa: S105 - a path, not a secret
_REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


def json_error(status: int, code: str, message: str, clause: str | None = None) -> web.Response:
    error = {"code": code, "message": message}
    if clause:
        error["clause"] = clause
    return web.json_response({"error": error}, status=status)


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request id, metrics and the access log around everything else."""
    services = request.app[SERVICES]
    offered = request.headers.get("X-Request-Id", "")
    # Ours is always unique; a caller's own id is kept beside it (never in its place), and
    # only when it is short and plain: it lands in logs and records.
    client_request_id = offered if _REQUEST_ID.fullmatch(offered) else None
    request_id = secrets.token_hex(8)
    token = request_id_var.set(request_id)
    # Requests on one keep-alive connection share its task: each starts as nobody's.
    for_whom = requester.set(None)
    started = time.perf_counter()
    response: web.StreamResponse | None = None
    try:
        response = await handler(request)
        response.headers["X-Request-Id"] = request_id
        if client_request_id is not None:
            response.headers["X-Client-Request-Id"] = client_request_id
        return response
    finally:
        status = response.status if response is not None else 500
        route = request.match_info.route.resource
        route_name = route.canonical if route is not None else "unmatched"
        services.metrics.http_requests.labels(route_name, request.method, str(status)).inc()
        services.metrics.http_duration.labels(route_name).observe(time.perf_counter() - started)
        if request.path.startswith(LOGGED_PREFIXES):
            # Not yet sent here: what the response declares is what goes out.
            bytes_out = (response.content_length or 0) if response is not None else 0
            await services.accesslog.put(
                build_record(
                    request,
                    status,
                    bytes_out,
                    started,
                    services.clock,
                    request_id,
                    services.settings.trusted_proxies,
                    client_request_id,
                )
            )
        request_id_var.reset(token)
        requester.reset(for_whom)


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """GatewayError -> its status and code; HTTP errors -> JSON; anything else -> 500."""
    try:
        return await handler(request)
    except GatewayError as exc:
        return _gateway_error(request, exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = json_error(exc.status, _http_code(exc.status), exc.reason)
        for name in ("Allow", "WWW-Authenticate"):
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
        return response
    except Exception as exc:
        if is_outage(exc):  # the database's driver errors, as the gateway's own
            unavailable = DatabaseUnavailable(str(exc), headers={"Retry-After": "5"})
            return _gateway_error(request, unavailable)
        logger.exception("request.failed", extra={"path": request.path, "method": request.method})
        return json_error(
            500, "internal", f"internal error; quote request id {request_id_var.get()}"
        )


def _gateway_error(request: web.Request, exc: GatewayError) -> web.Response:
    if exc.status >= 500:
        # A dependency's failure: its detail (hosts, buckets, driver text) is for the
        # operators' log; the caller gets the code and a request id to quote.
        logger.warning(
            "request.dependency_failed",
            extra={"path": request.path, "code": exc.code, "error": exc.message[:500]},
        )
        message = "a service the gateway needs is unavailable; retry later"
        response = json_error(
            exc.status, exc.code, f"{message} (request id {request_id_var.get()})"
        )
    else:
        response = web.json_response(exc.as_body(), status=exc.status)
    response.headers.update(exc.headers)
    return response


def _http_code(status: int) -> str:
    return {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
        status, f"http_{status}"
    )


@web.middleware
async def tus_version(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every tus request but OPTIONS must speak our tus version (412 otherwise)."""
    if (
        request.path.startswith(TUS_PREFIX)
        and request.method != "OPTIONS"
        and request.headers.get("Tus-Resumable") != TUS_VERSION
    ):
        raise PreconditionFailed(
            f"Tus-Resumable must be {TUS_VERSION}", headers={"Tus-Version": TUS_VERSION}
        )
    return await handler(request)


CORS_ALLOW_HEADERS = (
    "Authorization, Content-Type, Tus-Resumable, Upload-Length, Upload-Metadata, "
    "Upload-Offset, Upload-Checksum, Upload-Defer-Length, Upload-Concat, X-Request-Id"
)
CORS_EXPOSE_HEADERS = (
    "Location, Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm, "
    "Upload-Offset, Upload-Length, Upload-Metadata, Upload-Expires, X-Request-Id"
)


async def add_tus_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: Tus-Resumable on every tus response, errors included, and CORS
    for browser clients whose origin the settings allow. Every response: a Server header
    that names no versions; the review page: a content security policy and no framing."""
    response.headers["Server"] = "vodgate"
    if request.path == "/review" or request.path.startswith("/review/"):
        response.headers.update(review_page_headers(request.app[SERVICES].settings))
    if request.path.startswith(TUS_PREFIX):
        response.headers["Tus-Resumable"] = TUS_VERSION
    elif request.path != TOKEN_REFRESH_PATH:  # the one other route browsers call
        return
    response.headers.update(
        cors_headers(
            request.headers.get("Origin"),
            request.app[SERVICES].settings.cors_origins,
            preflight=request.method == "OPTIONS",
        )
    )


def cors_headers(origin: str | None, allowed: tuple[str, ...], preflight: bool) -> dict[str, str]:
    """Only the listed origins (the settings never list "null"), or "*" itself when the
    operator lists it: never whatever a request names. The list is global: a preflight
    carries no credentials, so it cannot be a tenant's own."""
    wildcard = "*" in allowed
    headers = {} if wildcard else {"Vary": "Origin"}  # caches must key the answer on it
    if not origin or not (wildcard or origin in allowed):
        return headers
    headers["Access-Control-Allow-Origin"] = "*" if wildcard else origin
    headers["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS
    if preflight:
        headers["Access-Control-Allow-Methods"] = "POST, HEAD, PATCH, DELETE, OPTIONS"
        headers["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
        headers["Access-Control-Max-Age"] = "86400"
    return headers


def review_page_headers(settings: Settings) -> dict[str, str]:
    """The page loads its own script, styles, thumbnails and video; in the quarantine
    deployment the player follows a presigned link to the S3 endpoint, so media may come
    from there too. Nothing may frame the page or guess content types."""
    media = "'self'"
    if settings.staging == "s3" and settings.s3_endpoint_url:
        parts = urlsplit(settings.s3_endpoint_url)
        media += f" {parts.scheme}://{parts.netloc}"
    policy = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        f"media-src {media}; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
