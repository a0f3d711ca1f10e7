"""The crash suite: `vodgate serve` killed at each crash point of the embedded default
(mid-PATCH and around each checkpoint, after staging and before the offset commit,
mid-screening, between the forward copy and the verify, mid-transcode and mid-release,
mid-webhook send, mid-review decision), restarted, and checked: no acknowledged byte lost,
nothing in the destination without an approval, no duplicate object, no orphan staged or
result file, every event delivered at least once.

`make test` runs a few points; `make faults` (VODGATE_FAULTS=all) runs every one and prints
the counts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.faults.harness import CRASH_POINTS, run_point

SHORT = (
    "ingest.admitted",
    "ingest.checkpoint_synced",
    "screening.before_commit",
    "forward.after_copy",
)
POINTS = CRASH_POINTS if os.environ.get("VODGATE_FAULTS") == "all" else SHORT


@pytest.mark.timeout(400)
@pytest.mark.parametrize("point", POINTS)
def test_a_crash_at_the_point_loses_nothing(point: str, tmp_path: Path) -> None:
    result = run_point(tmp_path, point)
    print(json.dumps(result))  # `make faults` shows these counts
    assert result["hit"], f"the workload never reached {point}"
    assert result["bytes_lost"] == 0
