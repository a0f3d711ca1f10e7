"""Purging a terminated tenant (clause 7.3.3.2): every byte of its, in every store, with a
receipt of what went. The access log and the audit trail stay (clause 3.1.8).

Idempotent: a purge interrupted by a crash is run again from the start by the upkeep loop;
what the first run deleted is simply no longer found (the receipt counts the last run)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.domain.object_keys import tenant_prefix
from gateway.domain.ports.banks import BankStore
from gateway.domain.ports.clock import Clock
from gateway.domain.ports.persistence import UnitOfWork, Uploads
from gateway.domain.ports.storage import ObjectStore, StagedCopies, StagingStore
from gateway.domain.states import ALLOWED_TRANSITIONS, UploadState
from gateway.services.transitions import move

logger = logging.getLogger(__name__)
ACTOR = "account-purge"
# Keys listed one by one in a receipt; beyond this only counted.
RECEIPT_KEYS = 10_000


@dataclass
class PurgeReceipt:
    tenant_id: str
    started_at: dt.datetime
    uploads: int = 0
    staged_uploads_deleted: int = 0
    destination_objects: int = 0
    destination_bytes: int = 0
    keys: list[str] = field(default_factory=list)
    evidence_folders: int = 0
    result_folders: int = 0
    bank_entries: int = 0

    def as_json(self, finished_at: dt.datetime) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "started_at": self.started_at.isoformat(),
            "finished_at": finished_at.isoformat(),
            "uploads": self.uploads,
            "staged_uploads_deleted": self.staged_uploads_deleted,
            "destination_objects": self.destination_objects,
            "destination_bytes": self.destination_bytes,
            "keys": self.keys[:RECEIPT_KEYS],
            "evidence_folders": self.evidence_folders,
            "result_folders": self.result_folders,
            "bank_entries": self.bank_entries,
        }


class TenantPurge:
    def __init__(
        self,
        *,
        uploads: Uploads,
        unit_of_work: UnitOfWork,
        staging: StagingStore,
        staged: StagedCopies,
        destination: ObjectStore,
        banks: BankStore | None,
        evidence_dir: Path,
        results_dir: Path,
        clock: Clock,
    ) -> None:
        self._uploads = uploads
        self._uow = unit_of_work
        self._staging = staging
        self._staged = staged
        self._destination = destination
        self._banks = banks
        self._evidence_dir = evidence_dir
        self._results_dir = results_dir
        self._clock = clock

    async def purge(self, tenant_id: str) -> dict[str, Any]:
        receipt = PurgeReceipt(tenant_id, self._clock.now())
        for upload_id, state in await self._uploads.states_of_tenant(tenant_id):
            receipt.uploads += 1
            if UploadState.PURGED in ALLOWED_TRANSITIONS[state]:
                async with self._uow.begin() as tx:
                    await move(tx, upload_id, state, UploadState.PURGED, self._clock.now(), ACTOR)
            if state not in (UploadState.EXPIRED, UploadState.TERMINATED):
                await self._staging.delete(upload_id)
                await self._staged.drop(upload_id)
                receipt.staged_uploads_deleted += 1
            receipt.evidence_folders += await _remove(self._evidence_dir / upload_id)
            receipt.result_folders += await _remove(self._results_dir / upload_id)
        for key in await self._destination.list_keys(tenant_prefix(tenant_id)):
            found = await self._destination.head(key)
            await self._destination.delete(key)
            receipt.destination_objects += 1
            receipt.destination_bytes += 0 if found is None else found.size
            receipt.keys.append(key)
        receipt.bank_entries = await self._remove_bank_entries(tenant_id)
        finished = receipt.as_json(self._clock.now())
        logger.info(
            "account.purged",
            extra={k: v for k, v in finished.items() if k not in ("keys", "tenant_id")}
            | {"purged_tenant": tenant_id},
        )
        return finished

    async def _remove_bank_entries(self, tenant_id: str) -> int:
        """Entries of the banks the tenant owns (rights holders' references)."""
        if self._banks is None:
            return 0
        removed = 0
        for bank, _ in await self._banks.banks():
            if bank.owner_tenant != tenant_id:
                continue
            for entry in await self._banks.entries(bank.name):
                await self._banks.remove_entry(bank.name, entry.id, ACTOR, self._clock.now())
                removed += 1
        return removed


async def _remove(folder: Path) -> int:
    """1 when the folder existed and is gone now."""
    if not await asyncio.to_thread(folder.exists):
        return 0
    await asyncio.to_thread(shutil.rmtree, folder, ignore_errors=True)
    return 1
