"""The inbox table's rows, worked out in Python: one call per row.

The inbox shows 25 rows, each naming its step, a person or role, a process, two times, a
due date and the next timer, in the reader's language. Written as ~15 calls from Jinja per
row (each call pays Jinja's own checks) and two macros, the rows were most of an inbox
page's time; here each row is one call and the template only places the values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup, escape

from engine.pages import InboxPage
from engine.views import TaskView
from webui.formatting import ago, dt, due
from webui.i18n import bound_template_gettext
from webui.messages import role_label
from webui.wording import label, wait_line, wait_name


@dataclass(frozen=True, slots=True)
class InboxRow:
    """What one row of the inbox table shows."""

    task: TaskView
    url: str
    #: The step's name in the reader's language.
    step: str
    late: bool
    #: The line under the step: who has it, or the role it waits for.
    holder: Markup
    process: str
    waiting_since: str
    created: str
    #: The due date, how far off, and the next timer of the step.
    due: Markup
    #: "Open <step>", and "Claim <step>" or "Give back <step>" where the row offers it.
    open_label: Markup
    action_label: Markup


_PERSON = Markup('<i class="bi bi-person" aria-hidden="true"></i> ')
_ROLE = Markup('<i class="bi bi-people" aria-hidden="true"></i> ')


def inbox_rows(page: InboxPage, task_url: Callable[[int], str], *,
               claimable: bool) -> list[InboxRow]:
    """The rows of ``page`` (``claimable``: the tab whose rows offer "Claim").

    A page's rows share a few steps, roles, people and processes: each is named once per
    page, not once per row."""
    _ = bound_template_gettext()  # named so that pybabel extracts the texts below
    names, role_names, now = page.process_names, page.directory.role_names, page.now
    steps: dict[str, tuple[str, Markup, Markup]] = {}
    holders: dict[tuple[str | None, str | None], Markup] = {}
    processes: dict[str, str] = {}
    waits: dict[tuple[str, str | None], Markup] = {}
    rows = []
    for t in page.tasks:
        named = steps.get(t.name)
        if named is None:
            step = label(t.name)
            named = steps[t.name] = (
                step, _("Open %(step)s", step=step),
                _("Claim %(step)s", step=step) if claimable
                else _("Give back %(step)s", step=step))
        holder = holders.get((t.assignee, t.role))
        if holder is None:
            holder = holders[t.assignee, t.role] = (
                _PERSON + escape(page.directory.name(t.assignee)) if t.assignee
                else _ROLE + escape(role_label(t.role, role_names)))
        process = processes.get(t.process_key)
        if process is None:
            process = processes[t.process_key] = label(names.get(t.process_key, t.process_key))
        due_cell = due(t.due_at, now)
        wait = page.next_wait(t)
        if wait is not None:
            what = waits.get((wait.kind, wait.name))
            if what is None:
                what = waits[wait.kind, wait.name] = wait_name(wait)
            due_cell += wait_line(wait, what)
        rows.append(InboxRow(
            task=t, url=task_url(t.id), step=named[0],
            late=bool(t.due_at and t.due_at < now), holder=holder, process=process,
            waiting_since=ago(t.created_at, now), created=dt(t.created_at), due=due_cell,
            open_label=named[1], action_label=named[2],
        ))
    return rows
