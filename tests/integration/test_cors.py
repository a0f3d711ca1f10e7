"""CORS on the routes browsers call (/files/ and the token refresh): only the origins the
operator lists (`cors_origins`), `*` only when configured, `null` never; preflights follow
the same list (security review, issue 20, item 14)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.domain.errors import ConfigError
from gateway.runtime.settings import Settings, load_settings
from tests.conftest import Tenant
from tests.helpers import creation_headers
from tests.integration.test_upload_tokens import bearer, mint

Client = TestClient[Any, Any]
ORIGIN = "https://uploader.example.cn"
REFRESH = "/v1/upload-tokens/refresh"
PREFLIGHT = {"Access-Control-Request-Method": "POST"}
# Near misses of the listed origin, and the opaque origin of sandboxed pages and file: URLs.
OTHERS = [
    "null",
    "https://evil.example",
    "http://uploader.example.cn",
    "https://uploader.example.cn:8443",
    "https://uploader.example.cn.evil.example",
    "https://UPLOADER.example.cn/",
]


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The listed origin unless a test names others (None: the default)."""
    origins = getattr(request, "param", (ORIGIN,))
    chosen = {} if origins is None else {"cors_origins": origins}
    return Settings(data_dir=tmp_path / "var", expiry_sweep_interval_s=3600.0, **chosen)


def allowed_origin(response: Any) -> str | None:
    value: str | None = response.headers.get("Access-Control-Allow-Origin")
    return value


async def test_a_listed_origin_gets_preflight_and_exposed_headers(
    client: Client, tenant: Tenant
) -> None:
    origin = {"Origin": ORIGIN}
    preflight = await client.options("/files/", headers={**origin, **PREFLIGHT})
    assert preflight.status == 204
    assert allowed_origin(preflight) == ORIGIN
    assert "PATCH" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Upload-Metadata" in preflight.headers["Access-Control-Allow-Headers"]
    resp = await client.post("/files/", headers={**tenant.auth, **origin, **creation_headers(5)})
    assert resp.status == 201
    assert allowed_origin(resp) == ORIGIN
    assert "Origin" in resp.headers["Vary"]
    exposed = resp.headers["Access-Control-Expose-Headers"]
    assert "Location" in exposed
    assert "Upload-Offset" in exposed
    refresh_preflight = await client.options(REFRESH, headers={**origin, **PREFLIGHT})
    assert allowed_origin(refresh_preflight) == ORIGIN
    refreshed = await client.post(REFRESH, headers={**bearer(await mint(client, tenant)), **origin})
    assert refreshed.status == 200
    assert allowed_origin(refreshed) == ORIGIN


@pytest.mark.parametrize("settings", [None, (ORIGIN,)], indirect=True)
@pytest.mark.parametrize("origin", OTHERS)
async def test_other_origins_get_no_cors_headers(
    client: Client, tenant: Tenant, origin: str
) -> None:
    """The default lists none; a list allows exactly what it names."""
    token = await mint(client, tenant)
    answers = [
        await client.options("/files/", headers={"Origin": origin, **PREFLIGHT}),
        await client.options(f"/files/{'0' * 32}", headers={"Origin": origin, **PREFLIGHT}),
        await client.options(REFRESH, headers={"Origin": origin, **PREFLIGHT}),
        await client.post(
            "/files/", headers={**tenant.auth, "Origin": origin, **creation_headers(5)}
        ),
        await client.post(REFRESH, headers={**bearer(token), "Origin": origin}),
    ]
    for answer in answers:
        assert answer.status < 400, await answer.text()
        assert allowed_origin(answer) is None, answer.url
        assert "Access-Control-Allow-Methods" not in answer.headers
        assert "Access-Control-Expose-Headers" not in answer.headers


@pytest.mark.parametrize("settings", [("*",)], indirect=True)
async def test_a_wildcard_is_sent_as_a_wildcard_never_as_the_origin(
    client: Client, tenant: Tenant
) -> None:
    for origin in (ORIGIN, "null"):
        preflight = await client.options("/files/", headers={"Origin": origin, **PREFLIGHT})
        assert allowed_origin(preflight) == "*"
        resp = await client.post(
            "/files/", headers={**tenant.auth, "Origin": origin, **creation_headers(5)}
        )
        assert allowed_origin(resp) == "*"
    no_origin = await client.options("/files/")  # tus discovery, not a browser
    assert allowed_origin(no_origin) is None


@pytest.mark.parametrize(
    "origins",
    [
        ["null"],
        ["https://uploader.example.cn/"],
        ["https://uploader.example.cn/upload"],
        ["uploader.example.cn"],
        ["ftp://uploader.example.cn"],
        ["https://user@uploader.example.cn"],
        ["https://:pw@uploader.example.cn"],
        ["https://uploader.example.cn:99999"],
        ["*", ORIGIN],
    ],
)
def test_an_origin_list_with_anything_but_origins_or_a_lone_wildcard_is_refused(
    tmp_path: Path, origins: list[str]
) -> None:
    with pytest.raises(ConfigError, match="cors_origins"):
        load_settings(data_dir=tmp_path, cors_origins=origins)


def test_the_origins_come_from_vodgate_cors_origins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed = f'["{ORIGIN}:443", "HTTP://Localhost:3000", "http://[::1]:80"]'
    monkeypatch.setenv("VODGATE_CORS_ORIGINS", listed)
    as_sent = (ORIGIN, "http://localhost:3000", "http://[::1]")  # as browsers send them
    assert load_settings(data_dir=tmp_path).cors_origins == as_sent
    monkeypatch.delenv("VODGATE_CORS_ORIGINS")
    assert Settings(data_dir=tmp_path).cors_origins == ()
