"""A connection pool that hands connections out fairly between tenants.

SQLAlchemy's async pool queues waiters first come, first served. SQLite has one connection:
a tenant with sixteen requests in flight keeps sixteen waiters in that queue, and another
tenant's every statement waits behind all of them (a flood of small PATCHes made a quiet
tenant's upload seven times slower). Here a freed connection goes to the waiter whose tenant
(`domain.requester`, set when a request is authenticated) was served least recently, first
come, first served within a tenant: another tenant's statement waits for at most one of the
busy tenant's."""

from __future__ import annotations

import asyncio
import collections
import itertools
from typing import Any

from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.util.queue import AsyncAdaptedQueue

from gateway.domain.requester import requester


class _FairWaiters(collections.deque[asyncio.Future[None]]):
    """asyncio.Queue's waiting getters: appended in the waiter's own task (so its tenant is
    known), taken by `popleft` in fair order rather than arrival order."""

    def __init__(self) -> None:
        super().__init__()
        self._tenant_of: dict[asyncio.Future[None], str | None] = {}
        self._served: dict[str | None, int] = {}
        self._turns = itertools.count()

    def append(self, waiter: asyncio.Future[None]) -> None:
        self._tenant_of[waiter] = requester.get()
        super().append(waiter)

    def remove(self, waiter: asyncio.Future[None]) -> None:
        super().remove(waiter)
        self._tenant_of.pop(waiter, None)

    def popleft(self) -> asyncio.Future[None]:
        # The oldest waiter of the tenant served least recently (never served: first).
        chosen = min(
            range(len(self)),
            key=lambda i: (self._served.get(self._tenant_of.get(self[i]), -1), i),
        )
        waiter = self[chosen]
        del self[chosen]
        tenant = self._tenant_of.pop(waiter, None)
        self._served[tenant] = next(self._turns)
        if len(self._served) > 10_000:  # bounded: forget who was served long ago
            self._served = dict(sorted(self._served.items(), key=lambda kv: kv[1])[-1000:])
        return waiter


class _FairQueue(asyncio.Queue[Any]):
    def _init(self, maxsize: int) -> None:
        super()._init(maxsize)
        self._getters = _FairWaiters()


class _FairAdaptedQueue(AsyncAdaptedQueue[Any]):
    @property
    def _queue(self) -> asyncio.Queue[Any]:
        # Made at first use, as SQLAlchemy's own is: bound to the running loop then.
        queue: asyncio.Queue[Any] | None = self.__dict__.get("_fair_queue")
        if queue is None:
            queue = self.__dict__["_fair_queue"] = _FairQueue(maxsize=self.maxsize)
        return queue


class FairAsyncPool(AsyncAdaptedQueuePool):
    _queue_class = _FairAdaptedQueue
