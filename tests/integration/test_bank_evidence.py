"""Security review, finding 15: an upload matching a rights bank showed its uploader the
rights holder's reference frame and the bank's name. The uploader sees the clause and the
matched times of its own video; the bank, the entry and the reference picture are for
reviewers, for rights and prohibited banks alike. Real ffmpeg, PDQ, faiss, SQLite."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient

from gateway.domain.banks import BankKind
from gateway.domain.principals import Role
from gateway.domain.states import UploadState
from gateway.runtime.background import build_screening_workers
from gateway.runtime.screening_wiring import build_bank_service, build_screener
from gateway.runtime.settings import PROJECT_ROOT
from gateway.runtime.wiring import Services
from tests.bank_media import copy_of, pan_clip
from tests.conftest import Tenant, TenantFactory
from tests.integration.test_review import get
from tests.pipeline_helpers import received

Client = TestClient[object, object]
REFERENCE = "bank match: reference"
POLICY = {
    "id": "bank-test-policy",
    "version": 1,
    "review_threshold": 0.4,
    "items": [
        {
            "id": "3.1.10.3(4)",
            "clause": "3.1.10.3",
            "text_zh": "暴力、恐怖、血腥的信息",
            "gloss_en": "violence",
            "detectors": [{"label": "bank:3.1.10.3-4", "review_at": 0.5, "block_at": 0.5}],
        },
        {
            "id": "3.1.10.3(7)",
            "clause": "3.1.10.3",
            "text_zh": "侵害他人合法权益的信息",
            "gloss_en": "others' rights",
            "detectors": [{"label": "rights:3.1.10.3-7", "review_at": 0.5, "block_at": None}],
        },
    ],
}


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bank-evidence")
    films = {name: pan_clip(root / f"{name}.mp4", seed, seconds=12, size="320x180")
             for name, seed in (("film", 21), ("removed", 22))}  # fmt: skip
    copies = {f"{name} copy": copy_of(path, root / f"{name}-copy.mp4", "-b:v", "150k")
              for name, path in films.items()}  # fmt: skip
    return films | copies


@pytest.fixture
async def screened(
    services: Services,
    setup_dirs: tuple[Path, Path],
    tmp_path: Path,
    make_tenant: TenantFactory,
    clips: dict[str, Path],
) -> dict[str, int]:
    """The gateway screening with two banks: `studio-x`, a rights holder's with `film`,
    and `removed`, a prohibited one with `removed`. Their entry ids by bank."""
    models, _ = setup_dirs
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "prohibited-content.yaml").write_text(yaml.safe_dump(POLICY, allow_unicode=True))
    shutil.copy(PROJECT_ROOT / "policies" / "licences.yaml", policies / "licences.yaml")
    settings = services.settings.model_copy(update={"models_dir": models, "policies_dir": policies})
    services.screener = await asyncio.to_thread(build_screener, settings, None, services.engine)
    owner = await make_tenant()
    banks = build_bank_service(services)
    await banks.create("studio-x", BankKind.RIGHTS, "3.1.10.3(7)", owner.tenant_id)
    await banks.create("removed", BankKind.PROHIBITED, "3.1.10.3(4)")
    film, _ = await banks.add_file("studio-x", clips["film"], "operator:test")
    removed, _ = await banks.add_file("removed", clips["removed"], "operator:test")
    return {"studio-x": film.id, "removed": removed.id}


async def screen(services: Services, tenant: Tenant, clip: Path) -> str:
    upload_id = await received(services, tenant.tenant_id, clip)
    (worker,) = build_screening_workers(services)
    assert await worker.run_once()
    return upload_id


def bank_frames(decision: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for h in decision["hits"] for f in h["frames"] if f.get("detector") == "banks@pdq"]


@pytest.mark.parametrize(
    ("clip", "bank", "label", "state"),
    [
        ("film copy", "studio-x", "rights:3.1.10.3-7", UploadState.REVIEW),
        ("removed copy", "removed", "bank:3.1.10.3-4", UploadState.REJECTED),
    ],
)
async def test_the_uploader_sees_its_clause_and_times_but_not_the_bank_or_its_reference(
    services: Services,
    client: Client,
    tenant: Tenant,
    make_tenant: TenantFactory,
    screened: dict[str, int],
    clips: dict[str, Path],
    clip: str,
    bank: str,
    label: str,
    state: UploadState,
) -> None:
    upload_id = await screen(services, tenant, clips[clip])
    status, view = await get(client, f"/v1/uploads/{upload_id}", tenant)
    assert (status, view["state"]) == (200, state.value)
    decision = view["decision"]
    (hit,) = decision["hits"]
    assert (hit["label"], hit["clause"]) == (label, "3.1.10.3")
    frames = bank_frames(decision)
    assert frames
    for frame in frames:  # the matched range of the tenant's own video
        assert 0 <= frame["timestamp_s"] < frame["end_s"] <= 12.5
        assert not {"bank", "reference"} & set(frame)
    shown = str(view)
    assert bank not in shown
    assert f"entry {screened[bank]}" not in shown
    assert not [e for e in decision["evidence"] if e["reason"].startswith(REFERENCE)]
    assert any(e["reason"].startswith("bank match: upload at") for e in decision["evidence"])
    for evidence in decision["evidence"]:  # what the tenant is shown it can fetch
        assert (await client.get(evidence["url"], headers=tenant.auth)).status == 200

    # Reviewers keep all of it, and the reference picture cannot be had by its name.
    reviewer = await make_tenant(role=Role.REVIEWER)
    item = await services.review.reviews.for_upload(upload_id)
    if state == UploadState.REVIEW:
        _, review = await get(client, f"/v1/review/items/{item[0].id}", reviewer)
        full = review["decision"]
        assert {f["bank"] for f in bank_frames(full)} == {bank}
        assert all(f["reference"].startswith(f"entry {screened[bank]} ") for f in
                   bank_frames(full))  # fmt: skip
        (picture,) = [e for e in full["evidence"] if e["reason"].startswith(REFERENCE)]
        fetched = await client.get(picture["url"], headers=reviewer.auth)
        assert fetched.status == 200
    else:
        record = await services.views.decision(upload_id)
        assert record is not None
        (picture,) = [e for e in record.to_json()["evidence"] if e["reason"].startswith(REFERENCE)]
    response = await client.get(
        f"/v1/uploads/{upload_id}/evidence/{picture['file']}", headers=tenant.auth
    )
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "not_found"
