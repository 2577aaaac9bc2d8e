"""engine/retry.py: which failures run an action again, how often, and how the runs again
take the write lock first (``retrying_locked``)."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import DBAPIError, OperationalError

from engine import retry
from engine.errors import Busy, InstanceChanged


class _PgError(Exception):
    def __init__(self, sqlstate: str):
        super().__init__(f"pg {sqlstate}")
        self.sqlstate = sqlstate


def _sqlite_error(code: int, text: str = "disk I/O error") -> OperationalError:
    orig = sqlite3.OperationalError(text)
    orig.sqlite_errorcode = code
    return OperationalError("UPDATE x", {}, orig)


def _pg_error(sqlstate: str) -> OperationalError:
    return OperationalError("UPDATE x", {}, _PgError(sqlstate))


@pytest.fixture
def pauses(monkeypatch) -> list[tuple[float, float]]:
    """The random pauses asked for between runs (none is slept)."""
    asked: list[tuple[float, float]] = []
    monkeypatch.setattr(retry.random, "uniform", lambda a, b: asked.append((a, b)) or 0.0)
    monkeypatch.setattr(retry.time, "sleep", lambda _s: None)
    return asked


@pytest.mark.parametrize("error", [
    _sqlite_error(5), _sqlite_error(6), _sqlite_error(517),
    _sqlite_error(1, "database is locked"),
    _pg_error("40001"), _pg_error("40P01"), _pg_error("55P03"),
])
def test_transient_database_errors_are_told_apart(error):
    assert retry.is_transient(error)


@pytest.mark.parametrize("error", [
    _sqlite_error(19, "UNIQUE constraint failed"), _pg_error("23505"), _pg_error("42P01"),
    ValueError("not a database error"),
])
def test_other_errors_are_not_transient(error):
    assert not retry.is_transient(error)


def test_a_lost_connection_is_not_retried_as_transient():
    lost = DBAPIError("SELECT 1", {}, _PgError("40001"), connection_invalidated=True)
    assert not retry.is_transient(lost)


def test_runs_again_holding_the_lock_after_a_lost_race_and_returns_the_result(pauses):
    runs: list[bool] = []

    def action(lock_first: bool) -> str:
        runs.append(lock_first)
        if len(runs) == 1:
            raise _sqlite_error(517)  # the first run's snapshot went stale
        if len(runs) == 2:
            raise InstanceChanged("saved by someone else")
        return "done"

    assert retry.retrying_locked(action, what="completing task 7") == "done"
    assert runs == [False, True, True]
    assert pauses == [(0, 0.01), (0, 0.02)]  # short, growing, random


def test_retrying_runs_the_same_action_until_it_succeeds(pauses):
    calls = []

    def action() -> int:
        calls.append(1)
        if len(calls) < 3:
            raise _pg_error("40001")
        return 42

    assert retry.retrying(action) == 42
    assert len(calls) == 3


def test_a_failure_that_is_not_transient_is_raised_at_once(pauses):
    calls = []

    def action(_lock_first: bool) -> None:
        calls.append(1)
        raise _sqlite_error(19, "UNIQUE constraint failed")

    with pytest.raises(OperationalError):
        retry.retrying_locked(action)
    assert calls == [1] and pauses == []


def test_retrying_passes_its_name_and_attempts_on(pauses):
    calls = []

    def action() -> None:
        calls.append(1)
        raise InstanceChanged("saved by someone else")

    with pytest.raises(Busy) as err:
        retry.retrying(action, what="closing a wait of instance 3", attempts=3)
    assert len(calls) == 3
    assert str(err.value).startswith("closing a wait of instance 3: the request is busy")
    assert err.value.params == {"what": "closing a wait of instance 3"}
    with pytest.raises(Busy) as err:
        retry.retrying(action)
    assert len(calls) == 3 + retry.ATTEMPTS and str(err.value).startswith("action: ")


def test_each_run_again_is_logged_with_what_lost_and_why(pauses, caplog):
    runs: list[bool] = []

    def action(lock_first: bool) -> str:
        runs.append(lock_first)
        if len(runs) == 1:
            raise InstanceChanged("saved by someone else")
        if len(runs) == 2:
            raise _sqlite_error(517)
        return "done"

    with caplog.at_level("INFO", logger="engine.retry"):
        retry.retrying_locked(action, what="job 12")
    assert [r.getMessage() for r in caplog.records] == [
        "job 12: instance changed, running it again (attempt 2)",
        "job 12: OperationalError, running it again (attempt 3)",
    ]


def test_busy_after_every_attempt_failed_and_nothing_more(pauses):
    runs: list[bool] = []

    def action(lock_first: bool) -> None:
        runs.append(lock_first)
        raise _sqlite_error(5)

    with pytest.raises(Busy) as err:
        retry.retrying_locked(action, what="completing task 9")
    assert runs == [False] + [True] * (retry.ATTEMPTS - 1)
    assert str(err.value) == ("completing task 9: the request is busy with other work; "
                              "nothing was saved, please try again")
    assert err.value.code == "db.busy" and err.value.params == {"what": "completing task 9"}
    # a pause between runs, none after the last; they grow and stop growing at 2**6
    assert [b for _a, b in pauses] == [0.005 * 2 ** min(n, 6) for n in range(1, retry.ATTEMPTS)]
    runs.clear()
    with pytest.raises(Busy) as err:
        retry.retrying_locked(action, attempts=2)
    assert runs == [False, True] and str(err.value).startswith("action: the request is busy")
