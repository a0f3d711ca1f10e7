"""Whom the work in hand is for: the tenant of the request being served, so that what the
tenants share (the database connections) can be handed out fairly between them. Set once a
request is authenticated; copied into the tasks it starts. Not IO: a context variable."""

from __future__ import annotations

from contextvars import ContextVar

# The tenant id, or None for the gateway's own work (workers, sweeps, unauthenticated calls).
requester: ContextVar[str | None] = ContextVar("requester", default=None)
