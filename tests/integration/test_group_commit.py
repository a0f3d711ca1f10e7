"""New uploads created at once share a transaction, and each caller learns its own fate."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy.exc import IntegrityError

from gateway.runtime.wiring import Services
from tests.conftest import Tenant


async def create(services: Services, tenant_id: str, length: int = 0) -> str:
    """An upload recorded straight away (empty: complete at creation, with its job)."""
    upload_id = uuid.uuid4().hex
    now = services.clock.now()
    await services.uploads.create(
        upload_id=upload_id,
        tenant_id=tenant_id,
        length=length,
        metadata={},
        licence_id=None,
        now=now,
        expires_at=now,
        actor="test",
    )
    return upload_id


async def test_concurrent_creations_are_all_durable_with_their_trails(
    services: Services, tenant: Tenant
) -> None:
    ids = await asyncio.gather(*(create(services, tenant.tenant_id) for _ in range(100)))
    for upload_id in ids:
        record = await services.uploads.get(upload_id, tenant.tenant_id)
        assert record is not None
        assert record.state == "received"
        trail = await services.uploads.trail(upload_id)
        assert [e.to_state for e in trail] == ["receiving", "received"]


async def test_a_bad_row_fails_only_its_own_caller(services: Services, tenant: Tenant) -> None:
    good = [create(services, tenant.tenant_id) for _ in range(5)]
    bad = create(services, "no-such-tenant")  # the foreign key refuses it
    results = await asyncio.gather(*good, bad, return_exceptions=True)
    *good_ids, failure = results
    assert isinstance(failure, IntegrityError)
    for upload_id in good_ids:
        assert isinstance(upload_id, str)
        assert await services.uploads.get(upload_id, tenant.tenant_id) is not None


async def test_a_cancelled_caller_does_not_strand_the_others(
    services: Services, tenant: Tenant
) -> None:
    first = asyncio.create_task(create(services, tenant.tenant_id))
    others = [asyncio.create_task(create(services, tenant.tenant_id)) for _ in range(3)]
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    ids = await asyncio.gather(*others)
    assert len(set(ids)) == 3
