"""Checkpoints in a long PATCH body (durable, then recorded, while the body streams)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.runtime.settings import Settings
from gateway.runtime.wiring import Services
from tests.conftest import Tenant
from tests.helpers import PATCH_TYPE
from tests.integration.test_tus_protocol import Client, create, patch, server_offset, staged


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Every 256 KiB (the default is 64 MiB): a test body is long enough."""
    return Settings(
        data_dir=tmp_path / "var", expiry_sweep_interval_s=3600.0, checkpoint_bytes=256 * 1024
    )


async def test_a_long_patch_is_checkpointed_and_a_bad_tail_keeps_the_checkpoints(
    client: Client, tenant: Tenant, services: Services
) -> None:
    """Every `checkpoint_bytes` the bytes so far are synced and their offset recorded, while
    the body still streams. A body that then runs past Upload-Length loses only what came
    after the last checkpoint: the file and the recorded offset stay equal."""
    data = os.urandom(1024 * 1024)
    upload_id = await create(client, tenant, len(data))
    before = services.metrics.body_checkpoints._value.get()
    status, headers, _ = await patch(client, tenant, upload_id, 0, data)
    assert (status, headers["Upload-Offset"]) == (204, str(len(data)))
    assert services.metrics.body_checkpoints._value.get() - before >= 2
    assert staged(services, upload_id) == data

    short = await create(client, tenant, 600 * 1024)

    async def too_long() -> AsyncIterator[bytes]:  # chunked: no Content-Length to refuse early
        for _ in range(16):
            yield os.urandom(64 * 1024)

    resp = await client.patch(
        f"/files/{short}",
        headers={**tenant.auth, **PATCH_TYPE, "Upload-Offset": "0"},
        data=too_long(),
    )
    assert resp.status == 413
    offset = await server_offset(client, tenant, short)
    assert offset > 0  # the checkpoints before the overflow stand
    assert len(staged(services, short)) == offset
