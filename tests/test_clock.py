"""The clock: CSCTL_NOW, the ledger's time zone, and `--at` back-dating."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from csctl.domain import clock
from csctl.errors import InvalidInput

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_csctl_now_replaces_the_clock_and_is_read_in_the_ledger_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSCTL_NOW", "2026-11-23T01:30:00+00:00")
    assert clock.now(SHANGHAI).isoformat() == "2026-11-23T09:30:00+08:00"
    monkeypatch.setenv("CSCTL_NOW", "2026-11-23T09:30:15.734")
    assert clock.now(SHANGHAI).isoformat() == "2026-11-23T09:30:15+08:00"


def test_the_system_clock_is_aware_and_whole_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CSCTL_NOW", raising=False)
    now = clock.now(SHANGHAI)
    assert now.tzinfo is not None
    assert now.microsecond == 0


def test_a_bad_csctl_now_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSCTL_NOW", "yesterday")
    with pytest.raises(InvalidInput, match=r"^CSCTL_NOW: not an ISO date-time: 'yesterday'"):
        clock.now(SHANGHAI)


def test_at_back_dates_and_keeps_when_it_was_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSCTL_NOW", "2026-11-23T09:30:00+08:00")
    at, recorded = clock.when_done("2026-11-22T16:00", SHANGHAI)
    assert at == dt.datetime(2026, 11, 22, 16, 0, tzinfo=SHANGHAI)
    assert recorded == dt.datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI)
    assert clock.when_done(None, SHANGHAI) == (dt.datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI), None)


def test_at_never_forward_dates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSCTL_NOW", "2026-11-23T09:30:00+08:00")
    with pytest.raises(InvalidInput, match=r"^--at: 2026-11-24 is in the future"):
        clock.when_done("2026-11-24", SHANGHAI)
