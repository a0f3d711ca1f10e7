"""The banks' admin API (admin keys only): the operations of `vodgate bank` over HTTP.

GET    /v1/admin/banks                          every bank with its entry count
POST   /v1/admin/banks                          create {name, kind, clause, owner?, ...}
GET    /v1/admin/banks/{name}/entries           its entries (who added each, when, from what)
POST   /v1/admin/banks/{name}/entries           {upload_id}: hash an upload's staged video
DELETE /v1/admin/banks/{name}/entries/{entry}   remove (audited)
GET    /v1/admin/banks/{name}/export            the documented text form
POST   /v1/admin/banks/{name}/import            that text form (text/plain body)
"""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from gateway.domain.banks import BankKind
from gateway.domain.errors import BankEntryNotFound, BankInputInvalid
from gateway.domain.principals import Principal, Role
from gateway.http.app_keys import SERVICES
from gateway.http.auth import authenticate
from gateway.http.bodies import read_body, read_json
from gateway.http.params import ascii_number
from gateway.runtime.screening_wiring import build_bank_service
from gateway.services.banks import BankService, bank_json, entry_json

# An import body: ~70 bytes a hash line, so about 900,000 hashes.
MAX_IMPORT_BYTES = 64 * 1024 * 1024


class CreateBank(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=64)
    kind: BankKind
    clause: str = Field(max_length=32)
    owner: str | None = Field(default=None, max_length=32)
    max_distance: int = 31
    min_matched_s: float = 5.0


class AddUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    upload_id: str = Field(max_length=32)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/admin/banks", list_banks)
    app.router.add_post("/v1/admin/banks", create_bank)
    app.router.add_get("/v1/admin/banks/{name}/entries", list_entries)
    app.router.add_post("/v1/admin/banks/{name}/entries", add_upload)
    app.router.add_delete("/v1/admin/banks/{name}/entries/{entry}", remove_entry)
    app.router.add_get("/v1/admin/banks/{name}/export", export_bank)
    app.router.add_post("/v1/admin/banks/{name}/import", import_bank)


async def _admin(request: web.Request) -> tuple[Principal, BankService]:
    principal = await authenticate(request, Role.ADMIN)
    return principal, build_bank_service(request.app[SERVICES])


def _actor(principal: Principal) -> str:
    return f"admin:{principal.key_id}"


async def list_banks(request: web.Request) -> web.Response:
    _, banks = await _admin(request)
    listed = await banks.store.banks()
    return web.json_response({"banks": [bank_json(b, n) for b, n in listed]})


async def create_bank(request: web.Request) -> web.Response:
    _, banks = await _admin(request)
    body: CreateBank = await read_json(request, CreateBank)
    bank = await banks.create(
        body.name, body.kind, body.clause, body.owner,
        max_distance=body.max_distance, min_matched_s=body.min_matched_s,
    )  # fmt: skip
    return web.json_response({"name": bank.name, "kind": bank.kind.value}, status=201)


async def list_entries(request: web.Request) -> web.Response:
    _, banks = await _admin(request)
    name = request.match_info["name"]
    await banks.check_exists(name)
    return web.json_response({"entries": [entry_json(e) for e in await banks.store.entries(name)]})


async def add_upload(request: web.Request) -> web.Response:
    principal, banks = await _admin(request)
    body: AddUpload = await read_json(request, AddUpload)
    services = request.app[SERVICES]
    name = request.match_info["name"]
    await banks.check_exists(name)
    if await services.uploads.get_internal(body.upload_id) is None:
        raise BankInputInvalid("no such upload")
    async with services.staged.local_copy(body.upload_id) as path:
        entry, new = await banks.add_file(
            name, path, _actor(principal), upload_id=body.upload_id, reference=body.upload_id
        )
    return web.json_response(entry_json(entry) | {"new": new}, status=201 if new else 200)


async def remove_entry(request: web.Request) -> web.Response:
    principal, banks = await _admin(request)
    entry = ascii_number(request.match_info["entry"])
    if entry is None:
        raise BankEntryNotFound("no such entry")
    await banks.remove(request.match_info["name"], entry, _actor(principal))
    return web.json_response({"removed": entry})


async def export_bank(request: web.Request) -> web.Response:
    _, banks = await _admin(request)
    lines = await banks.export(request.match_info["name"])
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")


async def import_bank(request: web.Request) -> web.Response:
    principal, banks = await _admin(request)
    raw = await read_body(request, MAX_IMPORT_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BankInputInvalid("the import is not UTF-8 text") from exc
    entries = await banks.import_lines(
        request.match_info["name"], text.splitlines(), _actor(principal)
    )
    return web.json_response({"entries": [entry_json(e) for e in entries]}, status=201)
