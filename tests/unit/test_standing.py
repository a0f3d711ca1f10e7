"""Account standing after arrears (clause 7.3.3), moved through time by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.domain.errors import AccountSuspended, AccountTerminated, StandingChangeRefused
from gateway.domain.standing import Account, Standing

T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def test_arrears_give_24_hours_then_suspend_then_terminate_after_15_days() -> None:
    account = Account().in_arrears(T0, T0)
    assert account.standing == Standing.IN_ARREARS
    account.check_allows_service(T0 + 23 * HOUR)  # 7.3.3.1: service goes on for 24 h
    with pytest.raises(AccountSuspended) as refused:
        account.check_allows_service(T0 + 25 * HOUR)
    assert refused.value.clause == "7.3.3.1"
    suspended = account.at(T0 + 25 * HOUR)
    assert (suspended.standing, suspended.suspended_at) == (Standing.SUSPENDED, T0 + 24 * HOUR)
    almost = account.at(T0 + 24 * HOUR + 15 * DAY - dt.timedelta(seconds=1))
    assert almost.standing == Standing.SUSPENDED
    ended = account.at(T0 + 24 * HOUR + 15 * DAY)  # 7.3.3.2: to the same moment, 15 days on
    assert (ended.standing, ended.terminated_at) == (Standing.TERMINATED, T0 + 24 * HOUR + 15 * DAY)
    with pytest.raises(AccountTerminated):
        account.check_allows_service(T0 + 20 * DAY)


def test_payment_restores_until_termination_and_not_after() -> None:
    suspended = Account().in_arrears(T0, T0).at(T0 + 2 * DAY)
    restored = suspended.paid(T0 + 2 * DAY)
    assert restored == Account()
    restored.check_allows_service(T0 + 30 * DAY)
    with pytest.raises(StandingChangeRefused, match=r"7\.3\.3\.2"):
        suspended.paid(T0 + 20 * DAY)


def test_the_earliest_arrears_count_and_future_ones_are_refused() -> None:
    account = Account().in_arrears(T0, T0 + HOUR)
    later_report = account.in_arrears(T0 + 10 * HOUR, T0 + 10 * HOUR)
    assert later_report.arrears_since == T0
    with pytest.raises(StandingChangeRefused, match="future"):
        Account().in_arrears(T0 + DAY, T0)
    terminated = account.at(T0 + 17 * DAY)
    with pytest.raises(StandingChangeRefused):
        terminated.in_arrears(T0 + 17 * DAY, T0 + 17 * DAY)


def test_an_earlier_report_moves_the_start_back() -> None:
    """Security review (issue 20, item 16): reported 2 h ago, then corrected to 30 h ago,
    the 24 h grace counts from the earlier report: suspended since 6 h ago."""
    now = T0 + 30 * HOUR
    reported = Account().in_arrears(now - 2 * HOUR, now)
    corrected = reported.in_arrears(now - 30 * HOUR, now)
    assert (corrected.standing, corrected.arrears_since) == (Standing.SUSPENDED, T0)
    assert corrected.suspended_at == T0 + DAY
    still_in_grace = reported.in_arrears(now - 20 * HOUR, now)
    assert (still_in_grace.standing, still_in_grace.arrears_since) == (
        Standing.IN_ARREARS,
        now - 20 * HOUR,
    )
    # Suspended already: an earlier start brings the termination forward too.
    suspended = Account().in_arrears(T0, T0).at(T0 + 2 * DAY)
    earlier = suspended.in_arrears(T0 - 3 * DAY, T0 + 2 * DAY)
    assert (earlier.suspended_at, earlier.standing) == (T0 - 2 * DAY, Standing.SUSPENDED)
    assert earlier.at(T0 + 13 * DAY).standing == Standing.TERMINATED


def test_arrears_reported_late_suspend_at_once() -> None:
    account = Account().in_arrears(T0, T0 + 2 * DAY)
    assert account.standing == Standing.SUSPENDED
    assert account.suspended_at == T0 + DAY


def test_a_clock_set_back_undoes_nothing_recorded() -> None:
    suspended = Account().in_arrears(T0, T0).at(T0 + 2 * DAY)
    assert suspended.at(T0 - DAY).standing == Standing.SUSPENDED
    with pytest.raises(AccountSuspended):
        suspended.check_allows_service(T0 - DAY)
    in_arrears = Account().in_arrears(T0, T0)
    assert in_arrears.at(T0 - DAY).standing == Standing.IN_ARREARS  # not suspended early
