"""Draw ``bpmn/risk_review.bpmn`` (三级评审) with scripts/bpmn_gen.py.

Run from the repository root: ``python scripts/diagrams/risk_review.py``.

bpmn_gen lays out flat processes; this script adds what the risk review needs on top:
an expanded sub-process ("Risk review", the three review levels) drawn across the
reviewers' lanes, escalation and terminate end events, an escalation boundary event on
the sub-process, pre-scripts, taller lanes and a few flows with explicit waypoints.

Lanes are 250 px high: each has a main row (the work) and, under it, a row for the SLA
reminder branches hanging off the boundary timers.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scripts import bpmn_gen  # noqa: E402
from scripts.bpmn_gen import COL_W, X0, Flow, Node, Process  # noqa: E402

LANE_H = 250
MAIN = -1.2  # main row, above the lane's middle
SIDE = 1.3  # reminder row, under the boundary timers
SUB = "review"  # the review sub-process
ESCALATION = "Escalation_no_decision"
REVIEWS = (  # element, lane (= role), name, form, SLA key
    ("sponsor_review", "sponsor", "Sponsor review (level 1)", "risk_review-review", "sponsor"),
    ("pmo_review", "pmo_head", "PMO review (level 2)", "risk_review-review", "pmo"),
    ("steering_review", "steering", "Steering decision (level 3)", "risk_review-steering",
     "steering"),
)
SHOW = ("project_name = project['label']\n"
        "levels_needed = review['levels_required']\n"
        "review_trail = review['trail']\n"
        "decision = ''\n"
        "comment = ''")


@contextlib.contextmanager
def lane_height(height: int) -> Iterator[None]:
    """Lay out with taller lanes (bpmn_gen reads its module constant at layout time)."""
    saved = bpmn_gen.LANE_H
    bpmn_gen.LANE_H = height
    try:
        yield
    finally:
        bpmn_gen.LANE_H = saved


class Layout(Process):
    """bpmn_gen's Process plus one expanded sub-process, explicit waypoints and bounds."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.parent: dict[str, str] = {}  # child node id -> sub-process id
        self.waypoints: dict[str, list[tuple[float, float]]] = {}
        self.boxes: dict[str, tuple[float, float, float, float]] = {}
        #: element or flow id -> label (x, y) where bpmn_gen's default placement collides
        self.labels: dict[str, tuple[float, float]] = {}
        self._inside: str | None = None

    # ----------------------------------------------------------------- building
    def add(self, node: Node) -> Node:
        if self._inside:
            self.parent[node.id] = self._inside
        return super().add(node)

    @contextlib.contextmanager
    def inside(self, sub_id: str) -> Iterator[None]:
        """Nodes added in this block belong to the sub-process ``sub_id``."""
        self._inside = sub_id
        try:
            yield
        finally:
            self._inside = None

    def subprocess(self, id: str, name: str, box: tuple[float, float, float, float]) -> Node:
        """An expanded sub-process drawn at ``box`` (x, y, width, height)."""
        self.boxes[id] = box
        return self.add(Node(id, "subProcess", name, None, 0))

    def boundary(self, id: str, name: str, attached_to: str, body: str,
                 at: tuple[float, float]) -> Node:
        """An interrupting boundary event with any definition, centred at ``at``."""
        self.boxes[id] = (at[0] - 18, at[1] - 18, 36, 36)
        return self.add(Node(id, "boundaryEvent", name, None, 0, body=body,
                             attrs={"attachedToRef": attached_to}, attached_to=attached_to))

    def pre_script(self, node_id: str, script: str) -> None:
        """Add a ``spiffworkflow:preScript`` (runs when the task becomes ready)."""
        node = self.nodes[node_id]
        tag = f"<spiffworkflow:preScript>{escape(script)}</spiffworkflow:preScript>"
        node.body = node.body.replace("</bpmn:extensionElements>",
                                      tag + "</bpmn:extensionElements>", 1)

    # ----------------------------------------------------------------- geometry
    def x(self, col: float) -> float:
        """Centre x of a column."""
        return X0 + col * COL_W + 60

    def y(self, lane: str, row: float = MAIN) -> float:
        """Centre y of a row in a lane."""
        return self.lane_top(lane) + LANE_H / 2 + row * bpmn_gen.ROW_DY

    def lane_top(self, lane: str) -> float:
        """Top edge of a lane."""
        with lane_height(LANE_H):
            return self._lane_top(lane)

    def _bounds(self, n: Node) -> tuple[float, float, float, float]:
        if n.id in self.boxes:
            return self.boxes[n.id]
        return super()._bounds(n)

    def _edge(self, f: Flow) -> str:
        points = self.waypoints.get(f.id)
        if points is None:
            return super()._edge(f)
        wps = "".join(f'<di:waypoint x="{x:.0f}" y="{y:.0f}"/>' for x, y in points)
        label = ""
        if f.name:
            lx, ly = points[1] if len(points) > 2 else points[0]
            label = (f'<bpmndi:BPMNLabel><dc:Bounds x="{lx + 4:.0f}" y="{ly - 18:.0f}" '
                     'width="70" height="14"/></bpmndi:BPMNLabel>')
        return (f'<bpmndi:BPMNEdge id="{f.id}_di" bpmnElement="{f.id}">{wps}{label}'
                "</bpmndi:BPMNEdge>")

    # ----------------------------------------------------------------- rendering
    def render(self) -> str:
        with lane_height(LANE_H):
            top = [n for n in self.nodes.values() if n.id not in self.parent]
            for sub in self.boxes.keys() & {n.id for n in top if n.tag == "subProcess"}:
                self.nodes[sub].body = self._children_xml(sub)
            lanes_xml = "".join(
                f'<bpmn:lane id="Lane_{k}" name="{k}">'
                + "".join(f"<bpmn:flowNodeRef>{n.id}</bpmn:flowNodeRef>" for n in top
                          if n.lane == k)
                + "</bpmn:lane>" for k, _ in self.lanes)
            body = [f'<bpmn:laneSet id="LaneSet_{self.key}">{lanes_xml}</bpmn:laneSet>']
            body += [self._node_xml(n) for n in top]
            body += [self._flow_xml(f) for f in self.flows if f.source not in self.parent]
            doc = f"<bpmn:documentation>{escape(self.documentation)}</bpmn:documentation>"
            props = bpmn_gen.props_xml(self.properties)
            process = (f'<bpmn:process id="{self.key}" name={quoteattr(self.name)} '
                       f'isExecutable="true">{doc}{props}' + "\n    ".join(body)
                       + "</bpmn:process>")
            di = self._di().replace(f'bpmnElement="{SUB}"', f'bpmnElement="{SUB}" '
                                    'isExpanded="true"', 1)
            for element, (x, y) in self.labels.items():
                di = _move_label(di, element, x, y)
            return bpmn_gen._document(self.key, self.name, process, di, self.extra_root)

    def _node_xml(self, n: Node) -> str:
        if n.tag not in ("subProcess", "endEvent", "intermediateCatchEvent"):
            return super()._node_xml(n)
        # bpmn_gen writes the body first; the schema wants the flows before an event
        # definition, and a sub-process's children after its own flows.
        flows = "".join(f"<bpmn:incoming>{f}</bpmn:incoming>" for f in n.incoming)
        flows += "".join(f"<bpmn:outgoing>{f}</bpmn:outgoing>" for f in n.outgoing)
        name = f" name={quoteattr(n.name)}" if n.name else ""
        return f'<bpmn:{n.tag} id="{n.id}"{name}>{flows}{n.body}</bpmn:{n.tag}>'

    def _children_xml(self, sub: str) -> str:
        kids = [n for n in self.nodes.values() if self.parent.get(n.id) == sub]
        inner = [self._node_xml(n) for n in kids]
        inner += [self._flow_xml(f) for f in self.flows if self.parent.get(f.source) == sub]
        return "\n      ".join(inner)

    @staticmethod
    def _flow_xml(f: Flow) -> str:
        name = f" name={quoteattr(f.name)}" if f.name else ""
        head = f'<bpmn:sequenceFlow id="{f.id}"{name} sourceRef="{f.source}" targetRef="{f.target}"'
        if not f.condition:
            return head + "/>"
        return (head + f"><bpmn:conditionExpression>{escape(f.condition)}"
                "</bpmn:conditionExpression></bpmn:sequenceFlow>")


def _move_label(di: str, element: str, x: float, y: float) -> str:
    """Move the label of one shape or edge in the DI to (x, y), keeping its size."""
    pattern = re.compile(rf'(bpmnElement="{re.escape(element)}"(?:(?!</bpmndi:BPMN).)*?'
                         r'<bpmndi:BPMNLabel><dc:Bounds )x="[^"]*" y="[^"]*"', re.S)
    moved, count = pattern.subn(rf'\g<1>x="{x:.0f}" y="{y:.0f}"', di, count=1)
    if count != 1:
        raise ValueError(f"no label to move for {element}")
    return moved


def build() -> Layout:
    """The three-level risk review."""
    p = Layout(
        "risk_review", "Three-level risk review",
        lanes=[("pm", "Project manager"), ("sponsor", "Sponsor"), ("pmo_head", "PMO head"),
               ("steering", "Steering committee")],
        documentation=(
            "A PM raises a risk on a project they manage. The PMO's table risk_scoring "
            "scores it (probability x impact) and says how many levels review it: the "
            "project's sponsor, the PMO, the steering committee. Each level approves the "
            "response plan, sends it back to the PM (who revises it; it is scored again and "
            "returns to the same level) or escalates it to the next level. SLAs per level "
            "come from the table risk_review_sla (reminder at the SLA, the next level told "
            "after a second period). Urgent risks: the PM has already acted; if no level has "
            "decided within the table's decision window (48 hours) the steering committee "
            "takes the decision. The decision lands in the risk register."),
        properties={"onCancel": "risk_withdrawn"},
    )
    p.extra_root = (f'<bpmn:escalation id="{ESCALATION}" name="No decision in time" '
                    'escalationCode="risk_no_decision"/>')
    _raise(p)
    _review(p)
    _result(p)
    return p


def _raise(p: Layout) -> None:
    p.start("start", "Risk raised", "pm", 0, form="risk_review-start.schema.json", row=MAIN)
    p.service("check", "Check project, bind instance", "pm", 1, "risk_check", result="project",
              row=MAIN)
    p.gateway("rescore", "", "pm", 2, row=MAIN)
    p.rule("score", "Score risk (P x I)", "pm", 3, "risk_scoring", row=MAIN)
    p.rule("slas", "Look up review SLAs", "pm", 4, "risk_review_sla", row=MAIN)
    p.service("register", "Enter in risk register", "pm", 5, "risk_register", result="review",
              row=MAIN)
    p.gateway("reenter", "", "pm", 6, row=MAIN)
    p.service("escalate", "Escalate to steering", "steering", 6, "risk_escalate_top",
              result="review", row=MAIN)
    for a, b in (("start", "check"), ("check", "rescore"), ("rescore", "score"),
                 ("score", "slas"), ("slas", "register"), ("register", "reenter")):
        p.flow(a, b)


def _review(p: Layout) -> None:
    top, bottom = p.lane_top("sponsor") + 10, p.lane_top("steering") + LANE_H - 10
    left, right = p.x(6) + 80, p.x(16) + 70
    p.subprocess(SUB, "Risk review", (left, top, right - left, bottom - top))
    with p.inside(SUB):
        p.start("r_start", "", "sponsor", 7, row=MAIN)
        p.gateway("fork", "", "sponsor", 8, kind="parallel", row=MAIN)
        p.gateway("level_merge", "", "sponsor", 9, row=MAIN)
        p.gateway("which", "Which level?", "sponsor", 10, row=MAIN, default="to_steering")
        for element, lane, name, form, sla in REVIEWS:
            _review_task(p, element, lane, name, form, sla)
        p.gateway("reviewed", "", "sponsor", 13, row=MAIN)
        p.service("record", "Record review", "sponsor", 14, "risk_record_review",
                  result="review", row=MAIN,
                  params={"decision": ("str", "decision"), "comment": ("str", "comment")})
        p.gateway("more", "Next level?", "sponsor", 15, row=MAIN, default="to_done")
        p.end("done", "Reviewed", "sponsor", 16, row=MAIN,
              body="<bpmn:terminateEventDefinition/>")
        p.gateway("clock", "Decision window?", "steering", 8, row=MAIN, default="no_clock")
        p.end("no_window", "Not urgent", "steering", 9, row=MAIN)
        p.timer("window", "Window over", "steering", 8, date='review["deadline"]', row=SIDE)
        p.end("no_decision", "No decision in time", "steering", 9, row=SIDE,
              body=f'<bpmn:escalationEventDefinition escalationRef="{ESCALATION}"/>')
    p.boundary("late", "No decision in time", SUB,
               f'<bpmn:escalationEventDefinition escalationRef="{ESCALATION}"/>',
               (left, p.y("steering")))
    _review_flows(p)


def _review_task(p: Layout, element: str, lane: str, name: str, form: str, sla: str) -> None:
    p.user(element, name, lane, 11, form=f"{form}.schema.json", row=MAIN,
           props={"role": lane, "fourEyes": "true", "slaExpression": f'review_sla["{sla}"]'})
    p.pre_script(element, SHOW)
    p.boundary_timer(f"{element}_sla", "SLA passed", element, cycle='review["remind_cycle"]',
                     interrupting=False, offset=0.5)
    p.service(f"{element}_remind", "Remind, then tell next level", lane, 11.8, "risk_remind",
              row=SIDE)
    p.end(f"{element}_reminded", "Reminder sent", lane, 12.55, row=SIDE)


def _review_flows(p: Layout) -> None:
    p.flow("reenter", SUB)
    p.flow("r_start", "fork")
    p.flow("fork", "level_merge")
    p.flow("fork", "clock")
    p.flow("level_merge", "which")
    level = 'review["level"] == {}'
    p.flow("which", "sponsor_review", id="to_sponsor", name="1", condition=level.format(1))
    p.flow("which", "pmo_review", id="to_pmo", name="2", condition=level.format(2))
    p.flow("which", "steering_review", id="to_steering", name="3")
    for element, *_ in REVIEWS:
        p.flow(element, "reviewed")
        p.flow(f"{element}_sla", f"{element}_remind")
        p.flow(f"{element}_remind", f"{element}_reminded")
    p.flow("reviewed", "record")
    p.flow("record", "more")
    p.flow("more", "level_merge", id="to_next", name="next level",
           condition='review["next"] == "review"')
    p.flow("more", "done", id="to_done", name="done")
    p.flow("clock", "window", id="to_window", name="urgent",
           condition='review["clock"] == True')
    p.flow("clock", "no_window", id="no_clock", name="none")
    p.flow("window", "no_decision")
    p.flow("late", "escalate")
    p.flow("escalate", "reenter")
    _review_waypoints(p)


def _review_waypoints(p: Layout) -> None:
    left, top, _w, _h = p.boxes[SUB]
    merge_x, sponsor_y = p.x(13), p.y("sponsor")
    p.waypoints[f"Flow_reenter_{SUB}"] = [(p.x(6) + 25, p.y("pm")), (p.x(7), p.y("pm")),
                                          (p.x(7), top)]
    for element, lane in (("pmo_review", "pmo_head"), ("steering_review", "steering")):
        p.waypoints[f"Flow_{element}_reviewed"] = [(p.x(11) + 55, p.y(lane)),
                                                   (merge_x, p.y(lane)),
                                                   (merge_x, sponsor_y + 25)]
    channel = p.lane_top("sponsor") + LANE_H - 12
    p.waypoints["to_next"] = [(p.x(15), sponsor_y + 25), (p.x(15), channel),
                              (p.x(9), channel), (p.x(9), sponsor_y + 25)]
    p.waypoints["Flow_fork_clock"] = [(p.x(8), sponsor_y + 25), (p.x(8), p.y("steering") - 25)]
    p.waypoints["Flow_late_escalate"] = [(left - 18, p.y("steering")),
                                         (p.x(6) + 55, p.y("steering"))]
    p.waypoints["Flow_escalate_reenter"] = [(p.x(6), p.y("steering") - 40),
                                            (p.x(6), p.y("pm") + 25)]
    p.labels.update({
        "which": (p.x(10) - 55, top + 2), "more": (p.x(15) - 55, top + 2),
        "clock": (p.x(8) - 25 - 116, p.y("steering") - 10),
        "to_window": (p.x(8) + 6, p.y("steering") + 30),
        "no_clock": (p.x(8) + 30, p.y("steering") - 18),
        "late": (left + 4, p.y("steering") + 20),
    })


def _result(p: Layout) -> None:
    p.gateway("sent_back", "Sent back?", "pm", 17, row=MAIN, default="to_decide")
    p.user("revise", "Revise risk", "pm", 14, form="risk_review-revise.schema.json", row=MAIN,
           props={"role": "pm", "assignee": "initiator", "slaExpression": 'review_sla["sponsor"]'},
           documentation="Change the assessment or the response plan as the reviewer asked.")
    p.pre_script("revise", "project_name = project['label']\nfeedback = review['comment']\n"
                           "feedback_by = review['reviewer']")
    p.boundary_timer("revise_sla", "SLA passed", "revise", cycle='review["remind_cycle"]',
                     interrupting=False, offset=0.5)
    p.service("revise_remind", "Remind PM, then tell reviewer", "pm", 14.8, "risk_remind",
              row=SIDE)
    p.end("revise_reminded", "Reminder sent", "pm", 15.55, row=SIDE)
    p.service("decide", "Enter decision, tell PM and owner", "pm", 18, "risk_decide",
              result="risk", row=MAIN)
    p.end("end", "Risk decided", "pm", 19, row=MAIN)
    p.flow(SUB, "sent_back")
    p.flow("sent_back", "revise", id="to_revise", name="sent back",
           condition='review["next"] == "revise"')
    p.flow("sent_back", "decide", id="to_decide", name="decided")
    p.flow("revise", "rescore")
    p.flow("revise_sla", "revise_remind")
    p.flow("revise_remind", "revise_reminded")
    p.flow("decide", "end")
    left, _top, width, _h = p.boxes[SUB]
    pm_y, sponsor_y = p.y("pm"), p.y("sponsor")
    p.waypoints[f"Flow_{SUB}_sent_back"] = [(left + width, sponsor_y), (p.x(17), sponsor_y),
                                            (p.x(17), pm_y + 25)]
    p.waypoints["to_revise"] = [(p.x(17) - 25, pm_y), (p.x(14) + 55, pm_y)]
    p.labels.update({"sent_back": (p.x(17) - 55, pm_y - 25 - 34),
                     "to_revise": (p.x(17) - 100, pm_y - 18),
                     "to_decide": (p.x(17) + 30, pm_y - 18)})
    channel = p.lane_top("pm") + 12
    p.waypoints["Flow_revise_rescore"] = [(p.x(14), pm_y - 40), (p.x(14), channel),
                                          (p.x(2), channel), (p.x(2), pm_y - 25)]


def main() -> None:
    """Write bpmn/risk_review.bpmn."""
    out = ROOT / "bpmn" / "risk_review.bpmn"
    out.write_text(build().render(), encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
