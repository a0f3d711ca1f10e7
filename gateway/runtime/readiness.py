"""Readiness (/readyz): each dependency of a running gateway checked within a time limit,
and "ok" or why it is not, in operators' words (no secret in them)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import text

from gateway.domain.errors import GatewayError
from gateway.runtime.wiring import Services

# Seconds each readiness check may take before it counts as down.
READY_TIMEOUT_S = 3.0


async def readiness(services: Services) -> dict[str, str]:
    """Each dependency and "ok", or why it is not (operators' words; no secret in them)."""

    async def database() -> None:
        async with services.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    checks: dict[str, Callable[[], Awaitable[None]]] = {
        "database": database,
        "destination": services.objects.ready,
    }
    if services.quarantine is not None:
        checks["staging"] = services.quarantine.ready

    async def run(check: Callable[[], Awaitable[None]]) -> str:
        try:
            await asyncio.wait_for(check(), READY_TIMEOUT_S)
        except TimeoutError:
            return f"no answer within {READY_TIMEOUT_S:g} s"
        except GatewayError as exc:
            return f"{exc.code}: {exc.message}"
        except Exception as exc:
            return f"unreachable: {type(exc).__name__}"
        return "ok"

    results = await asyncio.gather(*(run(check) for check in checks.values()))
    return dict(zip(checks, results, strict=True))
