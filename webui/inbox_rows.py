"""The inbox table's rows, worked out in Python: one call per row.

The inbox shows 25 rows, each naming its step, a person or role, a process, two times, a
due date and the next timer, in the reader's language. Written as ~15 calls from Jinja per
row (each call pays Jinja's own checks) and two macros, the rows were most of an inbox
page's time; here each row is one call and the template only places the values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from markupsafe import Markup, escape

from engine.pages import InboxPage
from engine.views import TaskView
from webui.formatting import ago, dt, due
from webui.i18n import bound_template_gettext
from webui.messages import role_label
from webui.wording import label, wait_kind_name, wait_line


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
    page (the functions below are cached for this call), not once per row."""
    _ = bound_template_gettext()  # named so that pybabel extracts the texts below
    names, role_names, now = page.process_names, page.directory.role_names, page.now

    @cache
    def step_texts(name: str) -> tuple[str, Markup, Markup]:
        step = label(name)
        return step, _("Open %(step)s", step=step), (
            _("Claim %(step)s", step=step) if claimable else _("Give back %(step)s", step=step))

    @cache
    def holder(assignee: str | None, role: str | None) -> Markup:
        return (_PERSON + escape(page.directory.name(assignee)) if assignee
                else _ROLE + escape(role_label(role, role_names)))

    @cache
    def process(key: str) -> str:
        return label(names.get(key, key))

    wait_text = cache(wait_kind_name)
    rows = []
    for t in page.tasks:
        step, open_label, action_label = step_texts(t.name)
        due_cell = due(t.due_at, now)
        wait = page.next_wait(t)
        if wait is not None:
            due_cell += wait_line(wait, wait_text(wait.kind, wait.name))
        rows.append(InboxRow(
            task=t, url=task_url(t.id), step=step,
            late=bool(t.due_at and t.due_at < now), holder=holder(t.assignee, t.role),
            process=process(t.process_key),
            waiting_since=ago(t.created_at, now), created=dt(t.created_at), due=due_cell,
            open_label=open_label, action_label=action_label,
        ))
    return rows
