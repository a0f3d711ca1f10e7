"""The whole path through `vodgate serve` on Ceph RGW: upload with the SDK, screening,
forwarding, transcoding, release, webhooks. The gateway is killed (failpoints: the process
dies on the spot, as from SIGKILL) between copy and verify, and between verify and dropping
the staged copy, and after recording but before dropping it; after the restarts the bucket
holds exactly one correct object and the staged copy is gone."""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gateway.client import UploadClient
from gateway.services.failpoints import FAILPOINT_EXIT
from tests.conftest import LICENCE_NUMBER
from tests.e2e.conftest import Gateway, free_port, provision_tenant, vodgate
from tests.media import colour_clip
from tests.models import DARK
from tests.s3 import S3Server, new_bucket

META = {"licence_type": "avsp", "licence_number": LICENCE_NUMBER}


class Hooks:
    """A webhook receiver in a thread: records each event id it was sent."""

    def __init__(self) -> None:
        self.events: list[dict[str, object]] = []
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hooks.events.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def types_for(self, upload_id: str) -> list[str]:
        seen: dict[object, str] = {}
        for event in self.events:
            data = event["data"]
            if isinstance(data, dict) and data.get("upload_id") == upload_id:
                seen[event["id"]] = str(event["type"])  # at least once: dedupe by id
        return [seen[k] for k in sorted(seen, key=lambda k: int(str(k)))]


LOOPBACK = '["127.0.0.0/8"]'


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    receiver = Hooks()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def delivery_gateway(
    tmp_path: Path,
    s3_server: S3Server,
    setup_dirs: tuple[Path, Path],
    hooks: Hooks,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Gateway]:
    models, policies = setup_dirs
    data_dir = tmp_path / "var"
    created = provision_tenant(data_dir, "delivered-media")
    # The receiver listens on loopback: the operator's setting that allows it, for the CLI
    # that sets the URL and for the gateway that delivers.
    monkeypatch.setenv("VODGATE_WEBHOOK_ALLOWED_NETWORKS", LOOPBACK)
    vodgate("tenant", "webhook", "set", created["tenant_id"], "--url", hooks.url, data_dir=data_dir)
    bucket = new_bucket()
    env = {
        "VODGATE_SCREENING_WORKERS": "1",
        "VODGATE_MODELS_DIR": str(models),
        "VODGATE_POLICIES_DIR": str(policies),
        "VODGATE_JOB_LEASE_S": "3",  # a killed worker's job comes back quickly
        "VODGATE_WEBHOOK_ALLOWED_NETWORKS": LOOPBACK,
        "VODGATE_RENDITIONS": "[240]",
        **{
            k.upper(): str(v)
            for k, v in s3_server.settings_for(bucket).items()
            if k != "destination"
        },
        "VODGATE_DESTINATION": "s3",
    }
    env = {(k if k.startswith("VODGATE_") else f"VODGATE_{k}"): v for k, v in env.items()}
    gateway = Gateway(
        data_dir,
        free_port(),
        created["tenant_id"],
        created["api_key"],
        tmp_path / "gw.log",
        env=env,
    )
    gateway.start()
    yield gateway
    gateway.stop()
    log = gateway.log.read_text()
    assert "Traceback" not in log, log


def wait_for(gateway: Gateway, upload_id: str, state: str, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if gateway.status(upload_id)["state"] == state:
            return
        time.sleep(0.2)
    raise AssertionError(gateway.status(upload_id))


def crashes_at(gateway: Gateway, failpoint: str) -> None:
    gateway.stop()
    gateway.env["VODGATE_FAILPOINTS"] = failpoint
    # A job left from the last run may reach the failpoint before /healthz answers.
    gateway.start(may_exit_with=FAILPOINT_EXIT if failpoint else None)


def test_killed_between_copy_verify_and_drop_ends_with_one_correct_object(
    delivery_gateway: Gateway, s3_server: S3Server, hooks: Hooks, tmp_path: Path
) -> None:
    gateway = delivery_gateway
    bucket = gateway.env["VODGATE_S3_DESTINATION_BUCKET"]
    clip = colour_clip(tmp_path / "plain.mp4", 8, base=DARK, size="426x240")
    sha = hashlib.sha256(clip.read_bytes()).hexdigest()

    crashes_at(gateway, "forward.after_copy")
    upload_id = asyncio.run(UploadClient(gateway.url, gateway.api_key).upload(clip, META))
    assert gateway.process is not None
    assert gateway.process.wait(timeout=90) == FAILPOINT_EXIT  # died right after the copy
    staged = gateway.data_dir / "staging" / f"{upload_id}.bin"
    prefix = f"tenants/{gateway.tenant_id}/videos/{upload_id}/"
    assert staged.exists()
    assert s3_server.keys(bucket) == [prefix + "source.mp4"]

    crashes_at(gateway, "forward.after_verify")  # the job is re-run: verified, not recorded
    assert gateway.process.wait(timeout=90) == FAILPOINT_EXIT
    assert staged.exists()
    assert len(s3_server.keys(bucket)) == 1

    crashes_at(gateway, "forward.before_drop")  # stored and recorded, not yet dropped
    assert gateway.process.wait(timeout=90) == FAILPOINT_EXIT
    assert staged.exists()
    assert len(s3_server.keys(bucket)) == 1

    crashes_at(gateway, "")  # transcoding finds the staged copy and drops it
    wait_for(gateway, upload_id, "released")
    keys = s3_server.keys(bucket)
    assert keys == [prefix + "renditions/240p.mp4", prefix + "source.mp4"]
    body = s3_server.client().get_object(Bucket=bucket, Key=prefix + "source.mp4")["Body"]
    assert hashlib.sha256(body.read()).hexdigest() == sha
    assert not staged.exists()
    status = gateway.status(upload_id)
    trail = [(e["from"], e["to"]) for e in status["trail"]]  # type: ignore[union-attr]
    assert trail.count(("forwarding", "stored")) == 1
    deadline = time.monotonic() + 30
    expected = [
        "upload.received",
        "upload.decided",
        "upload.stored",
        "transcode.delivered",
        "transcode.released",
    ]
    while hooks.types_for(upload_id) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    assert hooks.types_for(upload_id) == expected
