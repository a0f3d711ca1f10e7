"""Crash points for the crash-recovery tests: `VODGATE_FAILPOINTS=forward.after_copy` makes
the process die (as from SIGKILL: no cleanup, no flush) when it reaches that point. Unset in
production; reading one environment variable is all it costs."""

from __future__ import annotations

import logging
import os

logger = logging.getLogger(__name__)
FAILPOINT_EXIT = 70


def failpoint(name: str) -> None:
    if name in os.environ.get("VODGATE_FAILPOINTS", "").split(","):
        logger.critical("failpoint.hit", extra={"failpoint": name})
        os._exit(FAILPOINT_EXIT)
