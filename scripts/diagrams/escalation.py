"""Draw ``bpmn/escalation.bpmn`` (问题升级) with scripts/bpmn_gen.py.

Run from the repository root: ``python scripts/diagrams/escalation.py``.

Lanes are 250 px high so that each lane has a main row (the work) and, under it, a row
for the SLA reminder branches hanging off the boundary timers.  Two flows get explicit
waypoints (the reopen loop along the bottom of the PM lane, and the "decided" branch
around the guidance task); everything else uses the generator's routing.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scripts import bpmn_gen  # noqa: E402
from scripts.bpmn_gen import Flow, Process  # noqa: E402

LANE_H = 250
MAIN = -1.2  # main row, above the lane's middle
SIDE = 1.6  # reminder row, under the boundary timers
T = 'escalation["status"]'


class Layout(Process):
    """bpmn_gen's Process plus explicit waypoints, post-scripts and taller lanes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.waypoints: dict[str, list[tuple[float, float]]] = {}

    def post_script(self, node_id: str, script: str) -> None:
        """Add a ``spiffworkflow:postScript`` (runs as the task completes)."""
        node = self.nodes[node_id]
        tag = f"<spiffworkflow:postScript>{escape(script)}</spiffworkflow:postScript>"
        node.body = node.body.replace("</bpmn:extensionElements>",
                                      tag + "</bpmn:extensionElements>", 1)

    def center(self, node_id: str) -> tuple[float, float]:
        """Centre of a node as it will be drawn."""
        with lane_height(LANE_H):
            x, y, w, h = self._bounds(self.nodes[node_id])
        return x + w / 2, y + h / 2

    def lane_top(self, lane: str) -> float:
        """Top edge of a lane as it will be drawn."""
        with lane_height(LANE_H):
            return self._lane_top(lane)

    def _edge(self, f: Flow) -> str:
        points = self.waypoints.get(f.id)
        if points is None:
            return super()._edge(f)
        wps = "".join(f'<di:waypoint x="{x:.0f}" y="{y:.0f}"/>' for x, y in points)
        label = ""
        if f.name:
            lx, ly = points[1]
            label = (f'<bpmndi:BPMNLabel><dc:Bounds x="{lx + 4:.0f}" y="{ly - 18:.0f}" '
                     'width="70" height="14"/></bpmndi:BPMNLabel>')
        return (f'<bpmndi:BPMNEdge id="{f.id}_di" bpmnElement="{f.id}">{wps}{label}'
                "</bpmndi:BPMNEdge>")

    def render(self) -> str:
        with lane_height(LANE_H):
            xml = super().render()
            for node in self.nodes.values():
                if node.attached_to:
                    xml = self._side_label(xml, node)
        return xml

    def _side_label(self, xml: str, node) -> str:
        """Put a boundary event's label beside it (away from the task), not under it,
        where the outgoing flow runs."""
        x, y, w, h = self._bounds(node)
        left = float(node.attrs.get("_offset", "0.7")) < 0.5
        lx = x - 66 if left else x + w + 4
        shape = f'<bpmndi:BPMNShape id="{node.id}_di"'
        head, rest = xml.split(shape, 1)
        label_at = rest.index("<bpmndi:BPMNLabel>")
        end = rest.index("</bpmndi:BPMNLabel>") + len("</bpmndi:BPMNLabel>")
        label = (f'<bpmndi:BPMNLabel><dc:Bounds x="{lx:.0f}" y="{y + h / 2 + 2:.0f}" '
                 'width="62" height="14"/></bpmndi:BPMNLabel>')
        return head + shape + rest[:label_at] + label + rest[end:]


@contextlib.contextmanager
def lane_height(height: int) -> Iterator[None]:
    """Render with taller lanes (bpmn_gen reads its module constant at layout time)."""
    saved = bpmn_gen.LANE_H
    bpmn_gen.LANE_H = height
    try:
        yield
    finally:
        bpmn_gen.LANE_H = saved


def build() -> Layout:
    """The escalation process."""
    p = Layout(
        "escalation", "Escalation",
        lanes=[("pm", "Project manager"), ("pmo_reviewer", "PMO reviewer"),
               ("pmo_head", "PMO head"), ("steering", "Steering committee")],
        documentation=(
            "A PM raises an issue beyond their authority (e.g. a supplier shared by "
            "competing projects). The PMO triages it within the SLA from the table "
            "escalation_sla (overdue: the PMO head takes it over), resolves it, hands it "
            "back with guidance or escalates it to the steering committee. The decision is "
            "logged and sent to the PMs of all projects involved; the raising PM closes "
            "or reopens it (back to triage)."),
    )
    _raise_and_triage(p)
    _decide(p)
    _close(p)
    _route(p)
    return p


def _raise_and_triage(p: Layout) -> None:
    p.start("start", "Issue beyond PM authority", "pm", 0, form="escalation-start.schema.json",
            row=MAIN)
    p.service("log", "Validate and log escalation", "pm", 1, "escalation_raise",
              result="escalation", row=MAIN)
    p.rule("slas", "Look up SLAs", "pmo_reviewer", 2, "escalation_sla", row=MAIN)
    p.gateway("merge", "", "pmo_reviewer", 3, row=MAIN)
    p.user("triage", "Triage escalation", "pmo_reviewer", 4,
           form="escalation-triage.schema.json", row=MAIN,
           props={"fourEyes": "true", "slaExpression": 'sla["triage_days"]'},
           documentation="Resolve at PMO level, hand back with guidance, or escalate.")
    p.boundary_timer("triage_late", "SLA passed", "triage",
                     date='in_working_days(sla["triage_days"])', offset=0.15)
    p.boundary_timer("triage_remind", "Reminder", "triage",
                     duration='hours(sla["reminder_hours"])', interrupting=False,
                     offset=0.85)
    p.service("remind_reviewers", "Remind PMO reviewers", "pmo_reviewer", 4.226,
              "escalation_remind", row=SIDE,
              params={"role": ("str", '"pmo_reviewer"'), "copy_role": ("str", '""'),
                      "step": ("str", '"PMO triage"')})
    p.end("reviewers_reminded", "Reminded", "pmo_reviewer", 4.95, row=SIDE)
    p.service("to_head", "Hand over to PMO head", "pmo_head", 3.774, "escalation_to_head",
              result="escalation", row=MAIN)
    p.user("head_triage", "Triage overdue escalation", "pmo_head", 5,
           form="escalation-triage.schema.json", row=MAIN,
           props={"fourEyes": "true", "slaExpression": 'sla["triage_days"]'},
           documentation="Same outcomes as the PMO triage.")
    p.boundary_timer("head_remind", "SLA passed", "head_triage",
                     date='in_working_days(sla["triage_days"])', interrupting=False,
                     offset=0.15)
    p.service("remind_head", "Remind PMO head", "pmo_head", 4.774, "escalation_remind",
              row=SIDE,
              params={"role": ("str", '"pmo_head"'), "copy_role": ("str", '""'),
                      "step": ("str", '"PMO triage (taken over)"')})
    p.end("head_reminded", "Reminded", "pmo_head", 5.5, row=SIDE)


def _decide(p: Layout) -> None:
    p.service("record", "Record decision", "pmo_reviewer", 6, "escalation_decide",
              result="escalation", row=MAIN,
              params={"decision": ("str", "decision"), "comment": ("str", "comment")})
    # What the next forms show (read-only) is set as the step completes, so that every
    # later task, boundary events included, carries it; the used comment is cleared so
    # that an optional comment left empty on the next form is not taken from this step.
    p.post_script("record", "\n".join((
        'outcome_text = escalation["decision"] or ""',
        'outcome_by = escalation["decided_by"] or ""',
        'pmo_reason = comment if escalation["status"] == "steering" else ""',
        'comment = ""')))
    p.gateway("outcome", "Outcome?", "pmo_reviewer", 7, row=MAIN, default="to_confirm")
    p.user("steer", "Steering decision", "steering", 7, form="escalation-steering.schema.json",
           row=MAIN, props={"fourEyes": "true", "slaExpression": 'sla["steering_days"]'},
           documentation=("One steering member (normally the chair) records the decision the "
                          "committee took in session, or the chair's decision between sessions."))
    p.boundary_timer("steer_remind", "SLA passed", "steer",
                     date='in_working_days(sla["steering_days"])', interrupting=False,
                     offset=0.85)
    p.service("remind_steering", "Remind committee, tell PMO head", "steering", 7.226,
              "escalation_remind", row=SIDE,
              params={"role": ("str", '"steering"'), "copy_role": ("str", '"pmo_head"'),
                      "step": ("str", '"Steering decision"')})
    p.end("steering_reminded", "Reminded", "steering", 7.95, row=SIDE)


def _close(p: Layout) -> None:
    p.user("guidance", "Act on guidance", "pm", 7, form="escalation-guidance.schema.json",
           row=MAIN, props={"assignee": "initiator", "sla": "P3D"})
    p.user("confirm", "Confirm resolution", "pm", 8.6, form="escalation-confirm.schema.json",
           row=MAIN, props={"assignee": "initiator", "sla": "P3D"})
    p.service("close", "Close or reopen", "pm", 10, "escalation_close", result="escalation",
              row=MAIN, params={"decision": ("str", "decision"), "comment": ("str", "comment")})
    p.post_script("close", 'reopen_reason = escalation["reopen_reason"] or ""\ncomment = ""')
    p.gateway("reopened", "Reopened?", "pm", 11, row=MAIN, default="to_closed")
    p.end("closed", "Escalation closed", "pm", 12, row=MAIN)


def _route(p: Layout) -> None:
    p.flow("start", "log")
    p.flow("log", "slas")
    p.flow("slas", "merge")
    p.flow("merge", "triage")
    p.flow("triage", "record")
    p.flow("triage_remind", "remind_reviewers")
    p.flow("remind_reviewers", "reviewers_reminded")
    p.flow("triage_late", "to_head")
    p.flow("to_head", "head_triage")
    p.flow("head_remind", "remind_head")
    p.flow("remind_head", "head_reminded")
    p.flow("head_triage", "record")
    p.flow("record", "outcome")
    p.flow("outcome", "steer", id="to_steering", name="escalated",
           condition=f'{T} == "steering"')
    p.flow("outcome", "guidance", id="to_guidance", name="handed back",
           condition=f'{T} == "handed_back"')
    p.flow("outcome", "confirm", id="to_confirm", name="decided", route="hv")
    p.flow("steer_remind", "remind_steering")
    p.flow("remind_steering", "steering_reminded")
    p.flow("steer", "record")
    p.flow("guidance", "close", route="up")
    p.flow("confirm", "close")
    p.flow("close", "reopened")
    p.flow("reopened", "closed", id="to_closed", name="closed")
    p.flow("reopened", "merge", id="to_reopen", name="reopened",
           condition=f'{T} == "reopened"')
    gx, gy = p.center("reopened")
    mx, my = p.center("merge")
    channel = p.lane_top("pm") + LANE_H - 20
    ox, oy = p.center("outcome")
    head_mid = p.lane_top("pmo_head") + LANE_H / 2
    p.waypoints["to_steering"] = [(ox, oy + 25), (ox, head_mid), (ox, p.center("steer")[1] - 40)]
    p.waypoints["to_reopen"] = [(gx, gy + 25), (gx, channel), (mx, channel), (mx, my - 25)]


def main() -> None:
    """Write bpmn/escalation.bpmn."""
    out = ROOT / "bpmn" / "escalation.bpmn"
    out.write_text(build().render(), encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
