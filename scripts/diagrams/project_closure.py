"""Draw ``bpmn/project_closure.bpmn`` (结项与经验总结) with scripts/bpmn_gen.py.

Run: ``python scripts/diagrams/project_closure.py``.  The forms it names are
``bpmn/forms/project_closure-*.schema.json``; the glue is ``workflows/closure.py``; the
decision tables are ``bpmn/closure_cost_variance.dmn`` and ``bpmn/closure_lesson_window.dmn``.

The lessons are collected by a multi-instance *embedded* sub-process ("Collect lessons"),
drawn collapsed in the main diagram with its content on a drill-down plane of its own, so
both drawings stay flat.  Why not a called process: see the module docstring of
``workflows/closure.py``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scripts import bpmn_gen  # noqa: E402
from scripts.bpmn_gen import Flow, Node, Process  # noqa: E402

FORM = "project_closure-{}.schema.json"
#: Lane heights (the generator's lanes are all alike; these lanes carry timer rows).
HEIGHTS = {"sponsor": 320, "pm": 260, "finance": 320, "team": 190, "pmo_reviewer": 170}
UP, LOW1, LOW2 = -1.75, 0.35, 2.2  # rows of a lane with timers: main path, two timer paths
PM_UP, PM_LOW = -1.35, 1.35

DOC = """Project closure and lessons learned (结项与经验总结). The PM starts closing a
project they manage (Initiation or Executing): deliverables accepted, actual cost, actual
end, customer satisfaction, open risks and issues, and the team members to ask for lessons.
The project moves to Closing and the actuals are recorded. Three branches then run in
parallel. (1) The project's sponsor signs off acceptance (four eyes, SLA 5 working days,
reminder at the SLA, escalation to the PMO head after a second period); a refusal sends the
project back to Executing with the sponsor's reason, the PM fixes the deliverables and
resubmits (Closing again), and the sponsor signs off again. (2) Finance checks the cost
variance in the reporting currency: the table closure_cost_variance decides whether the
variance needs an explanation (default: more than 10% over budget, 5% above 1,000,000 CNY,
or more than 25% under budget); if so the PM explains first; finance accepts or asks again
(the PM explains again). SLA 3 working days, reminder and escalation as above. (3) Every
listed team member is asked for lessons at the same time, within a window from the table
closure_lesson_window (default 5 working days); each lesson is saved in the lessons library
(unpublished) the moment it is written; when the window closes the unanswered requests are
cancelled and the process goes on with what was collected (an empty list skips the step).
A PMO reviewer then edits, merges and chooses the lessons to publish (skipped when nothing
was collected). When all three branches are done the project is archived (stage Closed)
and the PM and sponsor are told. Withdrawing the closure returns the project to Executing."""

SUB_DOC = """One team member's lessons: the member writes them (assigned to the member);
they are saved at once. A reminder goes out one working day before the window closes; when
it closes the unanswered request is cancelled and recorded as not answered."""


class Diagram(Process):
    """bpmn_gen's Process with lanes of their own heights, straight routes, sub-processes."""

    def __init__(self, *args, heights: dict[str, int] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.heights = heights or {}
        self.subprocesses: dict[str, Process] = {}
        #: Node id -> its label's place: "above" or "below" on the left (a flow or
        #: another label is where the generator puts it).
        self.node_labels: dict[str, str] = {}
        #: Flow id -> where its label goes ("corner" or "left"; default: its start).
        self.flow_labels: dict[str, str] = {}

    # ---------------------------------------------------------------- lanes
    def _real_top(self, lane: str) -> float:
        top = 60.0
        for key, _ in self.lanes:
            if key == lane:
                return top
            top += self.heights.get(key, bpmn_gen.LANE_H)
        raise KeyError(lane)

    def _lane_top(self, lane: str) -> float:
        """A virtual top that puts the generator's lane centre at the real lane centre."""
        height = self.heights.get(lane, bpmn_gen.LANE_H)
        return self._real_top(lane) + height / 2 - bpmn_gen.LANE_H / 2

    def _di(self) -> str:
        xml = super()._di()
        width = self._width() - 30
        total = sum(self.heights.get(k, bpmn_gen.LANE_H) for k, _ in self.lanes)
        shapes = [bpmn_gen._shape(f"Participant_{self.key}", 30, 60, width, total,
                                  horizontal=True)]
        shapes += [bpmn_gen._shape(f"Lane_{k}", 60, self._real_top(k), width - 30,
                                   self.heights.get(k, bpmn_gen.LANE_H), horizontal=True)
                   for k, _ in self.lanes]
        cut = xml.index(f'<bpmndi:BPMNShape id="{next(iter(self.nodes))}_di"')
        return "".join(shapes) + xml[cut:]

    # ---------------------------------------------------------------- nodes
    def scripts(self, node_id: str, pre: str = "", post: str = "") -> None:
        """Add a preScript (runs when the task opens) or postScript (when it completes)."""
        node = self.nodes[node_id]
        extra = f"<spiffworkflow:preScript>{escape(pre)}</spiffworkflow:preScript>" if pre else ""
        if post:
            extra += f"<spiffworkflow:postScript>{escape(post)}</spiffworkflow:postScript>"
        if "</bpmn:extensionElements>" in node.body:
            node.body = node.body.replace("</bpmn:extensionElements>",
                                          extra + "</bpmn:extensionElements>", 1)
        else:
            node.body = f"<bpmn:extensionElements>{extra}</bpmn:extensionElements>" + node.body

    def subprocess(self, id: str, name: str, lane: str, col: float, inner: Process, *,
                   multi: str, row: float = 0, documentation: str = "") -> Node:
        """A collapsed embedded sub-process whose content is ``inner`` (own DI plane)."""
        self.subprocesses[id] = inner
        doc = (f"<bpmn:documentation>{escape(documentation)}</bpmn:documentation>"
               if documentation else "")
        return self.add(Node(id, "subProcess", name, lane, col, row, doc,
                             attrs={"_multi": multi}))

    def _node_xml(self, n: Node) -> str:
        xml = super()._node_xml(n)
        inner = self.subprocesses.get(n.id)
        if inner is None:
            return xml
        content = "".join(inner._node_xml(c) for c in inner.nodes.values())
        content += "".join(_flow_xml(f) for f in inner.flows)
        return xml.replace("</bpmn:subProcess>", content + "</bpmn:subProcess>")

    def render(self) -> str:
        """The document with the sub-processes collapsed and drawn on their own planes."""
        xml = super().render()
        planes = ""
        for sub_id, inner in self.subprocesses.items():
            xml = xml.replace(f'<bpmndi:BPMNShape id="{sub_id}_di" bpmnElement="{sub_id}"',
                              f'<bpmndi:BPMNShape id="{sub_id}_di" bpmnElement="{sub_id}" '
                              'isExpanded="false"')
            shapes = "".join(_node_shape(inner, n) for n in inner.nodes.values())
            shapes += "".join(inner._edge(f) for f in inner.flows)
            planes += (f'<bpmndi:BPMNDiagram id="Diagram_{sub_id}">'
                       f'<bpmndi:BPMNPlane id="Plane_{sub_id}" bpmnElement="{sub_id}">'
                       f"{shapes}</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>\n")
        xml = xml.replace("</bpmn:definitions>", planes + "</bpmn:definitions>")
        for inner in self.subprocesses.values():
            xml = _timer_labels(inner, xml)
        for node_id, where in self.node_labels.items():
            x, y, _w, h = self._bounds(self.nodes[node_id])
            ly = y - 20 if where == "above" else y + h - 8
            xml = re.sub(
                rf'(<bpmndi:BPMNShape id="{node_id}_di"[^>]*>.*?<bpmndi:BPMNLabel>)'
                r'<dc:Bounds [^/]*/>',
                lambda m, x=x, ly=ly: (f'{m.group(1)}<dc:Bounds x="{x - 84:.0f}" '
                                       f'y="{ly:.0f}" width="80" height="28"/>'),
                xml, count=1)
        return _timer_labels(self, xml)

    # ---------------------------------------------------------------- routes
    def _edge(self, f: Flow) -> str:
        pts = self._custom(f)
        if pts is None:
            return super()._edge(f)
        wps = "".join(f'<di:waypoint x="{x:.0f}" y="{y:.0f}"/>' for x, y in pts)
        label = ""
        if f.name:
            (x0, y0), (x1, y1) = pts[0], pts[1]
            lx, ly = (x0 + 6, y0 + (-18 if y1 <= y0 else 4)) if x0 == x1 else (
                x0 + (6 if x1 > x0 else -96), y0 - 18)
            where = self.flow_labels.get(f.id)
            if where == "corner":  # beside the bend, on the side the flow turns to
                x2 = pts[2][0]
                lx, ly = (x1 + 6 if x2 > x1 else x1 - 96), y1 - 18
            elif where == "left":  # left of the first segment
                lx, ly = x0 - 96, y0 - 22
            label = (f'<bpmndi:BPMNLabel><dc:Bounds x="{lx:.0f}" y="{ly:.0f}" '
                     f'width="90" height="14"/></bpmndi:BPMNLabel>')
        return (f'<bpmndi:BPMNEdge id="{f.id}_di" bpmnElement="{f.id}">{wps}{label}'
                "</bpmndi:BPMNEdge>")

    def _custom(self, f: Flow) -> list[tuple[float, float]] | None:
        s, t = self.nodes[f.source], self.nodes[f.target]
        sx, sy, sw, sh = self._bounds(s)
        tx, ty, tw, th = self._bounds(t)
        scx, scy, tcx, tcy = sx + sw / 2, sy + sh / 2, tx + tw / 2, ty + th / 2
        if f.route == "v":  # straight up or down
            return [(scx, sy + sh), (scx, ty)] if tcy > scy else [(scx, sy), (scx, ty + th)]
        if f.route == "h":  # straight left or right
            return [(sx, scy), (tx + tw, tcy)] if tcx < scx else [(sx + sw, scy), (tx, tcy)]
        if f.route == "side":  # from a boundary event: down, then into the near side
            return [(scx, sy + sh), (scx, tcy), (tx + tw if tcx < scx else tx, tcy)]
        if f.route == "hv":  # sideways out of the source, then into the top or bottom
            end_y = ty if tcy > scy else ty + th
            return [(sx + sw if tcx > scx else sx, scy), (tcx, scy), (tcx, end_y)]
        if f.route == "vh":  # up or down out of the source, then into the near side
            start_y = sy + sh if tcy > scy else sy
            return [(scx, start_y), (scx, tcy), (tx if tcx > scx else tx + tw, tcy)]
        return None


class Plane(Diagram):
    """The content of a sub-process: laid out like a one-lane diagram, no pool."""


def _flow_xml(f: Flow) -> str:
    cond = (f"<bpmn:conditionExpression>{escape(f.condition)}</bpmn:conditionExpression>"
            if f.condition else "")
    nm = f" name={quoteattr(f.name)}" if f.name else ""
    return (f'<bpmn:sequenceFlow id="{f.id}"{nm} sourceRef="{f.source}" '
            f'targetRef="{f.target}">{cond}</bpmn:sequenceFlow>')


def _node_shape(p: Process, n: Node) -> str:
    x, y, w, h = p._bounds(n)
    label = (x - 30, y + h + 4, w + 60, 28) if n.kind != "task" else None
    return bpmn_gen._shape(n.id, x, y, w, h, label=label)


def _timer_labels(p: Process, xml: str) -> str:
    """Boundary timer labels beside their events, not under them (where flows run)."""
    for node in p.nodes.values():
        if not node.attached_to:
            continue
        x, y, w, _h = p._bounds(node)
        left = float(node.attrs.get("_offset", "0.7")) < 0.5
        lx = x - 92 if left else x + w + 2
        xml = re.sub(
            rf'(<bpmndi:BPMNShape id="{node.id}_di"[^>]*>.*?<bpmndi:BPMNLabel>)<dc:Bounds [^/]*/>',
            lambda m, lx=lx, y=y: (f'{m.group(1)}<dc:Bounds x="{lx:.0f}" y="{y + 6:.0f}" '
                                   'width="90" height="28"/>'), xml, count=1)
    return xml


# --------------------------------------------------------------------------- pieces


def sla_timers(p: Diagram, host: str, lane: str, col: float, *, step: str, days: int,
               audience: str) -> None:
    """Reminder at the SLA (right) and escalation to the PMO head after a second period
    (left); both non-interrupting: the step stays open."""
    common = {"step": ("str", repr(step)), "audience": ("str", repr(audience)),
              "due_days": ("int", str(days))}
    p.boundary_timer(f"{host}_due", "SLA reached", host, date=f"in_working_days({days})",
                     interrupting=False, offset=0.75)
    p.service(f"{host}_remind", "Send reminder", lane, col + 0.95, "closure_remind",
              params=common, row=LOW1)
    p.end(f"{host}_reminded", "Reminded", lane, col + 1.7, row=LOW1)
    p.boundary_timer(f"{host}_overdue", "Second period", host,
                     date=f"in_working_days({2 * days})", interrupting=False, offset=0.25)
    p.service(f"{host}_escalate", "Escalate to PMO head", lane, col - 1.45,
              "closure_escalate", params=common, row=LOW2)
    p.end(f"{host}_escalated", "Escalated", lane, col - 2.2, row=LOW2)
    p.flow(f"{host}_due", f"{host}_remind", route="side")
    p.flow(f"{host}_remind", f"{host}_reminded", route="h")
    p.flow(f"{host}_overdue", f"{host}_escalate", route="side")
    p.flow(f"{host}_escalate", f"{host}_escalated", route="h")


LESSONS_MI = ("<bpmn:multiInstanceLoopCharacteristics>"
              "<bpmn:loopDataInputRef>lesson_team</bpmn:loopDataInputRef>"
              "<bpmn:loopDataOutputRef>lesson_receipts</bpmn:loopDataOutputRef>"
              '<bpmn:inputDataItem id="member" name="member"/>'
              '<bpmn:outputDataItem id="lesson_receipt" name="lesson_receipt"/>'
              "</bpmn:multiInstanceLoopCharacteristics>")


def lesson_plane() -> Plane:
    """One member's contribution (the content of "Collect lessons")."""
    q = Plane("lesson_contribution_plane", "Lesson contribution", lanes=[("team", "Team")],
              heights={"team": 320})
    q.start("lesson_asked", "Member asked", "team", 0, row=UP)
    q.user("write_lesson", "Write lessons learned", "team", 1.2, form=FORM.format("lesson"),
           row=UP, props={"assignee": "member", "slaExpression": 'lesson_window["days"]',
                          "description": "What went well, what did not, your recommendation"
                                         " (before the window closes)."})
    q.service("save_lesson", "Save lesson", "team", 2.4, "closure_save_lesson",
              params={"member": ("str", "member")}, result="lesson_receipt", row=UP)
    q.end("lesson_saved", "Lesson saved", "team", 3.4, row=UP)
    q.boundary_timer("lesson_due_soon", "Window closing soon", "write_lesson",
                     date='lesson_window["remind_at"]', interrupting=False, offset=0.75)
    q.service("remind_member", "Remind member", "team", 2.15, "closure_remind_member",
              params={"member": ("str", "member")}, row=LOW1)
    q.end("member_reminded", "Reminded", "team", 2.9, row=LOW1)
    q.boundary_timer("window_closed", "Window closed", "write_lesson",
                     date='lesson_window["closes_at"]', offset=0.25)
    q.service("record_no_answer", "Record no answer", "team", 2.15, "closure_lesson_missed",
              params={"member": ("str", "member")}, result="lesson_receipt", row=LOW2)
    q.end("no_answer", "No answer", "team", 2.9, row=LOW2)
    q.flow("lesson_asked", "write_lesson")
    q.flow("write_lesson", "save_lesson")
    q.flow("save_lesson", "lesson_saved")
    q.flow("lesson_due_soon", "remind_member", route="side")
    q.flow("remind_member", "member_reminded", route="h")
    q.flow("window_closed", "record_no_answer", route="side")
    q.flow("record_no_answer", "no_answer", route="h")
    return q


def build() -> Diagram:
    """The whole process."""
    p = Diagram("project_closure", "Project closure",
                lanes=[("sponsor", "Sponsor"), ("pm", "Project manager"),
                       ("finance", "Finance"), ("team", "Project team"),
                       ("pmo_reviewer", "PMO reviewer")],
                documentation=DOC, properties={"onCancel": "closure_withdrawn"},
                heights=HEIGHTS)
    # --- start ------------------------------------------------------------------------
    p.start("start", "Closure requested", "pm", 0, form=FORM.format("start"))
    p.service("check_and_record", "Check and record actuals", "pm", 1, "closure_start",
              result="closure")
    p.scripts("check_and_record", post='lesson_team = closure["team"]')
    p.gateway("split", "", "pm", 2, kind="parallel")
    # --- acceptance ---------------------------------------------------------------------
    p.user("sign_off", "Sign off acceptance", "sponsor", 3, form=FORM.format("sign_off"),
           row=UP, props={"fourEyes": "true", "sla": "P5D",
                          "description": "Are the deliverables accepted? Sign off, or refuse "
                                         "with the reason (the PM fixes and resubmits)."})
    p.scripts("sign_off", pre='decision = ""\ncomment = ""')
    sla_timers(p, "sign_off", "sponsor", 3, step="Acceptance sign-off", days=5,
               audience="sponsor")
    p.service("record_sign_off", "Record sign-off", "sponsor", 4, "closure_record_sign_off",
              params={"decision": ("str", "decision"), "comment": ("str", "comment")},
              result="acceptance", row=UP)
    p.gateway("signed_gw", "Signed off?", "sponsor", 5, default="f_refused", row=UP)
    p.user("fix", "Fix deliverables", "pm", 4, form=FORM.format("fix"), row=PM_UP,
           props={"assignee": "initiator", "sla": "P10D",
                  "description": "The sponsor refused acceptance; fix what they named."})
    p.service("resubmit", "Resubmit for acceptance", "pm", 3, "closure_resubmit",
              params={"fix_notes": ("str", "fix_notes")}, result="resubmission", row=PM_UP)
    # --- cost variance --------------------------------------------------------------------
    p.rule("variance_rule", "Cost variance rule", "finance", 3, "closure_cost_variance", row=UP)
    p.scripts("variance_rule", pre="variance_rule = {}")  # no matching rule: no outputs
    p.service("record_variance", "Record variance check", "finance", 4,
              "closure_record_variance",
              params={"rule": ("dict", "variance_rule")}, result="cost_check", row=UP)
    p.gateway("explain_gw", "Explanation needed?", "finance", 5, default="f_no_explanation",
              row=UP)
    p.user("explain", "Explain cost variance", "pm", 5.5, form=FORM.format("explain"),
           row=PM_LOW, props={"assignee": "initiator", "sla": "P2D",
                              "description": "Explain the cost variance for finance."})
    p.user("check_variance", "Check cost variance", "finance", 6, form=FORM.format("finance"),
           row=UP, props={"fourEyes": "true", "sla": "P3D",
                          "description": "Accept the actual cost and the variance, or ask "
                                         "the PM (again) to explain it."})
    p.scripts("check_variance", pre='decision = ""\ncomment = ""')
    sla_timers(p, "check_variance", "finance", 6, step="Cost variance check", days=3,
               audience="finance")
    p.service("record_check", "Record finance check", "finance", 7,
              "closure_record_finance_check",
              params={"decision": ("str", "decision"), "comment": ("str", "comment")},
              result="variance_review", row=UP)
    p.gateway("accepted_gw", "Variance accepted?", "finance", 8, default="f_ask_again", row=UP)
    # --- lessons learned ------------------------------------------------------------------
    p.rule("window_rule", "Lesson window rule", "team", 3, "closure_lesson_window")
    p.scripts("window_rule", pre="lesson_window_days = 5")  # when no rule matches
    p.service("open_window", "Open lesson window", "team", 4, "closure_open_window",
              params={"days": ("int", "lesson_window_days")}, result="lesson_window")
    p.subprocess("collect_lessons", "Collect lessons", "team", 5, lesson_plane(),
                 multi=LESSONS_MI, documentation=SUB_DOC)
    p.service("load_lessons", "Load collected lessons", "team", 6, "closure_load_lessons",
              result="collected_lessons")
    p.gateway("any_lessons_gw", "Any lessons?", "team", 7, default="f_no_lessons")
    p.user("curate", "Curate lessons", "pmo_reviewer", 8, form=FORM.format("curate"),
           props={"fourEyes": "true", "sla": "P5D",
                  "description": "Edit, merge and choose the lessons to publish."})
    p.service("publish", "Publish curated lessons", "pmo_reviewer", 9, "closure_curate",
              result="curation")
    p.gateway("lessons_done", "", "team", 9.9)
    # --- archive ------------------------------------------------------------------------
    p.gateway("join", "", "pm", 10.9, kind="parallel")
    p.service("archive", "Archive project", "pm", 11.9, "closure_archive", result="archived")
    p.end("end", "Project closed", "pm", 12.9)
    p.node_labels.update({"signed_gw": "above", "any_lessons_gw": "above",
                          "explain_gw": "below"})
    p.flow_labels.update({"f_ask_again": "corner", "f_accepted": "corner",
                          "f_over": "left"})
    _flows(p)
    return p


def _flows(p: Diagram) -> None:
    p.flow("start", "check_and_record")
    p.flow("check_and_record", "split")
    p.flow("split", "sign_off", route="vh")
    p.flow("split", "variance_rule", route="vh")
    p.flow("split", "window_rule", route="vh")
    # acceptance
    p.flow("sign_off", "record_sign_off")
    p.flow("record_sign_off", "signed_gw")
    p.flow("signed_gw", "join", name="signed off", route="hv",
           condition='acceptance["decision"] == "sign_off"')
    p.flow("signed_gw", "fix", id="f_refused", name="refused", route="vh")
    p.flow("fix", "resubmit", route="h")
    p.flow("resubmit", "sign_off", route="v")
    # cost variance
    p.flow("variance_rule", "record_variance")
    p.flow("record_variance", "explain_gw")
    p.flow("explain_gw", "explain", id="f_over", name="over threshold", route="vh",
           condition='cost_check["explain"] == True')
    p.flow("explain_gw", "check_variance", id="f_no_explanation", name="within", route="h")
    p.flow("explain", "check_variance", route="vh")
    p.flow("check_variance", "record_check")
    p.flow("record_check", "accepted_gw")
    p.flow("accepted_gw", "join", id="f_accepted", name="accepted", route="vh",
           condition='variance_review["decision"] == "accept"')
    p.flow("accepted_gw", "explain", id="f_ask_again", name="ask again", route="vh")
    # lessons
    p.flow("window_rule", "open_window")
    p.flow("open_window", "collect_lessons")
    p.flow("collect_lessons", "load_lessons")
    p.flow("load_lessons", "any_lessons_gw")
    p.flow("any_lessons_gw", "curate", name="yes", route="vh",
           condition="len(collected_lessons) > 0")
    p.flow("any_lessons_gw", "lessons_done", id="f_no_lessons", name="none", route="h")
    p.flow("curate", "publish")
    p.flow("publish", "lessons_done")
    p.flow("lessons_done", "join", route="hv")
    # archive
    p.flow("join", "archive")
    p.flow("archive", "end")


def main() -> None:
    """Write the diagram."""
    out = ROOT / "bpmn" / "project_closure.bpmn"
    out.write_text(build().render(), encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
