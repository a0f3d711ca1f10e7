"""The OpenAPI 3.1 document at /openapi.json: every route, built from the same pydantic
models the handlers validate request bodies with. A test checks every registered route is
here (tests/integration/test_openapi.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from gateway import __version__
from gateway.http.account_routes import Arrears
from gateway.http.bank_routes import AddUpload, CreateBank
from gateway.http.event_routes import AckRequest
from gateway.http.review_routes import AppealRequest, DecisionRequest
from gateway.http.token_routes import TokenRequest

REF = "#/components/schemas/{model}"
BODY_MODELS: tuple[type[BaseModel], ...] = (
    Arrears, AddUpload, CreateBank, AckRequest, AppealRequest, DecisionRequest, TokenRequest,
)  # fmt: skip
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "stable, machine-readable"},
                "message": {"type": "string", "description": "safe to show a customer"},
                "clause": {"type": "string", "description": "the term it applies, if any"},
            },
        }
    },
}
TUS_HEADERS = ("Tus-Resumable",)


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    summary: str
    auth: str | None  # security scheme: "apiKey", "uploadToken", "metricsToken" or None
    ok: int = 200
    body: type[BaseModel] | str | None = None  # a model, or a raw content type
    query: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    errors: tuple[int, ...] = (400, 401, 403, 404)
    token_ok: bool = False  # an upload token may stand in for the key
    tags: tuple[str, ...] = field(default_factory=tuple)


OPS = (
    Op("OPTIONS", "/files/", "tus discovery: version, extensions, max size", None, 204, errors=()),
    Op("OPTIONS", "/files/{upload_id}", "tus discovery (CORS preflight)", None, 204, errors=()),
    Op("POST", "/files/", "tus creation (and creation-with-upload); licence pre-flight",
       "apiKey", 201, "application/offset+octet-stream",
       headers=("Tus-Resumable", "Upload-Length", "Upload-Metadata", "Upload-Checksum"),
       errors=(400, 401, 403, 412, 413, 415, 429, 460, 503), token_ok=True),
    Op("HEAD", "/files/{upload_id}", "tus offset", "apiKey", headers=TUS_HEADERS,
       errors=(401, 403, 404, 410, 412), token_ok=True),
    Op("PATCH", "/files/{upload_id}", "tus append at Upload-Offset", "apiKey", 204,
       "application/offset+octet-stream",
       headers=("Tus-Resumable", "Upload-Offset", "Upload-Checksum"),
       errors=(400, 401, 403, 404, 409, 410, 412, 415, 423, 429, 460, 503), token_ok=True),
    Op("DELETE", "/files/{upload_id}", "tus termination", "apiKey", 204, headers=TUS_HEADERS,
       errors=(401, 403, 404, 409, 410, 412, 423), token_ok=True),
    Op("GET", "/v1/uploads", "the tenant's uploads, newest first (cursor pages)", "apiKey",
       query=("state", "verdict", "since", "until", "limit", "cursor")),
    Op("GET", "/v1/uploads/{upload_id}", "state, trail, decision, delivery", "apiKey"),
    Op("GET", "/v1/uploads/{upload_id}/evidence/{name}", "an evidence thumbnail (JPEG)",
       "apiKey"),
    Op("GET", "/v1/uploads/{upload_id}/playback", "short-lived playback links", "apiKey"),
    Op("GET", "/v1/playback/{upload_id}/{name}", "a gateway-served playback link (signed)",
       None, query=("expires", "sig")),
    Op("POST", "/v1/uploads/{upload_id}/appeal", "the tenant's one appeal of a rejection",
       "apiKey", 201, AppealRequest, errors=(400, 401, 403, 404, 409)),
    Op("GET", "/v1/account", "the tenant's standing, limits and usage", "apiKey"),
    Op("GET", "/v1/events", "events after a cursor (pull API)", "apiKey",
       query=("after", "limit")),
    Op("POST", "/v1/events/ack", "acknowledge events", "apiKey", body=AckRequest),
    Op("POST", "/v1/upload-tokens", "mint a direct-upload token", "apiKey", 201, TokenRequest),
    Op("POST", "/v1/upload-tokens/refresh", "a token's new expiry", "uploadToken"),
    Op("OPTIONS", "/v1/upload-tokens/refresh", "CORS preflight", None, 204, errors=()),
    Op("POST", "/v1/keys", "another key for the tenant (rotation)", "apiKey", 201),
    Op("DELETE", "/v1/keys/{key_id}", "revoke a key (and its tokens)", "apiKey", 204),
    Op("GET", "/v1/review/queue", "open review items, most urgent first", "apiKey",
       query=("clause", "tenant", "overdue", "limit")),
    Op("GET", "/v1/review/log", "who decided what (CSV with ?format=csv)", "apiKey",
       query=("format",)),
    Op("GET", "/v1/review/banks", "prohibited banks a reviewer may add to", "apiKey"),
    Op("GET", "/v1/review/items/{item_id}", "one item with its evidence", "apiKey"),
    Op("POST", "/v1/review/items/{item_id}/claim", "claim (or renew) an item", "apiKey",
       errors=(400, 401, 403, 404, 409)),
    Op("POST", "/v1/review/items/{item_id}/release", "give a claimed item back", "apiKey",
       errors=(400, 401, 403, 404, 409)),
    Op("POST", "/v1/review/items/{item_id}/decision", "approve or reject, with clauses",
       "apiKey", body=DecisionRequest, errors=(400, 401, 403, 404, 409)),
    Op("GET", "/v1/review/items/{item_id}/video", "the staged video (Range; media token)",
       None, query=("token",)),
    Op("GET", "/v1/review/items/{item_id}/evidence/{name}", "an evidence thumbnail",
       "apiKey", query=("token",)),
    Op("GET", "/review", "the moderators' page (HTML)", None),
    Op("GET", "/review/static", "the page's script and styles", None),
    Op("GET", "/v1/admin/banks", "every bank with its entry count", "apiKey"),
    Op("POST", "/v1/admin/banks", "create a bank", "apiKey", 201, CreateBank),
    Op("GET", "/v1/admin/banks/{name}/entries", "a bank's entries", "apiKey"),
    Op("POST", "/v1/admin/banks/{name}/entries", "hash an upload's video into a bank",
       "apiKey", 201, AddUpload),
    Op("DELETE", "/v1/admin/banks/{name}/entries/{entry}", "remove an entry (audited)",
       "apiKey", 204),
    Op("GET", "/v1/admin/banks/{name}/export", "a bank's hashes as text", "apiKey"),
    Op("POST", "/v1/admin/banks/{name}/import", "add entries from their text form",
       "apiKey", 201, "text/plain"),
    Op("GET", "/v1/admin/tenants/{tenant_id}/standing", "a tenant's standing (clause 7.3.3)",
       "apiKey"),
    Op("POST", "/v1/admin/tenants/{tenant_id}/arrears", "report arrears since a time",
       "apiKey", body=Arrears, errors=(400, 401, 403, 404, 409)),
    Op("POST", "/v1/admin/tenants/{tenant_id}/paid", "the arrears are paid", "apiKey",
       errors=(400, 401, 403, 404, 409)),
    Op("GET", "/healthz", "liveness", None, errors=()),
    Op("GET", "/readyz", "readiness: the database and every store (503 naming which)", None,
       errors=(503,)),
    Op("GET", "/metrics", "Prometheus text", "metricsToken", errors=(401,)),
    Op("GET", "/openapi.json", "this document", None, errors=()),
)  # fmt: skip

REASONS = {
    200: "OK", 201: "Created", 204: "No Content", 400: "Bad request", 401: "No valid key",
    403: "Not allowed (role, standing, clause)", 404: "Not found (or another tenant's)",
    409: "Conflict", 410: "Gone (expired, terminated or purged)", 412: "Tus-Resumable",
    413: "Too large", 415: "Content-Type", 423: "Locked by another request",
    429: "Limit reached (Retry-After)", 460: "Checksum mismatch", 503: "A dependency is down",
}  # fmt: skip


def document() -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    for model in BODY_MODELS:
        schema = model.model_json_schema(ref_template=REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    paths: dict[str, dict[str, Any]] = {}
    for op in OPS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "vodgate",
            "version": __version__,
            "description": "Content-moderation upload gateway: tus 1.0 at /files/, the API "
            "under /v1/. Errors are JSON {error: {code, message, clause?}}.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "vg_<id>_<secret>"},
                "uploadToken": {"type": "http", "scheme": "bearer", "description": "vgt1.…"},
                "metricsToken": {"type": "http", "scheme": "bearer"},
            },
        },
    }


def _operation(op: Op) -> dict[str, Any]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _path_names(op.path)
    ]
    parameters += [
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
        for name in op.query
    ]
    parameters += [
        {"name": name, "in": "header", "required": name == "Tus-Resumable",
         "schema": {"type": "string"}}
        for name in op.headers
    ]  # fmt: skip
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    responses: dict[str, Any] = {str(op.ok): {"description": REASONS[op.ok]}}
    for status in op.errors:
        responses[str(status)] = {"description": REASONS[status], "content": error}
    operation: dict[str, Any] = {
        "summary": op.summary,
        "operationId": f"{op.method.lower()}_{op.path.strip('/').replace('/', '_')}".replace(
            "{", ""
        ).replace("}", ""),
        "parameters": parameters,
        "responses": responses,
    }
    if op.auth is not None:
        operation["security"] = [{op.auth: []}] + ([{"uploadToken": []}] if op.token_ok else [])
    if isinstance(op.body, str):
        operation["requestBody"] = {"content": {op.body: {"schema": {"type": "string"}}}}
    elif op.body is not None:
        ref = {"$ref": REF.format(model=op.body.__name__)}
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref}},
        }
    return operation


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def add_routes(app: web.Application) -> None:
    built = document()

    async def serve(request: web.Request) -> web.Response:
        return web.json_response(built)

    app.router.add_get("/openapi.json", serve)
