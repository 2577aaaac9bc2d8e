"""A drawing for diagrams that come without one (no ``bpmndi:BPMNDiagram``).

SpiffWorkflow runs a process without diagram interchange (DI), so hand-written or
generated diagrams deploy fine but bpmn-js has nothing to draw.  This adds a simple
layered layout: columns by longest path from the start (loops ignored), one band per
lane, orthogonal connections, loops routed over the top.  Diagrams that have DI are
returned unchanged.
"""

from __future__ import annotations

import functools
from collections import defaultdict, deque
from dataclasses import dataclass

from lxml import etree

from engine.spiff.bpmn_markup import ACTIVITY_TYPES, EVENT_TYPES, GATEWAY_TYPES
from engine.spiff.xmlsafe import parse_xml

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
#: The flow nodes this layout places (choreographies are not drawn).
_DRAWN = EVENT_TYPES | GATEWAY_TYPES | ACTIVITY_TYPES
COL, ROW, LEFT = 160, 130, 60
#: A node as the diagram names it: its ``id`` attribute (None if it has none).
NodeId = str | None


@dataclass
class Box:
    """Where one shape is drawn."""

    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _size(kind: str) -> tuple[int, int]:
    if kind in EVENT_TYPES:
        return 36, 36
    if kind in GATEWAY_TYPES:
        return 50, 50
    return 100, 80


@functools.lru_cache(maxsize=32)
def with_layout(xml: str) -> str:
    """``xml`` with a generated drawing if it has none; unchanged otherwise."""
    root = parse_xml(xml, "diagram.bpmn").getroot()
    if root.find(f"{{{BPMNDI}}}BPMNDiagram/{{{BPMNDI}}}BPMNPlane/*") is not None:
        return xml
    collab = root.find(f"{{{BPMN}}}collaboration")
    processes = root.findall(f"{{{BPMN}}}process")
    if not processes:
        return xml
    participants = (
        {}
        if collab is None
        else {p.get("processRef"): p for p in collab.findall(f"{{{BPMN}}}participant")}
    )
    if collab is None:
        processes = processes[:1]
    diagram = etree.Element(
        f"{{{BPMNDI}}}BPMNDiagram",
        id="PMOflow_layout",
        nsmap={"bpmndi": BPMNDI, "dc": DC, "di": DI},
    )
    root.append(diagram)
    plane = etree.SubElement(
        diagram,
        f"{{{BPMNDI}}}BPMNPlane",
        id="PMOflow_layout_plane",
        bpmnElement=(collab if collab is not None else processes[0]).get("id", ""),
    )
    top = 0.0
    for process in processes:
        top += _layout(process, participants.get(process.get("id")), plane, top) + 40
    return etree.tostring(root, encoding="unicode")


def _layers(
    ids: list[NodeId], edges: list[tuple[NodeId, NodeId]], attached: dict[NodeId, NodeId]
) -> tuple[dict[NodeId, int], set[tuple[NodeId, NodeId]]]:
    """Column per node (longest path, loops cut where a depth-first walk meets them)."""
    succ: dict[NodeId, list[NodeId]] = defaultdict(list)
    for s, t in edges:
        succ[s].append(t)
    for b, host in attached.items():
        succ[host].append(b)
    has_in = {t for _s, t in edges} | set(attached)
    back: set[tuple[NodeId, NodeId]] = set()
    state: dict[NodeId, int] = {}
    for start in [i for i in ids if i not in has_in] + ids:
        if start in state:
            continue
        stack = [(start, iter(succ[start]))]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                back.add((node, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(succ[nxt])))
    forward: dict[NodeId, list[NodeId]] = {
        i: [t for t in succ[i] if (i, t) not in back] for i in ids
    }
    indeg = dict.fromkeys(ids, 0)
    for targets in forward.values():
        for t in targets:
            indeg[t] += 1
    layer = dict.fromkeys(ids, 0)
    queue = deque(i for i in ids if indeg[i] == 0)
    while queue:
        node = queue.popleft()
        for t in forward[node]:
            layer[t] = max(layer[t], layer[node] + (0 if t in attached else 1))
            indeg[t] -= 1
            if indeg[t] == 0:
                queue.append(t)
    return layer, back


def _layout(
    process: etree._Element, participant: etree._Element | None, plane: etree._Element, top: float
) -> float:
    nodes = {n.get("id"): n for n in process if _local(n) in _DRAWN}
    ids = list(nodes)
    flows = [
        f
        for f in process.findall(f"{{{BPMN}}}sequenceFlow")
        if f.get("sourceRef") in nodes and f.get("targetRef") in nodes
    ]
    attached = {
        i: n.get("attachedToRef")
        for i, n in nodes.items()
        if _local(n) == "boundaryEvent" and n.get("attachedToRef") in nodes
    }
    layer, back = _layers(ids, [(f.get("sourceRef"), f.get("targetRef")) for f in flows], attached)
    lanes = process.findall(f"{{{BPMN}}}laneSet/{{{BPMN}}}lane")
    lane_of: dict[NodeId, int] = {
        ref.text.strip(): i
        for i, lane in enumerate(lanes)
        for ref in lane.findall(f"{{{BPMN}}}flowNodeRef")
        if ref.text
    }
    spare = len(lanes)
    cells: dict[tuple[int, int], list[NodeId]] = defaultdict(list)
    for i in ids:
        if i not in attached:
            cells[(lane_of.get(i, spare), layer[i])].append(i)
    bands = sorted({lane for lane, _ in cells} | set(range(len(lanes))))
    rows = {b: max([len(v) for (lane, _), v in cells.items() if lane == b] or [1]) for b in bands}
    band_top, y = {}, top
    for b in bands:
        band_top[b], y = y, y + rows[b] * ROW
    boxes: dict[NodeId, Box] = {}
    for (lane, col), members in cells.items():
        for k, i in enumerate(members):
            w, h = _size(_local(nodes[i]))
            cx, cy = LEFT + col * COL + COL / 2, band_top[lane] + k * ROW + ROW / 2
            boxes[i] = Box(cx - w / 2, cy - h / 2, w, h)
    for n, (boundary, host) in enumerate(attached.items()):
        hb = boxes[host]
        boxes[boundary] = Box(hb.x + hb.w - 28 - 40 * (n % 2), hb.y + hb.h - 18, 36, 36)
    width = LEFT + (max(layer.values(), default=0) + 1) * COL + 20
    if participant is not None:
        _shape(plane, participant.get("id"), Box(0, top, width, y - top), horizontal=True)
    for b in bands:
        if b < len(lanes):
            _shape(
                plane,
                lanes[b].get("id"),
                Box(30, band_top[b], width - 30, rows[b] * ROW),
                horizontal=True,
            )
    for i in ids:
        _shape(plane, i, boxes[i])
    for f in flows:
        _edge(plane, f, boxes, (f.get("sourceRef"), f.get("targetRef")) in back, nodes)
    return y - top


def _shape(
    plane: etree._Element, element_id: str | None, box: Box, *, horizontal: bool = False
) -> None:
    attrs = {"id": f"{element_id}_di", "bpmnElement": element_id or ""}
    if horizontal:
        attrs["isHorizontal"] = "true"
    shape = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNShape", attrs)
    etree.SubElement(
        shape,
        f"{{{DC}}}Bounds",
        x=f"{box.x:.0f}",
        y=f"{box.y:.0f}",
        width=f"{box.w:.0f}",
        height=f"{box.h:.0f}",
    )


def _edge(
    plane: etree._Element,
    flow: etree._Element,
    boxes: dict[NodeId, Box],
    back: bool,
    nodes: dict[NodeId, etree._Element],
) -> None:
    s, t = boxes[flow.get("sourceRef")], boxes[flow.get("targetRef")]
    if back:
        over = min(s.y, t.y) - 18
        points = [(s.cx, s.y), (s.cx, over), (t.cx, over), (t.cx, t.y)]
    elif abs(s.cy - t.cy) < 1:
        points = [(s.x + s.w, s.cy), (t.x, t.cy)]
    elif _local(nodes[flow.get("sourceRef")]) in GATEWAY_TYPES:
        exit_y = s.y + s.h if t.cy > s.cy else s.y
        points = [(s.cx, exit_y), (s.cx, t.cy), (t.x, t.cy)]
    else:
        mid = (s.x + s.w + t.x) / 2
        points = [(s.x + s.w, s.cy), (mid, s.cy), (mid, t.cy), (t.x, t.cy)]
    edge = etree.SubElement(
        plane, f"{{{BPMNDI}}}BPMNEdge", id=f"{flow.get('id')}_di", bpmnElement=flow.get("id", "")
    )
    for x, y in points:
        etree.SubElement(edge, f"{{{DI}}}waypoint", x=f"{x:.0f}", y=f"{y:.0f}")


def in_language(xml: str, language: str | None) -> str:
    """``xml`` with every ``name`` that has a ``pmoflow:name-<language>`` replaced by it
    (what a viewer shows a reader of that language); unchanged for English or without
    translations."""
    from engine.spiff.bpmn_markup import NAME_LANGUAGES, PMOFLOW_NS

    if language not in NAME_LANGUAGES or f"{PMOFLOW_NS}" not in xml:
        return xml
    root = parse_xml(xml, "diagram.bpmn").getroot()
    attr = f"{{{PMOFLOW_NS}}}name-{language}"
    for element in root.iter():
        if isinstance(element.tag, str) and element.get(attr) and element.get("name"):
            element.set("name", element.get(attr) or "")
    return etree.tostring(root, encoding="unicode")
