"""Fair use (clause 3.1.3.6): no tenant may hog shared resources. Each tenant's limits
(defaults from settings, overrides per tenant), what it has used, and the rule that admits a
creation or a PATCH, or refuses it with the limit, the usage and when to try again."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, fields, replace

from gateway.domain.errors import QuotaExceeded, QuotaFileTooLarge

CLAUSE = "3.1.3.6"
MINUTE = dt.timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Limits:
    max_file_size: int  # bytes one upload may declare (413 beyond)
    open_uploads: int  # incomplete uploads at once
    concurrent_patches: int  # PATCH bodies being received at once, across instances
    bytes_per_day: int  # bytes received per UTC day
    uploads_per_minute: int  # creations in any 60 seconds
    screening_minutes_per_day: int  # minutes of video screened per UTC day
    requests_per_second: int  # requests of every kind, per gateway instance (burst: 2 s worth)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def overridden(self, overrides: dict[str, int]) -> Limits:
        return replace(self, **{k: v for k, v in overrides.items() if k in self.names()})

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.names()}


@dataclass(frozen=True, slots=True)
class Usage:
    open_uploads: int = 0
    active_patches: int = 0
    bytes_today: int = 0
    uploads_last_minute: int = 0
    oldest_in_last_minute: dt.datetime | None = None  # when the window frees a place
    screening_seconds_today: float = 0.0

    def as_dict(self) -> dict[str, int | float]:
        return {
            "open_uploads": self.open_uploads,
            "active_patches": self.active_patches,
            "bytes_today": self.bytes_today,
            "uploads_last_minute": self.uploads_last_minute,
            "screening_minutes_today": round(self.screening_seconds_today / 60, 2),
        }


@dataclass(frozen=True, slots=True)
class PatchStarted:
    """A PATCH counted in: its row, the tenant's PATCHes in flight with it (itself included),
    when the soonest of their leases lapses, and the day's counters it is checked against."""

    row: int
    in_flight: int
    soonest_lapse: dt.datetime
    bytes_today: int
    screening_seconds_today: float


def check_creation(limits: Limits, usage: Usage, length: int, now: dt.datetime) -> None:
    """Admission of a new upload of `length` bytes, before any byte flows."""
    if length > limits.max_file_size:
        raise _refused("max_file_size", limits.max_file_size, length, None, status=413)
    if usage.uploads_last_minute >= limits.uploads_per_minute:
        oldest = usage.oldest_in_last_minute or now
        retry = (oldest + MINUTE - now).total_seconds()
        raise _refused("uploads_per_minute", limits.uploads_per_minute,
                       usage.uploads_last_minute, retry)  # fmt: skip
    if usage.open_uploads >= limits.open_uploads:
        # A place frees up when one of them completes, expires or is terminated.
        raise _refused("open_uploads", limits.open_uploads, usage.open_uploads, 60)
    _check_daily(limits, usage, length, now)


def counted_in(usage: Usage, now: dt.datetime) -> Usage:
    """The usage once a creation is admitted (the next one checked in its batch sees it)."""
    return replace(
        usage,
        open_uploads=usage.open_uploads + 1,
        uploads_last_minute=usage.uploads_last_minute + 1,
        oldest_in_last_minute=usage.oldest_in_last_minute or now,
    )


def check_patch(
    limits: Limits, usage: Usage, length: int | None, now: dt.datetime, slot_frees_in_s: float
) -> int:
    """Admission of one PATCH body (of `length` bytes when it says); returns how many bytes
    it may bring before the day's limit ends it (a body without a length is metered)."""
    if usage.active_patches >= limits.concurrent_patches:
        # A place frees when a body ends, or at the latest when the soonest lease lapses.
        raise _refused("concurrent_patches", limits.concurrent_patches,
                       usage.active_patches, slot_frees_in_s)  # fmt: skip
    _check_daily(limits, usage, length or 0, now)
    return limits.bytes_per_day - usage.bytes_today


def daily_bytes_reached(limits: Limits, used: int, now: dt.datetime) -> QuotaExceeded:
    """What ends a metered body at the day's limit (the bytes before it are kept)."""
    return _refused("bytes_per_day", limits.bytes_per_day, used, _to_midnight(now))


class RequestRate:
    """A token bucket: `rate` requests a second, bursts of two seconds' worth."""

    __slots__ = ("_level", "_stamp")

    def __init__(self, rate: int, now_s: float) -> None:
        self._level = 2.0 * rate
        self._stamp = now_s

    def take(self, rate: int, now_s: float) -> float:
        """Take one request at `rate` (the tenant's limit may have changed since the last);
        0 when admitted, else the seconds until one would be."""
        self._level = min(2.0 * rate, self._level + (now_s - self._stamp) * rate)
        self._stamp = now_s
        if self._level >= 1.0:
            self._level -= 1.0
            return 0.0
        return (1.0 - self._level) / rate


def request_rate_refused(limits: Limits, wait_s: float) -> QuotaExceeded:
    return _refused("requests_per_second", limits.requests_per_second,
                    limits.requests_per_second, wait_s)  # fmt: skip


def _to_midnight(now: dt.datetime) -> float:
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), dt.UTC)
    return (midnight - now).total_seconds()


def _check_daily(limits: Limits, usage: Usage, length: int, now: dt.datetime) -> None:
    retry = _to_midnight(now)
    if usage.bytes_today + length > limits.bytes_per_day:
        raise _refused("bytes_per_day", limits.bytes_per_day, usage.bytes_today, retry)
    if usage.screening_seconds_today >= limits.screening_minutes_per_day * 60:
        used = round(usage.screening_seconds_today / 60, 2)
        raise _refused("screening_minutes_per_day", limits.screening_minutes_per_day, used, retry)


def _refused(
    limit: str, allowed: int, used: float, retry_s: float | None, *, status: int = 429
) -> QuotaExceeded:
    kind = QuotaExceeded if status == 429 else QuotaFileTooLarge
    error = kind(
        f"the tenant's {limit} limit is {allowed}; the request would take it to or past "
        f"that (usage: {used})",
        clause=CLAUSE,
    )
    error.limit, error.allowed, error.used = limit, allowed, used
    if retry_s is not None:
        error.headers["Retry-After"] = str(max(1, math.ceil(retry_s)))
    return error
