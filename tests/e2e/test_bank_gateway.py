"""From review to bank through `vodgate serve`: a reviewer rejects a video and adds it to a
prohibited bank in the same decision; a re-encoded copy uploaded later by another tenant is
blocked by the bank, with no review item. Real ffmpeg, PDQ, faiss, SQLite."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from gateway.client import UploadClient
from gateway.runtime.settings import PROJECT_ROOT
from tests.bank_media import copy_of, pan_clip
from tests.e2e.conftest import Gateway, free_port, provision_tenant, vodgate
from tests.e2e.test_screening_gateway import META, wait_settled
from tests.models import TEST_POLICY, build_colour_model


def call(gateway: Gateway, method: str, path: str, key: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        f"{gateway.url}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as resp:
        return json.loads(resp.read())


def test_a_rejected_video_added_to_a_bank_blocks_its_copies(tmp_path: Path) -> None:
    models, policies = tmp_path / "models", tmp_path / "policies"
    build_colour_model(models)
    (policies / "keywords").mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "policies" / "licences.yaml", policies / "licences.yaml")
    (policies / "keywords" / "watch.txt").write_text("违禁样片\n", encoding="utf-8")
    policy = json.loads(json.dumps(TEST_POLICY))
    policy["items"][0]["detectors"] += [
        {"label": "metadata:watch", "review_at": 0.5, "block_at": None},
        {"label": "bank:3.1.10.3-3", "review_at": 0.5, "block_at": 0.5},
    ]
    (policies / "prohibited-content.yaml").write_text(yaml.safe_dump(policy, allow_unicode=True))
    data_dir = tmp_path / "var"
    uploader = provision_tenant(data_dir, "first-media")
    other = provision_tenant(data_dir, "second-media")
    reviewer = json.loads(
        vodgate("tenant", "create", "moderators", "--role", "reviewer", data_dir=data_dir)
    )
    vodgate("bank", "create", "removed", "--kind", "prohibited", "--clause", "3.1.10.3(3)",
            data_dir=data_dir)  # fmt: skip
    gateway = Gateway(
        data_dir, free_port(), uploader["tenant_id"], uploader["api_key"], tmp_path / "gw.log",
        env={"VODGATE_SCREENING_WORKERS": "1", "VODGATE_DELIVERY_WORKERS": "0",
             "VODGATE_MODELS_DIR": str(models), "VODGATE_POLICIES_DIR": str(policies)},
    )  # fmt: skip
    clip = pan_clip(tmp_path / "clip.mp4", seed=7, seconds=20)
    copy = copy_of(clip, tmp_path / "copy.mp4", "-vf", "scale=-2:270", "-b:v", "300k")
    gateway.start()
    try:
        first = asyncio.run(
            UploadClient(gateway.url, gateway.api_key).upload(clip, {**META, "title": "违禁样片"})
        )
        assert wait_settled(gateway, first)["state"] == "review"
        key = reviewer["api_key"]
        assert call(gateway, "GET", "/v1/review/banks", key)["banks"] == [
            {"name": "removed", "clause": "3.1.10.3(3)"}
        ]
        (item,) = call(gateway, "GET", "/v1/review/queue", key)["items"]
        call(gateway, "POST", f"/v1/review/items/{item['id']}/claim", key)
        decided = call(
            gateway, "POST", f"/v1/review/items/{item['id']}/decision", key,
            {"decision": "reject", "clauses": ["3.1.10.3(3)"], "reason": "known video",
             "add_to_bank": "removed"},
        )  # fmt: skip
        assert decided["outcome"] == "rejected"
        assert decided["bank_entry"]["bank"] == "removed"
        assert decided["bank_entry"]["frames"] >= 15

        time.sleep(5.5)  # the index notices the bank's new version within 5 s
        second = asyncio.run(UploadClient(gateway.url, other["api_key"]).upload(copy, META))
        as_other = dataclasses.replace(gateway, api_key=other["api_key"], process=None)
        status = wait_settled(as_other, second)
        assert status["state"] == "rejected"
        decision = status["decision"]
        assert isinstance(decision, dict)
        assert [h["label"] for h in decision["hits"]] == ["bank:3.1.10.3-3"]
        assert call(gateway, "GET", "/v1/review/queue", key)["items"] == []
    finally:
        gateway.stop()
    entries = json.loads(vodgate("bank", "list", "removed", data_dir=data_dir))
    assert [e["upload_id"] for e in entries] == [first]


def call_status(gateway: Gateway, method: str, path: str, key: str, body: Any = None,
                text: str | None = None) -> tuple[int, Any]:  # fmt: skip
    data = (
        text.encode() if text is not None else None if body is None else json.dumps(body).encode()
    )
    request = urllib.request.Request(
        f"{gateway.url}{path}", method=method, data=data,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            raw = resp.read()
            kind = resp.headers["Content-Type"] or ""
            return resp.status, json.loads(raw) if "json" in kind else raw.decode()
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())["error"]


def test_the_admin_api_manages_banks(gateway: Gateway, tmp_path: Path) -> None:
    admin = json.loads(vodgate("tenant", "create", "ops", "--role", "admin",
                               data_dir=gateway.data_dir))["api_key"]  # fmt: skip
    assert call_status(gateway, "GET", "/v1/admin/banks", gateway.api_key)[0] == 403
    spec = {"name": "known", "kind": "prohibited", "clause": "3.1.10.3(4)"}
    assert call_status(gateway, "POST", "/v1/admin/banks", admin, spec)[0] == 201
    assert call_status(gateway, "POST", "/v1/admin/banks", admin, spec)[1]["code"] == "bank_exists"
    owned = {"name": "film", "kind": "rights", "clause": "3.1.10.3(7)", "owner": "f" * 32}
    assert call_status(gateway, "POST", "/v1/admin/banks", admin, owned)[1]["code"] == (
        "tenant_not_found"
    )
    bad = call_status(gateway, "POST", "/v1/admin/banks/known/import", admin,
                      text="entry x\n" + "g" * 64 + ",100,0\n")  # fmt: skip
    assert bad[0] == 400
    assert bad[1]["code"] == "bank_input_invalid"
    assert "line 2" in bad[1]["message"]
    lines = "entry imported\n" + "".join(f"{n:064x},100,{n}.0\n" for n in range(1, 4))
    status, body = call_status(gateway, "POST", "/v1/admin/banks/known/import", admin,
                               text=lines)  # fmt: skip
    assert status == 201
    (entry,) = body["entries"]
    assert entry["added_by"].startswith("admin:")
    status, exported = call_status(gateway, "GET", "/v1/admin/banks/known/export", admin)
    assert exported.splitlines()[1:] == lines.splitlines()[:1] + [
        f"{n:064x},100,{n}.000" for n in range(1, 4)
    ]
    clip = pan_clip(tmp_path / "clip.mp4", seed=3, seconds=8, size="320x180")
    upload_id = asyncio.run(UploadClient(gateway.url, gateway.api_key).upload(clip, META))
    status, added = call_status(gateway, "POST", "/v1/admin/banks/known/entries", admin,
                                {"upload_id": upload_id})  # fmt: skip
    assert (status, added["upload_id"], added["frames"] >= 7) == (201, upload_id, True)
    listed = call_status(gateway, "GET", "/v1/admin/banks/known/entries", admin)[1]["entries"]
    assert [e["entry"] for e in listed] == [entry["entry"], added["entry"]]
    path = f"/v1/admin/banks/known/entries/{entry['entry']}"
    assert call_status(gateway, "DELETE", path, admin) == (200, {"removed": entry["entry"]})
    assert call_status(gateway, "DELETE", path, admin)[1]["code"] == "bank_entry_not_found"
    banks = call_status(gateway, "GET", "/v1/admin/banks", admin)[1]["banks"]
    assert [(b["name"], b["entries"], b["version"]) for b in banks] == [("known", 1, 3)]
