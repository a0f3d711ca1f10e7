"""Crash points for the crash-recovery tests: with `VODGATE_FAILPOINTS=forward.after_copy`
the process dies (as from SIGKILL: no cleanup, no flush) when it reaches that point.

The runtime arms them from Settings at start; unarmed (production), a failpoint is one set
lookup."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

logger = logging.getLogger(__name__)
FAILPOINT_EXIT = 70
_armed: frozenset[str] = frozenset()


def arm(names: Iterable[str]) -> None:
    global _armed
    _armed = frozenset(name for name in names if name)


def failpoint(name: str) -> None:
    if name in _armed:
        logger.critical("failpoint.hit", extra={"failpoint": name})
        os._exit(FAILPOINT_EXIT)
