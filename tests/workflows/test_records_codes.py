"""Project codes: no gaps, no duplicates, under real concurrency, on both databases."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import select

from engine.store.db import make_sessionmaker
from engine.store.uow import unit_of_work
from tests.workflows.factories import proposal
from workflows import records
from workflows.records.models import CodeSequence

THREADS, EACH = 8, 5


class _Abort(Exception):
    """Makes a unit of work roll back on purpose."""


def _hammer(db, body: Callable[[object, int, int], str | int]) -> list:
    """Run ``body(session, thread, round)`` THREADS x EACH times, each in its own session
    and transaction, started together; every third call rolls back after allocating.
    Returns what the committed calls returned."""
    factory = make_sessionmaker(db.engine)
    start = threading.Barrier(THREADS)
    committed: list = []
    errors: list[BaseException] = []
    guard = threading.Lock()

    def worker(n: int) -> None:
        try:
            start.wait(timeout=30)
            for i in range(EACH):
                with factory() as session:
                    try:
                        with unit_of_work(session):
                            result = body(session, n, i)
                            if (n + i) % 3 == 0:
                                raise _Abort
                    except _Abort:
                        continue
                with guard:
                    committed.append(result)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert all(not t.is_alive() for t in threads)
    return committed


def _rollbacks() -> int:
    return sum(1 for n in range(THREADS) for i in range(EACH) if (n + i) % 3 == 0)


def test_counter_first_use_and_increments_race_safely(db):
    numbers = _hammer(db, lambda s, n, i: records.next_number(s, "TEST-2026"))
    assert len(numbers) == THREADS * EACH - _rollbacks()
    assert sorted(numbers) == list(range(1, len(numbers) + 1))  # contiguous, unique
    with make_sessionmaker(db.engine)() as s:
        row = s.scalar(select(CodeSequence).where(CodeSequence.name == "TEST-2026"))
        assert row is not None and row.next_value == len(numbers) + 1


def test_concurrent_approvals_get_contiguous_codes(db, session, people, clock):
    ids: dict[tuple[int, int], int] = {}
    with unit_of_work(session):
        for n in range(THREADS):
            for i in range(EACH):
                ids[n, i] = records.propose_project(
                    session, proposal(title=f"P {n}.{i}"), pm="pm1", now=clock.now()).id

    def approve(s, n: int, i: int) -> str:
        code = records.approve_project(s, ids[n, i], actor="pmohead", now=clock.now()).code
        assert code is not None
        return code

    codes = _hammer(db, approve)
    expected = [f"PRJ-2026-{k:04d}" for k in range(1, len(codes) + 1)]
    assert sorted(codes) == expected
    rows, total = records.list_projects(session, stage="Proposed", limit=100)
    assert total == _rollbacks() and all(r.code is None for r in rows)


def test_rollback_returns_the_number(db, session, people, clock):
    p = records.propose_project(session, proposal(), pm="pm1", now=clock.now())
    session.commit()
    with pytest.raises(_Abort), unit_of_work(session):
        assert records.approve_project(session, p.id, actor="pmohead",
                                       now=clock.now()).code == "PRJ-2026-0001"
        raise _Abort
    with unit_of_work(session):
        again = records.approve_project(session, p.id, actor="pmohead", now=clock.now())
    assert again.code == "PRJ-2026-0001"
