"""Pipeline jobs: the stages, how often each is tried, and the backoff between tries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

SCREENING, FORWARD, TRANSCODE = "screening", "forward", "transcode"
# staging = s3: the node that received the bytes hands them to the quarantine bucket.
QUARANTINE = "quarantine"
# Delivery may wait out an object-store outage (backoff capped at 5 min): more attempts.
MAX_ATTEMPTS = {SCREENING: 3, FORWARD: 10, TRANSCODE: 10, QUARANTINE: 10}


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    upload_id: str
    stage: str
    attempts: int
    max_attempts: int

    @property
    def last_attempt(self) -> bool:
        return self.attempts >= self.max_attempts


@dataclass(frozen=True, slots=True)
class FirstJob:
    """The job a completed upload commits with: screening, or (S3 staging) the hand-off to
    the quarantine bucket, which only the receiving node can run."""

    stage: str = SCREENING
    node: str | None = None


def retry_delay(attempts: int, base_s: float = 5.0, cap_s: float = 300.0) -> dt.timedelta:
    """Exponential backoff after the n-th failed attempt."""
    return dt.timedelta(seconds=min(cap_s, base_s * 2 ** max(0, attempts - 1)))
