"""The generated drawing for diagrams without diagram interchange."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from engine.spiff.layout import BPMN, BPMNDI, DC, DI, with_layout

PROCESSES = Path(__file__).resolve().parents[1] / "engine" / "processes"


def drawn(xml: str) -> tuple[dict[str, tuple[float, ...]], dict[str, list[tuple[float, ...]]]]:
    root = etree.fromstring(with_layout(xml).encode())
    shapes = {s.get("bpmnElement"): tuple(float(b.get(k)) for k in ("x", "y", "width", "height")
                                          for b in s.iter(f"{{{DC}}}Bounds"))
              for s in root.iter(f"{{{BPMNDI}}}BPMNShape")}
    edges = {e.get("bpmnElement"): [(float(w.get("x")), float(w.get("y")))
                                    for w in e.iter(f"{{{DI}}}waypoint")]
             for e in root.iter(f"{{{BPMNDI}}}BPMNEdge")}
    return shapes, edges


def test_every_node_lane_and_flow_of_approval3_is_drawn():
    xml = (PROCESSES / "approval3.bpmn").read_text()
    shapes, edges = drawn(xml)
    root = etree.fromstring(xml.encode())
    nodes = {e.get("id") for e in root.iter() if isinstance(e.tag, str) and e.get("id")
             and etree.QName(e).localname in ("startEvent", "userTask", "exclusiveGateway",
                                              "endEvent")}
    flows = {f.get("id") for f in root.iter(f"{{{BPMN}}}sequenceFlow")}
    assert nodes <= set(shapes) and flows == set(edges)
    assert {"Part_approval3", "Lane_pm", "Lane_rev", "Lane_head"} <= set(shapes)
    assert all(len(points) >= 2 for points in edges.values())


def test_columns_follow_the_flow_and_lanes_hold_their_nodes():
    shapes, edges = drawn((PROCESSES / "approval3.bpmn").read_text())
    x = {k: v[0] for k, v in shapes.items()}
    assert x["start"] < x["review"] < x["gw_review"] < x["approve"] < x["gw_approve"] < x["end_ok"]
    lane_pm, lane_head = shapes["Lane_pm"], shapes["Lane_head"]
    for node, lane in (("revise", lane_pm), ("confirm", lane_head)):
        top, height = lane[1], lane[3]
        assert top <= shapes[node][1] and shapes[node][1] + shapes[node][3] <= top + height
    back = edges["f_back"]  # revise -> review goes back: routed over the top
    assert back[1][1] < shapes["revise"][1]


def test_boundary_events_sit_on_their_task():
    shapes, _ = drawn((PROCESSES / "timer_boundary.bpmn").read_text())
    root = etree.fromstring((PROCESSES / "timer_boundary.bpmn").read_bytes())
    for event in root.iter(f"{{{BPMN}}}boundaryEvent"):
        host = shapes[event.get("attachedToRef")]
        mine = shapes[event.get("id")]
        assert host[0] <= mine[0] <= host[0] + host[2]
        assert abs(mine[1] + mine[3] / 2 - (host[1] + host[3])) < 1


def test_a_diagram_with_a_drawing_is_left_alone():
    once = with_layout((PROCESSES / "approval3.bpmn").read_text())
    assert with_layout(once) == once


def test_process_without_collaboration():
    xml = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f</bpmn:outgoing></bpmn:startEvent>
    <bpmn:endEvent id="e"><bpmn:incoming>f</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""
    shapes, edges = drawn(xml)
    assert set(shapes) == {"s", "e"} and edges["f"][0][1] == edges["f"][-1][1]
    plane = etree.fromstring(with_layout(xml).encode()).find(f".//{{{BPMNDI}}}BPMNPlane")
    assert plane.get("bpmnElement") == "p"
