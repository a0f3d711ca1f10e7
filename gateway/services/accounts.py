"""Account standing after arrears (clause 7.3.3): what the billing side reports, what a
payment restores, and the upkeep loop that applies the timed moves (suspension 24 h after
the first arrears, termination 15 days later) and purges terminated tenants, on time even
when nobody calls."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from gateway.domain.events import OutboxEvent
from gateway.domain.ports.clock import Clock
from gateway.domain.ports.persistence import Accounts, UnitOfWork, Uploads
from gateway.domain.standing import GRACE, PURGE_AFTER, Account, Standing
from gateway.services.tenant_purge import TenantPurge

logger = logging.getLogger(__name__)
# Reads and writes of one arrears report, each after losing a race to another change.
REPORT_ATTEMPTS = 5


def account_json(account: Account, now: dt.datetime) -> dict[str, Any]:
    """The account as the terms make it now, with the instants its next moves count from."""
    current = account.at(now)
    suspends_at = terminates_at = None
    if current.standing == Standing.IN_ARREARS and current.arrears_since is not None:
        suspends_at = current.arrears_since + GRACE
    if current.standing == Standing.SUSPENDED and current.suspended_at is not None:
        terminates_at = current.suspended_at + PURGE_AFTER

    def iso(value: dt.datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    return {
        "standing": current.standing.value,
        "arrears_since": iso(current.arrears_since),
        "suspended_at": iso(current.suspended_at),
        "terminated_at": iso(current.terminated_at),
        "suspends_at": iso(suspends_at),
        "terminates_at": iso(terminates_at),
    }


class AccountService:
    def __init__(
        self,
        *,
        accounts: Accounts,
        uploads: Uploads,
        unit_of_work: UnitOfWork,
        purge: TenantPurge,
        clock: Clock,
        upload_expiry: dt.timedelta,
    ) -> None:
        self._accounts = accounts
        self._uploads = uploads
        self._upload_expiry = upload_expiry
        self._uow = unit_of_work
        self._purge = purge
        self._clock = clock

    async def standing(self, tenant_id: str) -> dict[str, Any]:
        account = await self._accounts.get(tenant_id)
        view = account_json(account, self._clock.now())
        receipt = await self._accounts.receipt(tenant_id)
        if receipt is not None:
            view["purge_receipt"] = receipt
        return view

    async def check_allows_service(self, tenant_id: str) -> None:
        """AccountSuspended / AccountTerminated unless the tenant is in good standing."""
        (await self._accounts.get(tenant_id)).check_allows_service(self._clock.now())

    async def report_arrears(self, tenant_id: str, since: dt.datetime) -> dict[str, Any]:
        """The billing side says the tenant has been in arrears since `since`."""
        # A concurrent change (another report, the upkeep) fails the compare-and-set: work
        # the report out again from what is stored, so an earlier start is never dropped.
        for _ in range(REPORT_ATTEMPTS):
            now = self._clock.now()
            before = await self._accounts.get(tenant_id)
            if await self._change(tenant_id, before, before.in_arrears(since, now), now):
                break
        return await self.standing(tenant_id)

    async def paid(self, tenant_id: str) -> dict[str, Any]:
        now = self._clock.now()
        before = await self._accounts.get(tenant_id)
        await self._change(tenant_id, before, before.paid(now), now)
        # Uploads stopped by the suspension resume: their deadlines start again from now.
        await self._uploads.extend_deadlines(tenant_id, now + self._upload_expiry)
        return await self.standing(tenant_id)

    async def upkeep(self) -> int:
        """Apply every due move and finish every purge; returns how many tenants moved."""
        moved = 0
        for tenant_id in await self._accounts.watched():
            now = self._clock.now()
            before = await self._accounts.get(tenant_id)
            after = before.at(now)
            if after != before:
                await self._change(tenant_id, before, after, now)
                moved += 1
            if after.standing == Standing.TERMINATED:
                receipt = await self._purge.purge(tenant_id)
                finished = self._clock.now()
                await self._accounts.purged(tenant_id, receipt, finished)
                await self._announce(tenant_id, "account.purged", receipt, finished)
        return moved

    async def _change(
        self, tenant_id: str, before: Account, after: Account, now: dt.datetime
    ) -> bool:
        """False when another change came first (nothing written)."""
        if after == before:
            return True
        if not await self._accounts.save(tenant_id, before, after):
            logger.info("account.changed_concurrently", extra={"tenant": tenant_id})
            return False
        if after.standing != before.standing:
            logger.info(
                "account.standing",
                extra={"tenant": tenant_id, "from": before.standing, "to": after.standing},
            )
            await self._announce(
                tenant_id, f"account.{after.standing.value}", account_json(after, now), now
            )
        return True

    async def _announce(
        self, tenant_id: str, kind: str, data: dict[str, Any], now: dt.datetime
    ) -> None:
        async with self._uow.begin() as tx:
            await tx.outbox.add([OutboxEvent(tenant_id, None, kind, data)], now)
