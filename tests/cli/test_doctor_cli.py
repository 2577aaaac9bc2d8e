"""``pmoflow doctor``: one line per finding and exit 1; ``--repair`` fixes and says so
(SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from engine.store.models import HumanTask
from tests.engine.driver import Driver


@pytest.fixture
def doctor(db, tmp_path, monkeypatch, capsys):
    """Run ``pmoflow doctor ...`` in this process against the test database."""
    from pmoflow.cli import main

    monkeypatch.setenv("PMOFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DATABASE_URL", db.url)

    def run(*args: str) -> tuple[int, list[str], str]:
        code = main(["doctor", *args])
        out, err = capsys.readouterr()
        return code, out.splitlines(), err

    return run


def test_doctor_lists_findings_and_repairs_them(doctor, engine, session, clock, people):
    drv = Driver(engine, session, clock)
    drv.deploy("approval3.bpmn")
    broken = drv.start("approval3", data={"title": "A", "budget": 1}).id
    fine = drv.start("approval3", data={"title": "B", "budget": 2}).id
    assert doctor() == (0, [], "0 finding(s) in 2 running instance(s) and the job queue\n")

    session.execute(update(HumanTask).where(HumanTask.instance_id == broken)
                    .values(status="completed"))
    session.commit()
    code, lines, err = doctor()
    assert code == 1 and err.startswith("1 finding(s)")
    assert lines == [f"instance {broken}: task_row_missing: step 'Check completeness' waits "
                     "for a person but has no open task in the inbox"]

    code, _lines, err = doctor("--repair", "cancel")
    assert code == 1 and "--repair cancel needs --reason" in err
    code, lines, _err = doctor("--repair", "rerun", "--reason", "row lost", "--as", "admin")
    assert (code, lines) == (0, [f"instance {broken}: rerun done, now running, "
                                 "1 incident(s) resolved"])
    assert drv.task(broken, "review") and drv.instance(fine).status == "running"
    [repaired] = [e for e in engine.history(session, broken) if e.kind == "repaired"]
    assert (repaired.actor, repaired.reason) == ("admin", "row lost")
