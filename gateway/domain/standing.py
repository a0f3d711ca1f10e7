"""Account standing after arrears (clause 7.3.3), as a pure state machine on the clock.

    active ──arrears reported──▶ in_arrears ──24 h unpaid (7.3.3.1)──▶ suspended
       ▲                              │                                    │
       └──────────── paid ────────────┴──────────── paid ──────────────────┤
                                                          15 days unpaid (7.3.3.2)
                                                                           ▼
                                                                      terminated (purged)

The timed moves are computed from the recorded instants, never from when someone looked:
the same account gives the same answer at the same `now`, whoever asks and however late the
upkeep loop runs. A clock set back never undoes a recorded suspension or termination."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import StrEnum

from gateway.domain.errors import AccountSuspended, AccountTerminated, StandingChangeRefused

# 7.3.3.1: the service goes on for 24 hours after the first arrears.
GRACE = dt.timedelta(hours=24)
# 7.3.3.2: 15 days after suspension, the terms end and every byte is deleted.
PURGE_AFTER = dt.timedelta(days=15)


class Standing(StrEnum):
    ACTIVE = "active"
    IN_ARREARS = "in_arrears"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


@dataclass(frozen=True, slots=True)
class Account:
    standing: Standing = Standing.ACTIVE
    arrears_since: dt.datetime | None = None
    suspended_at: dt.datetime | None = None
    terminated_at: dt.datetime | None = None

    def at(self, now: dt.datetime) -> Account:
        """The account as the terms make it at `now` (the timed moves applied)."""
        account = self
        if account.standing == Standing.IN_ARREARS and account.arrears_since is not None:
            due = account.arrears_since + GRACE
            if now >= due:
                account = replace(account, standing=Standing.SUSPENDED, suspended_at=due)
        if account.standing == Standing.SUSPENDED and account.suspended_at is not None:
            due = account.suspended_at + PURGE_AFTER
            if now >= due:
                account = replace(account, standing=Standing.TERMINATED, terminated_at=due)
        return account

    def in_arrears(self, since: dt.datetime, now: dt.datetime) -> Account:
        """The billing side reports arrears from `since`; the earliest report counts: a
        correction to an earlier start moves the grace (and any suspension) back with it."""
        if since > now:
            raise StandingChangeRefused("arrears cannot start in the future")
        current = self.at(now)
        if current.standing == Standing.TERMINATED:
            raise StandingChangeRefused("the account is terminated (clause 7.3.3.2)")
        if current.arrears_since is not None and current.arrears_since <= since:
            return current  # already counting from an earlier report
        return Account(Standing.IN_ARREARS, arrears_since=since).at(now)

    def paid(self, now: dt.datetime) -> Account:
        """Arrears settled: back to active, data untouched. Too late once terminated."""
        if self.at(now).standing == Standing.TERMINATED:
            raise StandingChangeRefused(
                "the account was terminated and its data deleted (clause 7.3.3.2); "
                "a payment cannot restore it"
            )
        return Account()

    def check_allows_service(self, now: dt.datetime) -> None:
        """Uploads, management and playback: refused while suspended or terminated."""
        standing = self.at(now).standing
        if standing == Standing.SUSPENDED:
            raise AccountSuspended(
                "the account is suspended for arrears: uploads, management and playback "
                "resume once the arrears are paid; stored videos are kept",
                clause="7.3.3.1",
            )
        if standing == Standing.TERMINATED:
            raise AccountTerminated(
                "the account was terminated for arrears and its data deleted",
                clause="7.3.3.2",
            )
