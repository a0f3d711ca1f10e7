"""The crash suite's harness: `vodgate serve` (with its in-process workers) as a child
process, armed to die (as from SIGKILL: os._exit, no cleanup) at one crash point, a mixed
workload driven until it dies, a restart, the workload finished, then every invariant
checked from the database and by listing every store."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gateway.runtime.settings import PROJECT_ROOT
from tests.conftest import LICENCE_NUMBER
from tests.e2e.conftest import free_port, production_env
from tests.helpers import checksum_header, creation_headers, upload_id_of
from tests.media import colour_clip
from tests.models import DARK, PINK, TEST_POLICY, build_colour_model

# Every crash point of the embedded default, in the order an upload meets them.
CRASH_POINTS = (
    "ingest.staging_created",
    "ingest.admitted",
    "ingest.created_not_answered",
    "ingest.checkpoint_synced",
    "ingest.checkpoint_recorded",
    "ingest.after_staged",
    "ingest.recorded_not_answered",
    "screening.started",
    "screening.before_commit",
    "screening.after_commit",
    "review.mid_decision",
    "review.decided_not_answered",
    "forward.after_copy",
    "forward.after_verify",
    "forward.before_drop",
    "transcode.before_render",
    "transcode.after_render",
    "transcode.after_copy",
    "transcode.before_delivered",
    "release.before_destroy",
    "release.after_destroy",
    "webhook.sent_not_recorded",
)
FAILPOINT_EXIT = 70
FINAL = {"released", "rejected", "failed"}


class Receiver:
    """The tenant's webhook endpoint: records every event id it is sent."""

    def __init__(self) -> None:
        self.ids: set[int] = set()
        received = self.ids

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.add(int(json.loads(body)["id"]))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class Upload:
    name: str
    data: bytes
    checksummed: bool = False
    by_token: bool = False  # created with a direct-upload token, as a browser would
    token: str | None = None
    id: str | None = None
    acknowledged: int = 0  # the highest offset the gateway answered 204 (or 201) with


@dataclass
class CrashRun:
    root: Path
    point: str
    env: dict[str, str] = field(default_factory=dict)
    uploads: list[Upload] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    port: int = 0
    died_at_point: bool = False

    @property
    def data_dir(self) -> Path:
        return self.root / "var"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- set-up --------------------------------------------------------------------------
    def prepare(self, receiver: Receiver, clips: dict[str, bytes]) -> None:
        models, policies = self.root / "models", self.root / "policies"
        build_colour_model(models)
        policies.mkdir(parents=True)
        shutil.copy(PROJECT_ROOT / "policies" / "licences.yaml", policies / "licences.yaml")
        (policies / "prohibited-content.yaml").write_text(yaml.safe_dump(TEST_POLICY))
        self.env = {
            **production_env(),
            "VODGATE_MODELS_DIR": str(models),
            "VODGATE_POLICIES_DIR": str(policies),
            "VODGATE_OCR": "false",
            "VODGATE_RENDITIONS": "[120]",
            "VODGATE_JOB_LEASE_S": "3",
            "VODGATE_REVIEW_LEASE_S": "5",
            "VODGATE_WEBHOOK_RETRY_BASE_S": "0.2",
            "VODGATE_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
            "VODGATE_WRITE_BATCH_BYTES": "32768",
            "VODGATE_CHECKPOINT_BYTES": "65536",
            "VODGATE_REGISTRY_CACHE_TTL_S": "0",
        }
        uploader = self._cli("tenant", "create", "crash-media")
        self._cli("licence", "add", "--tenant", uploader["tenant_id"], "--type", "avsp",
                  "--number", LICENCE_NUMBER, "--holder", "C", "--valid-until", "2099-12-31",
                  parse=False)  # fmt: skip
        reviewer = self._cli("tenant", "create", "crash-review", "--role", "reviewer")
        self._cli("tenant", "webhook", "set", uploader["tenant_id"], "--url", receiver.url)
        self.keys = {"uploader": uploader["api_key"], "reviewer": reviewer["api_key"]}
        # The review clip goes up with checksums (a body counted whole, recorded at its end)
        # and a direct-upload token (spent in the creation's own transaction).
        self.uploads = [
            Upload(name, data, checksummed=name == "review", by_token=name == "review")
            for name, data in clips.items()
        ]

    def _cli(self, *args: str, parse: bool = True) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", "gateway", "--log-level", "WARNING", *args,
             "--data-dir", str(self.data_dir)],
            capture_output=True, text=True, timeout=60, check=True, env=self.env,
        )  # fmt: skip
        return json.loads(done.stdout) if parse else None

    # -- the gateway ---------------------------------------------------------------------
    def start(self, armed: bool) -> None:
        self.port = free_port()
        env = {**self.env, "VODGATE_FAILPOINTS": self.point if armed else ""}
        with (self.root / f"serve-{'armed' if armed else 'after'}.log").open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve", "--port", str(self.port),
                 "--data-dir", str(self.data_dir)],
                stdout=log, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return  # died at start (a crash point on the way up)
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the gateway did not start")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)

    # -- the workload (every step idempotent: it is run again after the restart) ---------
    def _request(
        self, method: str, path: str, key: str, data: bytes | None = None, **headers: str
    ) -> tuple[int, dict[str, str], bytes]:
        """`key`: "uploader", "reviewer", or an upload token."""
        credential = self.keys.get(key, key)
        request = urllib.request.Request(
            f"{self.url}{path}",
            method=method,
            data=data,
            headers={"Authorization": f"Bearer {credential}", "Tus-Resumable": "1.0.0",
                     **headers},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def step(self) -> bool:
        """Move the workload on; True once everything is final and every event sent."""
        for upload in self.uploads:
            caller = self._caller(upload)
            if caller is None:
                return False
            if upload.id is None:
                status, headers, body = self._request(
                    "POST", "/files/", caller, **creation_headers(len(upload.data))
                )
                if status == 403 and b"token_used" in body:
                    # Spent by a creation whose answer was lost: the backend mints another
                    # (that upload, never acknowledged, expires at its deadline).
                    upload.token = None
                if status != 201:
                    return False
                upload.id = upload_id_of(headers["Location"])
            status, headers, _ = self._request("HEAD", f"/files/{upload.id}", caller)
            if status != 200:
                return False
            offset = int(headers["Upload-Offset"])
            assert offset >= upload.acknowledged, (upload.name, offset, upload.acknowledged)
            if offset < len(upload.data):
                end = min(len(upload.data), offset + len(upload.data) // 2 + 1)
                chunk = upload.data[offset:end]
                extra = {"Content-Type": "application/offset+octet-stream",
                         "Upload-Offset": str(offset)}  # fmt: skip
                if upload.checksummed:  # counted whole: recorded at its end, no checkpoint
                    extra["Upload-Checksum"] = checksum_header("sha256", chunk)
                status, headers, _ = self._request(
                    "PATCH", f"/files/{upload.id}", caller, chunk, **extra
                )
                if status == 204:
                    upload.acknowledged = int(headers["Upload-Offset"])
                return False
        self._decide_reviews()
        states = self.states()
        mine = {states[u.id] for u in self.uploads if u.id is not None}
        return mine <= FINAL and self.undelivered_events() == 0

    def _caller(self, upload: Upload) -> str | None:
        """The credential the upload goes up with (a token is minted by the customer's
        backend, with the tenant's key, when it has none)."""
        if not upload.by_token:
            return "uploader"
        if upload.token is None:
            body = json.dumps({"max_size": len(upload.data)}).encode()
            status, _, answer = self._request("POST", "/v1/upload-tokens", "uploader", body,
                                              **{"Content-Type": "application/json"})  # fmt: skip
            if status != 201:
                return None
            upload.token = json.loads(answer)["token"]
        return upload.token

    def _decide_reviews(self) -> None:
        status, _, body = self._request("GET", "/v1/review/queue", "reviewer")
        if status != 200:
            return
        for item in json.loads(body)["items"]:
            path = f"/v1/review/items/{item['id']}"
            claimed, _, _ = self._request("POST", f"{path}/claim", "reviewer")
            if claimed == 200:
                decision = json.dumps({"decision": "approve", "clauses": [], "reason": "ok"})
                self._request("POST", f"{path}/decision", "reviewer", decision.encode(),
                              **{"Content-Type": "application/json"})  # fmt: skip

    def drive(self, seconds: float) -> bool:
        """Step until done, the gateway dies, or time runs out; True when done."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.alive():
            try:
                if self.step():
                    return True
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
                continue
            time.sleep(0.05)
        return False

    # -- what the database and the stores say ---------------------------------------------
    def _db(self, query: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.data_dir / "vodgate.db") as db:
            return db.execute(query).fetchall()

    def states(self) -> dict[str, str]:
        return dict(self._db("SELECT id, state FROM uploads"))  # type: ignore[arg-type]

    def undelivered_events(self) -> int:
        return int(self._db(
            "SELECT count(*) FROM outbox WHERE tenant_id IN (SELECT tenant_id FROM webhooks) "
            "AND delivered_at IS NULL"
        )[0][0])  # fmt: skip

    def check(self, receiver: Receiver) -> dict[str, int]:
        """Every invariant; returns the counts."""
        states = self.states()
        approved = {
            upload_id
            for (upload_id,) in self._db(
                "SELECT DISTINCT upload_id FROM upload_events WHERE to_state = 'approved'"
            )
        }
        objects = self.data_dir / "objects"
        files = [p for p in objects.rglob("*") if p.is_file()] if objects.exists() else []
        owners = [p.relative_to(objects).parts[3] for p in files]  # tenants/T/videos/U/...
        # Nothing in the destination without an approval, one source per upload.
        assert set(owners) <= approved, set(owners) - approved
        sources = [p for p in files if p.name.startswith("source.")]
        assert len(sources) == len({p.parent for p in sources})
        # A creation whose answer was lost (killed after its commit) left an empty upload the
        # client never heard of: still receiving, it expires at its deadline.
        strays = set(states) - {u.id for u in self.uploads}
        assert {states[s] for s in strays} <= {"receiving"}, strays
        lost = 0
        for upload in self.uploads:
            assert upload.id is not None
            if states[upload.id] in ("released", "delivered"):
                (source,) = [p for p in sources if p.parent.name == upload.id]
                stored = hashlib.sha256(source.read_bytes()).hexdigest()
                lost += stored != hashlib.sha256(upload.data).hexdigest()
        # No orphans: nothing staged once every upload is final, no transcode results kept.
        staged = [p.stem for p in (self.data_dir / "staging").glob("*.bin")]
        leftovers = [p for p in (self.data_dir / "results").rglob("*") if p.is_file()]
        assert set(staged) <= strays, staged
        assert leftovers == [], leftovers
        # Every event delivered at least once.
        sent = {row[0] for row in self._db(
            "SELECT id FROM outbox WHERE tenant_id IN (SELECT tenant_id FROM webhooks)"
        )}  # fmt: skip
        assert sent <= receiver.ids, sorted(sent - receiver.ids)
        return {"uploads": len(self.uploads), "bytes_lost": lost, "events": len(sent),
                "objects": len(files)}  # fmt: skip


def clips(root: Path) -> dict[str, bytes]:
    """A pass clip and a review clip, each padded (a `free` box) so a PATCH spans several
    write batches and checkpoints."""
    made = {
        "pass": colour_clip(root / "pass.mp4", 3, base=DARK),
        "review": colour_clip(root / "review.mp4", 4, base=DARK, segments=((1, 2, PINK),)),
    }
    padded = {}
    for name, path in made.items():
        padding = os.urandom(300_000)
        padded[name] = path.read_bytes() + (len(padding) + 8).to_bytes(4, "big") + b"free" + padding
    return padded


def run_point(root: Path, point: str) -> dict[str, Any]:
    """One crash point: armed until it fires, restarted, finished, checked."""
    receiver = Receiver()
    run = CrashRun(root, point)
    try:
        run.prepare(receiver, clips(root))
        run.start(armed=True)
        finished_armed = run.drive(90)
        assert run.process is not None
        if run.alive():
            run.stop()
        died = run.process.returncode == FAILPOINT_EXIT
        assert died or finished_armed, f"{point}: neither hit nor finished"
        run.start(armed=False)
        assert run.drive(150), f"{point}: the workload did not finish after the restart"
        counts = run.check(receiver)
        run.stop()
        return {"point": point, "hit": died, **counts}
    finally:
        if run.alive():
            run.stop()
        receiver.close()
