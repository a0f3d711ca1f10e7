"""Stock tus clients against `vodgate serve`: tuspy (Python) and tus-js-client (Node)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from tusclient import client as tus_client

from tests.conftest import LICENCE_NUMBER
from tests.e2e.conftest import Gateway
from tests.helpers import upload_id_of

JS_DIR = Path(__file__).parent / "js"
META = {"licence_type": "avsp", "licence_number": LICENCE_NUMBER, "title": "测试视频"}


def test_tuspy_uploads_in_chunks_with_checksums(gateway: Gateway, random_file: Path) -> None:
    client = tus_client.TusClient(
        f"{gateway.url}/files/", headers={"Authorization": f"Bearer {gateway.api_key}"}
    )
    with random_file.open("rb") as stream:  # ours to close (tuspy leaves paths it opens open)
        uploader = client.uploader(
            file_stream=stream, chunk_size=1024 * 1024, metadata=META, upload_checksum=True
        )
        uploader.upload()
    upload_id = upload_id_of(uploader.url)
    assert gateway.staged(upload_id) == random_file.read_bytes()
    status = gateway.status(upload_id)
    assert status["state"] == "received"
    assert status["metadata"] == META


def test_tuspy_refused_upload_raises_with_the_licence_code(
    gateway: Gateway, random_file: Path
) -> None:
    from tusclient.exceptions import TusCommunicationError

    client = tus_client.TusClient(
        f"{gateway.url}/files/", headers={"Authorization": f"Bearer {gateway.api_key}"}
    )
    with random_file.open("rb") as stream, pytest.raises(TusCommunicationError) as info:
        client.uploader(file_stream=stream, metadata={"title": "no licence"}).upload()
    assert info.value.status_code == 403
    assert b"licence_missing" in info.value.response_content


@pytest.mark.skipif(shutil.which("node") is None, reason="node is installed by make test")
def test_tus_js_client_uploads(gateway: Gateway, random_file: Path) -> None:
    done = subprocess.run(
        [
            "node",
            str(JS_DIR / "upload.mjs"),
            gateway.url,
            gateway.api_key,
            str(random_file),
            json.dumps(META),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    upload_id = upload_id_of(result["url"])
    assert gateway.staged(upload_id) == random_file.read_bytes()
    assert result["progressEvents"] > 1
    assert gateway.status(upload_id)["state"] == "received"
