"""Screening through `vodgate serve`: upload with the SDK, the in-process worker decides,
`GET /v1/uploads/{id}` shows the verdict with its evidence. Real ffmpeg, real onnxruntime."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from gateway.client import UploadClient
from gateway.runtime.settings import PROJECT_ROOT
from tests.conftest import LICENCE_NUMBER
from tests.e2e.conftest import Gateway, free_port, provision_tenant
from tests.media import colour_clip
from tests.models import DARK, PINK, RED, TEST_POLICY, build_colour_model

META = {"licence_type": "avsp", "licence_number": LICENCE_NUMBER}
SETTLED = {"approved", "review", "rejected", "failed"}


@pytest.fixture
def screening_gateway(tmp_path: Path) -> Iterator[Gateway]:
    models = tmp_path / "models"
    build_colour_model(models)
    policies = tmp_path / "policies"
    policies.mkdir()
    shutil.copy(PROJECT_ROOT / "policies" / "licences.yaml", policies / "licences.yaml")
    (policies / "prohibited-content.yaml").write_text(yaml.safe_dump(TEST_POLICY))
    data_dir = tmp_path / "var"
    created = provision_tenant(data_dir, "screen-media")
    gateway = Gateway(
        data_dir,
        free_port(),
        created["tenant_id"],
        created["api_key"],
        tmp_path / "gateway.log",
        env={
            "VODGATE_SCREENING_WORKERS": "1",
            "VODGATE_DELIVERY_WORKERS": "0",  # approved uploads stay approved here
            "VODGATE_MODELS_DIR": str(models),
            "VODGATE_POLICIES_DIR": str(policies),
        },
    )
    gateway.start()
    yield gateway
    gateway.stop()
    assert "Traceback" not in gateway.log.read_text(), gateway.log.read_text()


def test_a_duplicate_takes_the_earlier_verdict_until_the_policy_changes(
    screening_gateway: Gateway, tmp_path: Path
) -> None:
    clip = colour_clip(tmp_path / "pink.mp4", 20, base=DARK, segments=((6, 6, PINK),))
    client = UploadClient(screening_gateway.url, screening_gateway.api_key)
    first = wait_settled(screening_gateway, asyncio.run(client.upload(clip, META)))
    second = wait_settled(screening_gateway, asyncio.run(client.upload(clip, META)))
    assert first["state"] == second["state"] == "review"
    earlier, reused = first["decision"], second["decision"]
    assert isinstance(earlier, dict)
    assert isinstance(reused, dict)
    assert earlier.get("reused_from") is None
    assert reused["reused_from"] == f"sha256:{earlier['content_sha256']}"
    assert (reused["hits"], reused["clauses"]) == (earlier["hits"], earlier["clauses"])
    assert reused["evidence"] == []
    assert reused["stage_seconds"] == {}  # no probe, no frame read
    log = screening_gateway.log.read_text()
    assert log.count('"screening.reused"') == 1
    assert log.count('"screening.decided"') == 1

    # A new policy version: the same bytes are screened again.
    screening_gateway.stop()
    policies = Path(screening_gateway.env["VODGATE_POLICIES_DIR"])
    policy = {**TEST_POLICY, "version": TEST_POLICY["version"] + 1}  # type: ignore[operator]
    (policies / "prohibited-content.yaml").write_text(yaml.safe_dump(policy))
    screening_gateway.start()
    third = wait_settled(screening_gateway, asyncio.run(client.upload(clip, META)))
    decision = third["decision"]
    assert isinstance(decision, dict)
    assert decision.get("reused_from") is None
    assert decision["policy"]["version"] == TEST_POLICY["version"] + 1  # type: ignore[operator]
    assert screening_gateway.log.read_text().count('"screening.decided"') == 2


def wait_settled(gateway: Gateway, upload_id: str, timeout_s: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = gateway.status(upload_id)
        if status["state"] in SETTLED:
            return status
        time.sleep(0.2)
    raise AssertionError(f"not decided: {gateway.status(upload_id)}")


def test_every_verdict_through_the_gateway(screening_gateway: Gateway, tmp_path: Path) -> None:
    clips = {
        "approved": colour_clip(tmp_path / "plain.mp4", 30, base=DARK),
        "rejected": colour_clip(tmp_path / "red.mp4", 30, base=DARK, segments=((17, 6, RED),)),
        "review": colour_clip(tmp_path / "pink.mp4", 30, base=DARK, segments=((17, 6, PINK),)),
    }
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(os.urandom(50_000))
    client = UploadClient(screening_gateway.url, screening_gateway.api_key)
    ids = {name: asyncio.run(client.upload(path, META)) for name, path in clips.items()}
    ids["failed"] = asyncio.run(client.upload(garbage, META))
    for expected, upload_id in ids.items():
        status = wait_settled(screening_gateway, upload_id)
        assert status["state"] == expected, status
        trail = [(e["from"], e["to"]) for e in status["trail"]]  # type: ignore[union-attr]
        assert ("received", "screening") in trail
        assert ("screening", expected) in trail
    rejected = screening_gateway.status(ids["rejected"])["decision"]
    assert rejected["verdict"] == "block"  # type: ignore[index]
    assert rejected["clauses"] == ["3.1.10.3(3)"]  # type: ignore[index]
    evidence = rejected["evidence"]  # type: ignore[index]
    assert evidence
    saved = screening_gateway.data_dir / "evidence" / ids["rejected"] / evidence[0]["file"]
    assert saved.read_bytes().startswith(b"\xff\xd8")
    assert_evidence_served(screening_gateway, ids["rejected"], evidence[0])
    failed = screening_gateway.status(ids["failed"])
    assert failed["error_code"] == "media_invalid"
    assert screening_gateway.status(ids["approved"])["decision"]["verdict"] == "pass"  # type: ignore[index]


def assert_evidence_served(gateway: Gateway, upload_id: str, item: dict[str, object]) -> None:
    """The thumbnail route serves listed frames to the owner, and nothing else to anyone."""
    saved = gateway.data_dir / "evidence" / upload_id / str(item["file"])
    status, content_type, body = gateway.fetch(str(item["url"]))
    assert (status, content_type, body) == (200, "image/jpeg", saved.read_bytes())
    base = f"/v1/uploads/{upload_id}/evidence"
    for name in ("99-0000.000.jpg", "..%2F..%2Fvodgate.db", "%2E%2E"):
        status, content_type, body = gateway.fetch(f"{base}/{name}")
        assert (status, content_type) == (404, "application/json; charset=utf-8"), name
    other = provision_tenant(gateway.data_dir, "someone-else")
    status, _, body = gateway.fetch(str(item["url"]), api_key=other["api_key"])
    assert status == 404
    assert gateway.fetch(str(item["url"]), api_key="vg_nope.nope")[0] == 401


def test_killed_mid_screening_resumes_with_the_same_verdict(
    screening_gateway: Gateway, tmp_path: Path
) -> None:
    # A short lease (kept alive by the heartbeat) so a restarted worker takes the job back.
    screening_gateway.stop()
    screening_gateway.env["VODGATE_JOB_LEASE_S"] = "2"
    screening_gateway.start()
    clip = colour_clip(tmp_path / "long.mp4", 240, base=DARK, segments=((200, 8, RED),))
    client = UploadClient(screening_gateway.url, screening_gateway.api_key)
    upload_id = asyncio.run(client.upload(clip, META))
    deadline = time.monotonic() + 30
    while screening_gateway.status(upload_id)["state"] != "screening":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    screening_gateway.stop(9)  # SIGKILL mid-screening
    screening_gateway.start()
    status = wait_settled(screening_gateway, upload_id, timeout_s=90)
    assert status["state"] == "rejected"
    assert status["decision"]["clauses"] == ["3.1.10.3(3)"]  # type: ignore[index]
