"""A small driver for process tests.

Every call goes through the engine's public verbs, each of which loads the instance from
the database and saves it back: every step round-trips through the serializer and the
database, like the web app does.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from engine.api import Engine
from engine.clock import ManualClock
from engine.spiff.bundle import SourceFile
from engine.tasks import TaskQuery
from engine.views import DeployResult, InstanceView, TaskView

HERE = Path(__file__).parent / "processes"


def files(*names: str, forms: bool = True) -> list[SourceFile]:
    """SourceFiles from tests/engine/processes (plus every form schema there)."""
    out = [SourceFile(n, (HERE / n).read_bytes()) for n in names]
    if forms:
        out += [SourceFile(f"forms/{p.name}", p.read_bytes())
                for p in sorted((HERE / "forms").glob("*.json"))]
    return out


class Driver:
    """Deploy, start, complete by element id, move the clock, fire jobs."""

    def __init__(self, engine: Engine, session: Session, clock: ManualClock):
        self.engine = engine
        self.session = session
        self.clock = clock

    def deploy(self, *names: str, actor: str = "owner1") -> DeployResult:
        return self.engine.deploy(self.session, files(*names), actor)

    def deploy_text(self, name: str, xml: str, *extra: SourceFile,
                    actor: str = "owner1") -> DeployResult:
        return self.engine.deploy(self.session, [SourceFile(name, xml.encode()), *extra], actor)

    def start(self, key: str, actor: str = "pm1", data: dict | None = None,
              **kw) -> InstanceView:
        return self.engine.start(self.session, key, actor, data or {}, **kw)

    def open_tasks(self, instance_id: int) -> list[TaskView]:
        views, _ = self.engine.tasks(self.session, None,
                                     TaskQuery(scope="all", instance_id=instance_id,
                                               sort="created", limit=500))
        return views

    def task(self, instance_id: int, element_id: str) -> TaskView:
        found = [t for t in self.open_tasks(instance_id) if t.element_id == element_id]
        assert len(found) == 1, (element_id, [t.element_id for t in self.open_tasks(instance_id)])
        return found[0]

    def complete(self, instance_id: int, element_id: str, actor: str,
                 data: dict | None = None) -> InstanceView:
        task = self.task(instance_id, element_id)
        return self.engine.complete(self.session, task.id, actor, data or {})

    def instance(self, instance_id: int) -> InstanceView:
        return self.engine.instance(self.session, instance_id)

    def advance_and_fire(self, **delta: float):
        self.clock.advance(**delta)
        return self.engine.fire_due_jobs(self.session)

    def kinds(self, instance_id: int) -> list[str]:
        return [e.kind for e in self.engine.history(self.session, instance_id)]
