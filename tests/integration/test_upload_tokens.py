"""Direct-upload tokens: minted with the tenant's key, used in its place by a tus client for
one upload, refreshed mid-upload, and refused in every other use."""

from __future__ import annotations

import base64
import datetime as dt
import string
from typing import Any

from aiohttp.test_utils import TestClient

from gateway.runtime.wiring import Services
from tests.conftest import LICENCE_NUMBER, TUS, ManualClock, Tenant, TenantFactory
from tests.helpers import PATCH_TYPE, chunked, creation_headers, metadata_header, upload_id_of

BASE64URL = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
BOUND = {"licence_type": "avsp", "licence_number": LICENCE_NUMBER, "content_category": "general"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **TUS}


async def mint(
    client: TestClient[Any, Any], tenant: Tenant, max_size: int = 10_000, **extra: Any
) -> str:
    response = await client.post(
        "/v1/upload-tokens",
        headers=tenant.auth,
        json={"max_size": max_size, "metadata": BOUND, **extra},
    )
    assert response.status == 201, await response.text()
    token: str = (await response.json())["token"]
    return token


async def create(client: TestClient[Any, Any], token: str, length: int, **meta: str) -> Any:
    headers = {**bearer(token), "Upload-Length": str(length)}
    headers["Upload-Metadata"] = metadata_header(**meta) if meta else _filename_only()
    return await client.post("/files/", headers=headers)


def _filename_only() -> str:
    return "filename " + base64.b64encode(b"phone.mp4").decode()


async def patch(
    client: TestClient[Any, Any], token: str, upload_id: str, offset: int, data: bytes
) -> Any:
    return await client.patch(
        f"/files/{upload_id}",
        headers={**bearer(token), **PATCH_TYPE, "Upload-Offset": str(offset)},
        data=chunked(data),
    )


async def code_of(response: Any) -> str:
    return str((await response.json())["error"]["code"])


async def test_a_token_creates_one_upload_with_its_bound_metadata(
    services: Services, client: TestClient[Any, Any], tenant: Tenant
) -> None:
    token = await mint(client, tenant)
    created = await create(client, token, 10)
    assert created.status == 201, await created.text()
    upload_id = upload_id_of(created.headers["Location"])
    assert (await patch(client, token, upload_id, 0, b"0123456789")).status == 204
    upload = await services.uploads.get(upload_id, tenant.tenant_id)
    assert upload is not None
    assert upload.metadata == {**BOUND, "filename": "phone.mp4"}

    again = await create(client, token, 10)  # a second upload with the same token
    assert (again.status, await code_of(again)) == (403, "token_used")


async def test_every_other_use_of_a_token_is_refused(
    services: Services,
    client: TestClient[Any, Any],
    tenant: Tenant,
    make_tenant: TenantFactory,
    clock: ManualClock,
) -> None:
    token = await mint(client, tenant, max_size=100)
    too_big = await create(client, token, 101)
    assert (too_big.status, await code_of(too_big)) == (413, "token_size_exceeded")
    other_licence = await create(client, token, 10, licence_number="0000-OTHER")
    assert (other_licence.status, await code_of(other_licence)) == (403, "token_metadata_mismatch")

    mine = upload_id_of((await create(client, token, 10)).headers["Location"])
    # Another upload of the same tenant, and another tenant's: not found, alike.
    other = await make_tenant()
    for owner in (tenant, other):
        made = await client.post("/files/", headers={**owner.auth, **creation_headers(5)})
        theirs = upload_id_of(made.headers["Location"])
        head = await client.head(f"/files/{theirs}", headers=bearer(token))
        assert head.status == 404
    assert (await client.head(f"/files/{mine}", headers=bearer(token))).status == 200

    # Tampered: the claims edited (a bigger max_size), the signature kept.
    prefix, claims, signature = token.split(".")
    padded = claims + "=" * (-len(claims) % 4)
    edited = base64.urlsafe_b64decode(padded).replace(b'"s":100', b'"s":999')
    forged = f"{prefix}.{base64.urlsafe_b64encode(edited).decode().rstrip('=')}.{signature}"
    refused = await patch(client, forged, mine, 0, b"x")  # a HEAD answer has no body
    assert (refused.status, await code_of(refused)) == (401, "token_invalid")

    # In the wrong header or on a route that is not tus: no access.
    wrong = await client.head(f"/files/{mine}", headers={"X-Upload-Token": token, **TUS})
    assert wrong.status == 401
    query = await client.head(f"/files/{mine}?token={token}", headers=TUS)
    assert query.status == 401
    api = await client.get(f"/v1/uploads/{mine}", headers=bearer(token))
    assert api.status == 401

    clock.advance(seconds=services.upload_tokens.default_ttl.total_seconds() + 1)
    expired = await patch(client, token, mine, 0, b"x")
    assert (expired.status, await code_of(expired)) == (401, "token_expired")


async def test_a_signature_with_anything_added_or_changed_is_refused(
    client: TestClient[Any, Any], tenant: Tenant
) -> None:
    """Security review (issue 20, item 10): lenient base64 skipped characters outside its
    alphabet and ignored the unused low bits of the last one, so other texts of one token
    verified. Only the one encoding of the signature does."""
    token = await mint(client, tenant)
    body, _, signature = token.rpartition(".")
    # The last of 43 characters carries 4 of the 256 bits: its lowest two are unused.
    same_bits = BASE64URL[BASE64URL.index(signature[-1]) ^ 1]
    variants = [
        f"{token}!!",
        f"{body}.!!{signature}",
        f"{body}.{signature[:20]}*{signature[20:]}",
        f"{token}=",
        f"{body}.{signature[:-1]}{same_bits}",  # the same 32 bytes, a non-canonical text
        f"{body}.{signature}AAAA",  # 35 bytes
    ]
    for variant in variants:
        refused = await create(client, variant, 10)
        assert refused.status == 401, variant
        assert await code_of(refused) == "token_invalid"
        refresh = await client.post("/v1/upload-tokens/refresh", headers=bearer(variant))
        assert refresh.status == 401, variant
    assert (await create(client, token, 10)).status == 201  # the token itself still works


async def test_a_refresh_keeps_a_long_upload_going(
    services: Services, client: TestClient[Any, Any], tenant: Tenant, clock: ManualClock
) -> None:
    size = 20 * 1024 * 1024
    token = await mint(client, tenant, max_size=size)
    upload_id = upload_id_of((await create(client, token, size)).headers["Location"])
    half = b"h" * (size // 2)
    assert (await patch(client, token, upload_id, 0, half)).status == 204
    clock.advance(seconds=services.upload_tokens.default_ttl.total_seconds() - 60)
    refreshed = await client.post("/v1/upload-tokens/refresh", headers=bearer(token))
    assert refreshed.status == 200
    fresh = (await refreshed.json())["token"]
    clock.advance(seconds=120)  # past the first expiry
    assert (await patch(client, token, upload_id, size // 2, half)).status == 401
    assert (await patch(client, fresh, upload_id, size // 2, half)).status == 204
    upload = await services.uploads.get(upload_id, tenant.tenant_id)
    assert upload is not None
    assert upload.offset == size


async def test_no_refresh_once_the_upload_is_complete(
    client: TestClient[Any, Any], tenant: Tenant
) -> None:
    """Security review (issue 20, item 11): a leaked token kept HEAD and DELETE on a finished
    upload for ever by refreshing (and refreshed while the account was suspended, below)."""
    token = await mint(client, tenant, max_size=10)
    upload_id = upload_id_of((await create(client, token, 10)).headers["Location"])
    assert (await client.post("/v1/upload-tokens/refresh", headers=bearer(token))).status == 200
    assert (await patch(client, token, upload_id, 0, b"0123456789")).status == 204
    finished = await client.post("/v1/upload-tokens/refresh", headers=bearer(token))
    assert finished.status == 401
    assert await code_of(finished) == "token_invalid"


async def test_no_refresh_while_the_account_is_suspended(
    services: Services, client: TestClient[Any, Any], tenant: Tenant, clock: ManualClock
) -> None:
    # Arrears whose 24 h of grace end in a minute: the token is minted in good standing.
    since = clock.now() - dt.timedelta(hours=24) + dt.timedelta(minutes=1)
    await services.accounts.report_arrears(tenant.tenant_id, since)
    token = await mint(client, tenant, max_size=10)
    clock.advance(minutes=2)  # suspended (clause 7.3.3.1); the token itself still valid
    suspended = await client.post("/v1/upload-tokens/refresh", headers=bearer(token))
    assert suspended.status == 403
    assert await code_of(suspended) == "account_suspended"


async def test_keys_rotate_and_a_revoked_keys_tokens_stop(
    client: TestClient[Any, Any], tenant: Tenant
) -> None:
    token = await mint(client, tenant)
    upload_id = upload_id_of((await create(client, token, 10)).headers["Location"])
    added = await client.post("/v1/keys", headers=tenant.auth)
    assert added.status == 201
    second = (await added.json())["api_key"]
    second_auth = {"Authorization": f"Bearer {second}", **TUS}
    for auth in (tenant.auth, second_auth):  # both valid during the rotation
        assert (await client.get(f"/v1/uploads/{upload_id}", headers=auth)).status == 200
    old_key_id = tenant.api_key.split("_")[1]
    revoked = await client.delete(f"/v1/keys/{old_key_id}", headers=second_auth)
    assert revoked.status == 204
    assert (await client.get(f"/v1/uploads/{upload_id}", headers=tenant.auth)).status == 401
    assert (await client.head(f"/files/{upload_id}", headers=bearer(token))).status == 401
    assert (await client.get(f"/v1/uploads/{upload_id}", headers=second_auth)).status == 200
