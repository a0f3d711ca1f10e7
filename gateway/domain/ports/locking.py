"""The Locker port: one writer per upload.

In-process today (a set of held keys); across instances a PostgreSQL advisory lock or a
lease row implements the same Protocol."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol


class Locker(Protocol):
    def hold(self, tenant_id: str, upload_id: str) -> AbstractAsyncContextManager[None]:
        """Held for the block; raises Locked at once (never queues) when another holds it."""
        ...
