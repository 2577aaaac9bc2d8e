"""Write laid-out BPMN 2.0 files (with diagram interchange) from a short Python description.

Used to draw the shipped PMO diagrams once; after that they are ordinary .bpmn files that
process owners edit in the modeler.  Lanes are stacked in one pool; each node sits in a
column and a lane (optionally shifted up or down a "row" inside the lane); flows are
drawn with right-angled waypoints, and back-edges run along the bottom of their lane.

    p = Process("demo", "Demo", lanes=[("pm", "Project manager"), ...])
    p.start("start", "Submitted", "pm", 0, form="demo-start.schema.json")
    p.user("review", "Review", "pmo_reviewer", 1, form="demo-review.schema.json")
    p.flow("start", "review")
    open("bpmn/demo.bpmn", "w").write(p.render())
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

LANE_H = 150
COL_W = 170
X0 = 110
ROW_DY = 48
SIZES = {"task": (110, 80), "event": (36, 36), "gateway": (50, 50)}
KIND = {
    "startEvent": "event", "endEvent": "event", "intermediateCatchEvent": "event",
    "boundaryEvent": "event", "exclusiveGateway": "gateway", "parallelGateway": "gateway",
    "inclusiveGateway": "gateway", "eventBasedGateway": "gateway",
}


@dataclass
class Node:
    id: str
    tag: str
    name: str
    lane: str | None
    col: float
    row: float = 0
    body: str = ""
    attrs: dict[str, str] = field(default_factory=dict)
    attached_to: str | None = None
    incoming: list[str] = field(default_factory=list)
    outgoing: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return KIND.get(self.tag, "task")


@dataclass
class Flow:
    id: str
    source: str
    target: str
    name: str | None
    condition: str | None
    route: str


def props_xml(props: dict[str, str] | None, extra: str = "") -> str:
    """``<extensionElements>`` with spiffworkflow properties (and any extra XML)."""
    if not props and not extra:
        return ""
    inner = ""
    if props:
        inner = "<spiffworkflow:properties>" + "".join(
            f"<spiffworkflow:property name={quoteattr(k)} value={quoteattr(v)}/>"
            for k, v in props.items()) + "</spiffworkflow:properties>"
    return f"<bpmn:extensionElements>{inner}{extra}</bpmn:extensionElements>"


class Process:
    """One executable process in one pool with role lanes."""

    def __init__(self, key: str, name: str, lanes: list[tuple[str, str]],
                 documentation: str = "", properties: dict[str, str] | None = None):
        self.key, self.name, self.lanes = key, name, lanes
        self.documentation = documentation
        self.properties = properties or {}
        self.nodes: dict[str, Node] = {}
        self.flows: list[Flow] = []
        self.defaults: dict[str, str] = {}
        self.extra_root = ""

    # ----------------------------------------------------------------- nodes
    def add(self, node: Node) -> Node:
        if node.id in self.nodes:
            raise ValueError(f"duplicate id {node.id}")
        self.nodes[node.id] = node
        return node

    def start(self, id: str, name: str, lane: str, col: float, *, form: str | None = None,
              props: dict[str, str] | None = None, row: float = 0, body: str = "") -> Node:
        p = dict(props or {})
        if form:
            p["formJsonSchemaFilename"] = form
        return self.add(Node(id, "startEvent", name, lane, col, row, props_xml(p) + body))

    def end(self, id: str, name: str, lane: str, col: float, *, row: float = 0,
            body: str = "") -> Node:
        return self.add(Node(id, "endEvent", name, lane, col, row, body))

    def user(self, id: str, name: str, lane: str, col: float, *, form: str | None = None,
             props: dict[str, str] | None = None, row: float = 0, multi: str = "",
             documentation: str = "") -> Node:
        p = dict(props or {})
        if form:
            p["formJsonSchemaFilename"] = form
        doc = (f"<bpmn:documentation>{escape(documentation)}</bpmn:documentation>"
               if documentation else "")
        return self.add(Node(id, "userTask", name, lane, col, row, doc + props_xml(p),
                             attrs={"_multi": multi} if multi else {}))

    def service(self, id: str, name: str, lane: str, col: float, operation: str, *,
                params: dict[str, tuple[str, str]] | None = None, result: str = "",
                row: float = 0) -> Node:
        ps = "".join(
            f"<spiffworkflow:parameter id={quoteattr(k)} type={quoteattr(t)} value={quoteattr(v)}/>"
            for k, (t, v) in (params or {}).items())
        rv = f" resultVariable={quoteattr(result)}" if result else ""
        op = (f"<spiffworkflow:serviceTaskOperator id={quoteattr(operation)}{rv}>"
              f"<spiffworkflow:parameters>{ps}</spiffworkflow:parameters>"
              "</spiffworkflow:serviceTaskOperator>")
        return self.add(Node(id, "serviceTask", name, lane, col, row, props_xml(None, op)))

    def rule(self, id: str, name: str, lane: str, col: float, decision: str, *,
             row: float = 0) -> Node:
        ext = f"<spiffworkflow:calledDecisionId>{escape(decision)}</spiffworkflow:calledDecisionId>"
        return self.add(Node(id, "businessRuleTask", name, lane, col, row, props_xml(None, ext)))

    def script(self, id: str, name: str, lane: str, col: float, script: str, *,
               row: float = 0) -> Node:
        return self.add(Node(id, "scriptTask", name, lane, col, row,
                             attrs={"_script": script}))

    def call(self, id: str, name: str, lane: str, col: float, called: str, *,
             row: float = 0, multi: str = "") -> Node:
        return self.add(Node(id, "callActivity", name, lane, col, row,
                             attrs={"calledElement": called,
                                    **({"_multi": multi} if multi else {})}))

    def gateway(self, id: str, name: str, lane: str, col: float, *, kind: str = "exclusive",
                default: str | None = None, row: float = 0) -> Node:
        node = self.add(Node(id, f"{kind}Gateway", name, lane, col, row))
        if default:
            self.defaults[id] = default
        return node

    def timer(self, id: str, name: str, lane: str, col: float, *, duration: str = "",
              date: str = "", row: float = 0) -> Node:
        return self.add(Node(id, "intermediateCatchEvent", name, lane, col, row,
                             _timer(duration, date)))

    def boundary_timer(self, id: str, name: str, attached_to: str, *, duration: str = "",
                       date: str = "", cycle: str = "", interrupting: bool = True,
                       offset: float = 0.7) -> Node:
        host = self.nodes[attached_to]
        attrs = {"attachedToRef": attached_to, "_offset": str(offset)}
        if not interrupting:
            attrs["cancelActivity"] = "false"
        return self.add(Node(id, "boundaryEvent", name, host.lane, host.col, host.row,
                             _timer(duration, date, cycle), attrs=attrs,
                             attached_to=attached_to))

    # ----------------------------------------------------------------- flows
    def flow(self, source: str, target: str, *, id: str | None = None, name: str | None = None,
             condition: str | None = None, route: str = "auto") -> str:
        fid = id or f"Flow_{source}_{target}"
        self.flows.append(Flow(fid, source, target, name, condition, route))
        self.nodes[source].outgoing.append(fid)
        self.nodes[target].incoming.append(fid)
        return fid

    # ----------------------------------------------------------------- render
    def render(self) -> str:
        lanes_xml = "".join(
            f'<bpmn:lane id="Lane_{k}" name="{k}">'
            + "".join(f"<bpmn:flowNodeRef>{n.id}</bpmn:flowNodeRef>" for n in self.nodes.values()
                      if n.lane == k)
            + "</bpmn:lane>" for k, _ in self.lanes)
        body = [f'<bpmn:laneSet id="LaneSet_{self.key}">{lanes_xml}</bpmn:laneSet>']
        for n in self.nodes.values():
            body.append(self._node_xml(n))
        for f in self.flows:
            cond = (f"<bpmn:conditionExpression>{escape(f.condition)}</bpmn:conditionExpression>"
                    if f.condition else "")
            nm = f" name={quoteattr(f.name)}" if f.name else ""
            body.append(f'<bpmn:sequenceFlow id="{f.id}"{nm} sourceRef="{f.source}" '
                        f'targetRef="{f.target}">{cond}</bpmn:sequenceFlow>'
                        if cond else
                        f'<bpmn:sequenceFlow id="{f.id}"{nm} sourceRef="{f.source}" '
                        f'targetRef="{f.target}"/>')
        doc = (f"<bpmn:documentation>{escape(self.documentation)}</bpmn:documentation>"
               if self.documentation else "")
        proc_props = props_xml(self.properties) if self.properties else ""
        process = (f'<bpmn:process id="{self.key}" name={quoteattr(self.name)} '
                   f'isExecutable="true">{doc}{proc_props}' + "\n    ".join(body)
                   + "</bpmn:process>")
        return add_names_zh(_document(self.key, self.name, process, self._di(),
                                      self.extra_root))

    def _node_xml(self, n: Node) -> str:
        attrs = "".join(f" {k}={quoteattr(v)}" for k, v in n.attrs.items() if not k.startswith("_"))
        if n.id in self.defaults:
            attrs += f' default="{self.defaults[n.id]}"'
        name = f" name={quoteattr(n.name)}" if n.name else ""
        flows = "".join(f"<bpmn:incoming>{f}</bpmn:incoming>" for f in n.incoming)
        flows += "".join(f"<bpmn:outgoing>{f}</bpmn:outgoing>" for f in n.outgoing)
        if n.kind == "event":
            # BPMN's schema order: extensionElements, incoming/outgoing, event definitions
            marker = "</bpmn:extensionElements>"
            cut = n.body.find(marker)
            head, tail = ((n.body[:cut + len(marker)], n.body[cut + len(marker):])
                          if cut >= 0 else ("", n.body))
            inner = head + flows + tail
        else:
            inner = n.body + flows
        if n.attrs.get("_multi"):
            inner += n.attrs["_multi"]
        if n.attrs.get("_script") is not None:
            inner += f"<bpmn:script>{escape(n.attrs['_script'])}</bpmn:script>"
        return f'<bpmn:{n.tag} id="{n.id}"{name}{attrs}>{inner}</bpmn:{n.tag}>'

    # ----------------------------------------------------------------- layout
    def _lane_top(self, lane: str) -> float:
        idx = [k for k, _ in self.lanes].index(lane)
        return 60 + idx * LANE_H

    def _bounds(self, n: Node) -> tuple[float, float, float, float]:
        w, h = SIZES[n.kind]
        if n.attached_to:
            hx, hy, hw, hh = self._bounds(self.nodes[n.attached_to])
            cx = hx + hw * float(n.attrs.get("_offset", "0.7"))
            return cx - w / 2, hy + hh - h / 2, w, h
        cx = X0 + n.col * COL_W + 60
        cy = self._lane_top(n.lane) + LANE_H / 2 + n.row * ROW_DY
        return cx - w / 2, cy - h / 2, w, h

    def _width(self) -> float:
        cols = max((n.col for n in self.nodes.values()), default=0)
        return X0 + cols * COL_W + 200

    def _di(self) -> str:
        out = []
        width = self._width() - 30
        height = LANE_H * len(self.lanes)
        out.append(_shape(f"Participant_{self.key}", 30, 60, width, height, horizontal=True))
        for k, _ in self.lanes:
            out.append(_shape(f"Lane_{k}", 60, self._lane_top(k), width - 30, LANE_H,
                              horizontal=True))
        for n in self.nodes.values():
            x, y, w, h = self._bounds(n)
            label = None
            if n.kind != "task":
                label = (x - 30, y + h + 4, w + 60, 28)
            out.append(_shape(n.id, x, y, w, h, label=label))
        for f in self.flows:
            out.append(self._edge(f))
        return "".join(out)

    def _edge(self, f: Flow) -> str:
        s, t = self.nodes[f.source], self.nodes[f.target]
        sx, sy, sw, sh = self._bounds(s)
        tx, ty, tw, th = self._bounds(t)
        scx, scy, tcx, tcy = sx + sw / 2, sy + sh / 2, tx + tw / 2, ty + th / 2
        if s.attached_to:  # leave a boundary event downwards
            start = (scx, sy + sh)
            if abs(start[0] - tcx) < 1:
                pts = [start, (tcx, ty)]
            else:
                pts = [start, (scx, tcy), (tx, tcy)] if tcy > start[1] else [
                    start, (scx, start[1] + 20), (tx - 20, start[1] + 20), (tx - 20, tcy),
                    (tx, tcy)]
        elif f.route == "hv" or (f.route == "auto" and abs(tcx - scx) > 1 and s.kind != "gateway"
                                 and tx + tw / 2 < scx and s.lane != t.lane):
            # sideways out of the source, then straight into the target's top or bottom
            side_x = sx + sw if tcx > scx else sx
            end_y = ty if tcy > scy else ty + th
            pts = [(side_x, scy), (tcx, scy), (tcx, end_y)]
        elif f.route == "vh" or (f.route == "auto" and s.kind == "gateway" and abs(tcy - scy) > 1):
            start_y = sy + sh if tcy > scy else sy
            if abs(tcx - scx) < 1:
                pts = [(scx, start_y), (tcx, ty if tcy > scy else ty + th)]
            else:
                pts = [(scx, start_y), (scx, tcy), (tx if tcx > scx else tx + tw, tcy)]
        elif f.route == "down" or (tx + tw / 2 < scx and f.route == "auto"):
            # back edge: under the lane of the lower of the two
            lane = s.lane if self._lane_top(s.lane) >= self._lane_top(t.lane) else t.lane
            channel = self._lane_top(lane) + LANE_H - 14
            pts = [(scx, sy + sh), (scx, channel), (tcx, channel), (tcx, ty + th)]
        elif f.route == "up":
            channel = self._lane_top(t.lane) + 12
            pts = [(scx, sy), (scx, channel), (tcx, channel), (tcx, ty)]
        elif abs(scy - tcy) < 1:
            pts = [(sx + sw, scy), (tx, tcy)]
        else:
            midx = (sx + sw + tx) / 2
            pts = [(sx + sw, scy), (midx, scy), (midx, tcy), (tx, tcy)]
        wps = "".join(f'<di:waypoint x="{x:.0f}" y="{y:.0f}"/>' for x, y in pts)
        label = ""
        if f.name:
            lx, ly = pts[1] if len(pts) > 2 else pts[0]
            label = (f'<bpmndi:BPMNLabel><dc:Bounds x="{lx + 4:.0f}" y="{ly - 18:.0f}" '
                     f'width="70" height="14"/></bpmndi:BPMNLabel>')
        return (f'<bpmndi:BPMNEdge id="{f.id}_di" bpmnElement="{f.id}">{wps}{label}'
                "</bpmndi:BPMNEdge>")


def _timer(duration: str, date: str, cycle: str = "") -> str:
    if duration:
        inner = f"<bpmn:timeDuration>{escape(duration)}</bpmn:timeDuration>"
    elif date:
        inner = f"<bpmn:timeDate>{escape(date)}</bpmn:timeDate>"
    else:
        inner = f"<bpmn:timeCycle>{escape(cycle)}</bpmn:timeCycle>"
    return f"<bpmn:timerEventDefinition>{inner}</bpmn:timerEventDefinition>"


def _shape(element: str, x: float, y: float, w: float, h: float, *, horizontal: bool = False,
           label: tuple[float, float, float, float] | None = None) -> str:
    hz = ' isHorizontal="true"' if horizontal else ""
    lab = ""
    if label:
        lx, ly, lw, lh = label
        lab = (f'<bpmndi:BPMNLabel><dc:Bounds x="{lx:.0f}" y="{ly:.0f}" width="{lw:.0f}" '
               f'height="{lh:.0f}"/></bpmndi:BPMNLabel>')
    return (f'<bpmndi:BPMNShape id="{element}_di" bpmnElement="{element}"{hz}>'
            f'<dc:Bounds x="{x:.0f}" y="{y:.0f}" width="{w:.0f}" height="{h:.0f}"/>{lab}'
            "</bpmndi:BPMNShape>")


def _document(key: str, name: str, process: str, di: str, extra_root: str = "") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
  xmlns:pmoflow="https://pmoflow.org/schema/bpmn/1.0"
  id="Definitions_{key}" targetNamespace="https://pmoflow.example/bpmn"
  exporter="PMOflow scripts/bpmn_gen.py" exporterVersion="1">
  <bpmn:collaboration id="Collaboration_{key}">
    <bpmn:participant id="Participant_{key}" name={quoteattr(name)} processRef="{key}"/>
  </bpmn:collaboration>
  {extra_root}
  {process}
  <bpmndi:BPMNDiagram id="Diagram_{key}">
    <bpmndi:BPMNPlane id="Plane_{key}" bpmnElement="Collaboration_{key}">{di}</bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


_NAMED = re.compile(r'<bpmn:(\w+)\b([^>]*?)\sname="([^"]*)"')
_NOT_NAMES = {"lane", "inputDataItem", "outputDataItem", "dataInput", "dataOutput"}


def add_names_zh(xml: str) -> str:
    """``xml`` with ``pmoflow:name-zh`` after every element name that
    :data:`scripts.diagrams.names_zh.ZH` translates (lanes are role keys: none)."""
    from scripts.diagrams.names_zh import ZH

    def named(m: re.Match[str]) -> str:
        if m.group(1) in _NOT_NAMES:
            return m.group(0)
        found = ZH.get(" ".join(html.unescape(m.group(3)).split()))
        return m.group(0) + (f" pmoflow:name-zh={quoteattr(found)}" if found else "")

    return _NAMED.sub(named, xml)
