"""Draw ``bpmn/project_approval.bpmn`` (立项审批) with scripts/bpmn_gen.py.

Run: ``python scripts/diagrams/project_approval.py``.  The forms it names are
``bpmn/forms/project_approval-*.schema.json``; the glue is ``workflows/approval.py``; the
routing table is ``bpmn/approval_routing.dmn``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scripts import bpmn_gen  # noqa: E402
from scripts.bpmn_gen import Process  # noqa: E402

bpmn_gen.LANE_H = 250
UP, LOW = -1.35, 1.45  # rows: the main path, and the timer paths under it

DOC = """Project approval (立项审批). The PM submits a proposal; it is recorded (stage
Proposed, budget converted to CNY at the planning rate) and the named sponsor becomes the
project's sponsor. A PMO reviewer checks completeness (four eyes): accept, return for
rework (the PM revises; the loop can repeat) or reject. The decision table approval_routing
then names the approvers and each review's SLA: the PMO head always; finance from 100,000
CNY; the steering committee above 1,000,000 CNY or for a high risk (3 votes, 2 decide).
All routed reviews run in parallel and all finish before they are combined: any reject
rejects the proposal; otherwise any change request sends it back to the PM for rework
(then the completeness check and the routing run again); only if every approver approves
is the project registered (code PRJ-YYYY-NNNN, stage Initiation). The PM then records the
kick-off and the project is Executing. An overdue review reminds its assignee (or the
role) at its SLA and escalates after a second period (finance to the PMO head; the PMO
head and the committee to the steering chair; the completeness check to the PMO head)
without stopping the review. Withdrawing
the request marks the project Withdrawn. Cycle time: the project's stage history
(submitted -> Initiation/Rejected)."""


class Diagram(Process):
    """bpmn_gen's Process with a few extra flow routes and task scripts."""

    def scripts(self, node_id: str, pre: str = "", post: str = "") -> None:
        """Add spiffworkflow preScript/postScript to a task's extension elements."""
        node = self.nodes[node_id]
        extra = ""
        if pre:
            extra += f"<spiffworkflow:preScript>{escape(pre)}</spiffworkflow:preScript>"
        if post:
            extra += f"<spiffworkflow:postScript>{escape(post)}</spiffworkflow:postScript>"
        if "</bpmn:extensionElements>" in node.body:
            node.body = node.body.replace("</bpmn:extensionElements>",
                                          extra + "</bpmn:extensionElements>", 1)
        else:
            node.body = f"<bpmn:extensionElements>{extra}</bpmn:extensionElements>" + node.body

    def render(self) -> str:
        """The document, with boundary timer labels beside their events, not under them."""
        xml = super().render()
        for node in self.nodes.values():
            if not node.attached_to:
                continue
            x, y, w, _h = self._bounds(node)
            left = node.id.endswith("_remind_timer")
            lx = x - 62 if left else x + w + 2
            xml = re.sub(
                rf'(<bpmndi:BPMNShape id="{node.id}_di"[^>]*>.*?<bpmndi:BPMNLabel>)'
                r'<dc:Bounds [^/]*/>',
                lambda m, lx=lx, y=y: (f'{m.group(1)}<dc:Bounds x="{lx:.0f}" y="{y + 22:.0f}" '
                                       'width="60" height="14"/>'), xml, count=1)
        return xml

    def _edge(self, f: bpmn_gen.Flow) -> str:
        pts = self._custom(f)
        if pts is None:
            return super()._edge(f)
        wps = "".join(f'<di:waypoint x="{x:.0f}" y="{y:.0f}"/>' for x, y in pts)
        label = ""
        if f.name:
            if len(pts) == 2:  # beside the middle of a straight flow
                lx, ly = (pts[0][0] + pts[1][0]) / 2 + 2, (pts[0][1] + pts[1][1]) / 2 + 11
            else:
                lx, ly = pts[1]
            label = (f'<bpmndi:BPMNLabel><dc:Bounds x="{lx + 4:.0f}" y="{ly - 18:.0f}" '
                     f'width="70" height="14"/></bpmndi:BPMNLabel>')
        return (f'<bpmndi:BPMNEdge id="{f.id}_di" bpmnElement="{f.id}">{wps}{label}'
                "</bpmndi:BPMNEdge>")

    def _custom(self, f: bpmn_gen.Flow) -> list[tuple[float, float]] | None:
        s, t = self.nodes[f.source], self.nodes[f.target]
        sx, sy, sw, sh = self._bounds(s)
        tx, ty, tw, th = self._bounds(t)
        scx, scy, tcx, tcy = sx + sw / 2, sy + sh / 2, tx + tw / 2, ty + th / 2
        if f.route == "v":  # straight up or down, same x
            return [(scx, sy + sh), (scx, ty)] if tcy > scy else [(scx, sy), (scx, ty + th)]
        if f.route == "h":  # straight left or right, same y
            return [(sx, scy), (tx + tw, tcy)] if tcx < scx else [(sx + sw, scy), (tx, tcy)]
        if f.route == "side":  # boundary event: down, then into the target's near side
            return [(scx, sy + sh), (scx, tcy), (tx + tw if tcx < scx else tx, tcy)]
        if f.route.startswith("up:"):  # back edge along a channel at a given y
            y = float(f.route[3:])
            return [(scx, sy), (scx, y), (tcx, y), (tcx, ty)]
        if f.route == "join":  # right, then up/down into the target's bottom/top
            return [(sx + sw, scy), (tcx, scy), (tcx, ty + th if tcy < scy else ty)]
        return None


def timers(p: Diagram, host: str, lane: str, col: float, *, role: str, step: str,
           days: str, escalate_to: str, seats: str = "1") -> None:
    """Reminder at the SLA and escalation after a second period (non-interrupting)."""
    for kind, offset, dx, when in (("remind", 0.2, -0.5, days), ("escalate", 0.8, 0.5,
                                                                   f"2 * {days}")):
        timer, task, end = f"{host}_{kind}_timer", f"{host}_{kind}", f"{host}_{kind}_end"
        label = "At SLA" if kind == "remind" else "2nd period"
        p.boundary_timer(timer, label, host, date=f"in_working_days({when})",
                         interrupting=False, offset=offset)
        params = {"role": ("str", repr(role)), "element": ("str", repr(host)),
                  "step": ("str", repr(step)), "seats": ("int", seats)}
        if kind == "escalate":
            params = {"to": ("str", escalate_to), "step": ("str", repr(step))}
        name = "Remind" if kind == "remind" else "Escalate"
        p.service(task, name, lane, col + dx * 1.1, f"approval_{kind}", params=params,
                  row=LOW)
        p.end(end, "Reminded" if kind == "remind" else "Escalated", lane,
              col + dx * 2.25, row=LOW)
        p.flow(timer, task, route="side")
        p.flow(task, end, route="h")


def review(p: Diagram, role: str, lane: str, col: float, name: str, form: str) -> None:
    """One approver's review, its decision record and its timers."""
    host = f"review_{role}"
    sla = f'routing["sla_days"]["{role}"]'
    p.user(host, name, lane, col, form=form, row=UP,
           props={"fourEyes": "true", "slaExpression": sla,
                  "description": "Approve, reject, or ask for changes (comment required)."})
    p.scripts(host, pre='comment = ""')
    p.service(f"record_{role}", "Record decision", lane, col + 1, "approval_record_review",
              params={"role": ("str", repr(role)), "decision": ("str", "decision"),
                      "comment": ("str", "comment"), "routing": ("dict", "routing")},
              result="routing", row=UP)
    p.flow(host, f"record_{role}")
    timers(p, host, lane, col, role=role, step=name, days=sla,
           escalate_to=f'routing["escalate_to"]["{role}"]')


#: Two equal votes of three decide (approve, reject, or changes); else all three vote.
MAJORITY = ('max([len([b for b in votes if b["decision"] == o]) '
            'for o in ("approve", "reject", "changes")]) >= 2')
VOTE_MI = (
    '<bpmn:multiInstanceLoopCharacteristics spiffworkflow:scriptsOnInstances="true">'
    "<bpmn:loopCardinality>3</bpmn:loopCardinality>"
    "<bpmn:loopDataOutputRef>votes</bpmn:loopDataOutputRef>"
    '<bpmn:outputDataItem id="ballot" name="ballot"/>'
    f"<bpmn:completionCondition>{escape(MAJORITY)}</bpmn:completionCondition>"
    "</bpmn:multiInstanceLoopCharacteristics>")


def build() -> Diagram:
    """The whole process."""
    p = Diagram("project_approval", "Project approval",
                lanes=[("pm", "Project manager"), ("pmo_reviewer", "PMO reviewer"),
                       ("pmo_head", "PMO head"), ("finance", "Finance"),
                       ("steering", "Steering committee")],
                documentation=DOC, properties={"onCancel": "approval_withdrawn"})
    # --- submission and completeness check --------------------------------------
    p.start("start", "Proposal submitted", "pm", 0, form="project_approval-start.schema.json",
            row=UP)
    p.service("record_proposal", "Record proposal", "pm", 1, "approval_record_proposal",
              result="project", row=UP)
    p.user("revise", "Revise proposal", "pm", 3.4, form="project_approval-revise.schema.json",
           row=LOW, props={"assignee": "initiator", "sla": "P5D",
                           "description": "Revise the proposal as the reviewers asked."})
    p.service("update_proposal", "Update proposal", "pm", 2, "approval_update_proposal",
              result="project", row=LOW)
    p.user("check", "Check completeness", "pmo_reviewer", 2,
           form="project_approval-check.schema.json", row=UP,
           props={"fourEyes": "true", "sla": "P2D",
                  "description": "Charter complete, WBS or milestone plan attached, budget "
                                 "broken down?"})
    p.scripts("check", pre='comment = ""')
    timers(p, "check", "pmo_reviewer", 2, role="pmo_reviewer", step="Completeness check",
           days="2", escalate_to='"pmo_head"')
    p.gateway("check_gw", "Complete?", "pmo_reviewer", 3.4, default="f_check_rework", row=UP)
    p.service("reject_check", "Reject proposal", "pmo_reviewer", 4.4,
              "approval_reject_proposal", params={"reason": ("str", "comment"),
                                                  "decided_by": ("str", '""')},
              result="project", row=UP)
    p.end("end_rejected_check", "Rejected", "pmo_reviewer", 5.3, row=UP)
    # --- routing -------------------------------------------------------------------
    p.rule("route", "Route by approval rules", "pmo_reviewer", 4.4, "approval_routing",
           row=LOW)
    # No matching rule leaves the output unset (and an earlier round's in the data).
    p.scripts("route", pre="approvers = []")
    p.service("record_routing", "Record routing", "pmo_reviewer", 5.4,
              "approval_record_routing",
              params={"approvers": ("list", "approvers")},
              result="routing", row=LOW)
    p.gateway("split", "Who approves?", "pmo_reviewer", 6.4, kind="inclusive",
              default="f_split_default", row=LOW)
    # --- reviews -------------------------------------------------------------------
    review(p, "pmo_head", "pmo_head", 8, "PMO head review", "project_approval-review.schema.json")
    review(p, "finance", "finance", 8, "Finance review", "project_approval-review.schema.json")
    p.user("steering_vote", "Committee vote", "steering", 8,
           form="project_approval-vote.schema.json", multi=VOTE_MI, row=UP,
           props={"fourEyes": "true", "distinctActors": "true",
                  "slaExpression": 'routing["sla_days"]["steering"]',
                  "description": "Three members vote; two equal votes decide."})
    p.scripts("steering_vote", pre='comment = ""',
              post='ballot = {"decision": decision, "comment": comment}')
    p.service("record_steering", "Record committee decision", "steering", 9,
              "approval_record_committee",
              params={"votes": ("list", "votes"), "routing": ("dict", "routing"),
                      "seats": ("int", "3")},
              result="routing", row=UP)
    p.scripts("record_steering", post="del votes")
    p.flow("steering_vote", "record_steering")
    timers(p, "steering_vote", "steering", 8, role="steering", step="Committee vote",
           days='routing["sla_days"]["steering"]',
           escalate_to='routing["escalate_to"]["steering"]', seats="3")
    # --- combining and the result ------------------------------------------------------
    p.gateway("join", "All reviews in", "pmo_head", 10, kind="inclusive", row=UP)
    p.service("combine", "Combine decisions", "pmo_head", 11, "approval_combine_reviews",
              params={"routing": ("dict", "routing")}, result="review_result", row=UP)
    p.gateway("result_gw", "Result?", "pmo_head", 12, default="f_result_changes", row=UP)
    p.service("reject_review", "Reject proposal", "pmo_head", 12, "approval_reject_proposal",
              params={"reason": ("str", 'review_result["reason"]'),
                      "decided_by": ("str", 'review_result["decided_by"]')},
              result="project", row=LOW)
    p.end("end_rejected", "Rejected", "pmo_head", 13, row=LOW)
    p.service("register", "Register project", "pmo_head", 13, "approval_register_project",
              result="project", row=UP)
    p.user("kickoff", "Record kick-off", "pm", 14, form="project_approval-kickoff.schema.json",
           row=UP, props={"assignee": "initiator",
                          "slaExpression": '"clock:" + hours(24 * max(1, days_between('
                                           'today(), planned_start)))',
                          "description": "When the kick-off has taken place, record its date."})
    p.service("start_execution", "Start execution", "pm", 15, "approval_start_execution",
              params={"kickoff_date": ("str", "kickoff_date")}, result="project", row=UP)
    p.end("end_executing", "Executing", "pm", 16, row=UP)
    _flows(p)
    return p


def _flows(p: Diagram) -> None:
    y_top_pm = p._lane_top("pm") + 24
    p.flow("start", "record_proposal")
    p.flow("record_proposal", "check")
    p.flow("check", "check_gw")
    p.flow("check_gw", "revise", id="f_check_rework", name="rework", route="v")
    p.flow("revise", "update_proposal", route="h")
    p.flow("update_proposal", "check", route="v")
    p.flow("check_gw", "reject_check", name="reject", condition='decision == "reject"')
    p.flow("reject_check", "end_rejected_check")
    p.flow("check_gw", "route", name="accept", condition='decision == "accept"', route="vh")
    p.flow("route", "record_routing")
    p.flow("record_routing", "split")
    for role, target in (("pmo_head", "review_pmo_head"), ("finance", "review_finance"),
                         ("steering", "steering_vote")):
        p.flow("split", target, id=f"f_split_{role}", name=role,
               condition=f'"{role}" in [a["role"] for a in approvers]', route="vh")
    p.flow("split", "review_pmo_head", id="f_split_default", name="no rule matched",
           route="join")
    for src in ("record_pmo_head", "record_finance", "record_steering"):
        p.flow(src, "join", route="auto")
    p.flow("join", "combine")
    p.flow("combine", "result_gw")
    p.flow("result_gw", "register", name="approved",
           condition='review_result["result"] == "approved"')
    p.flow("result_gw", "reject_review", name="rejected",
           condition='review_result["result"] == "rejected"', route="v")
    p.flow("result_gw", "revise", id="f_result_changes", name="changes",
           route=f"up:{y_top_pm}")
    p.flow("reject_review", "end_rejected", route="h")
    p.flow("register", "kickoff")
    p.flow("kickoff", "start_execution")
    p.flow("start_execution", "end_executing")


def main() -> None:
    """Write the diagram."""
    out = ROOT / "bpmn" / "project_approval.bpmn"
    out.write_text(build().render(), encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

