"""Report entries carry a stable code and params that say exactly their English message,
so the web UI can say them in the reader's language (webui/camunda_wording.py)."""

from __future__ import annotations

from pathlib import Path

from engine.camunda7 import import_camunda
from engine.camunda7.report import MESSAGES
from engine.errors import CODES

CORPUS = Path(__file__).resolve().parents[3] / "tests" / "conformance" / "camunda7-examples"


def test_every_entry_of_the_corpus_is_its_code_filled_in_with_its_params():
    seen: set[str] = set()
    for path in sorted(p for p in CORPUS.iterdir() if p.suffix in (".bpmn", ".dmn")):
        result = import_camunda({path.name: path.read_bytes()}, group_roles={"*": "team"})
        for entry in result.report:
            if entry.construct in ("PMOflow check", "file") and entry.code not in MESSAGES:
                assert entry.code in CODES, str(entry)  # an engine problem, said by its code
                seen.add("engine")
                continue
            assert entry.code in MESSAGES, str(entry)
            assert MESSAGES[entry.code] % dict(entry.params) == entry.message, str(entry)
            assert result.to_dict()["report"][result.report.index(entry)]["code"] == entry.code
            seen.add(entry.code)
    # the common constructs of real diagrams are coded, not the untranslated fallback
    assert {"camunda.class_needs_operation", "camunda.default_role",
            "camunda.script_to_rewrite", "engine"} <= seen, sorted(seen)


def test_an_unbound_class_is_reported_by_code_with_its_parts():
    source = (
        b'<?xml version="1.0"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/'
        b'20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" '
        b'targetNamespace="x"><bpmn:process id="p" isExecutable="true">'
        b'<bpmn:startEvent id="s"/><bpmn:serviceTask id="t" name="Notify" '
        b'camunda:class="com.acme.Mail"/><bpmn:endEvent id="e"/>'
        b'<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
        b'<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>'
        b"</bpmn:process></bpmn:definitions>"
    )
    result = import_camunda({"a.bpmn": source}, group_roles={"*": "team"})
    (entry,) = [e for e in result.report if e.construct == "camunda:class"]
    assert entry.code == "camunda.class_needs_operation"
    assert dict(entry.params) == {"construct": "camunda:class=com.acme.Mail",
                                  "element": "'Notify'"}
    assert entry.message == ("camunda:class=com.acme.Mail on 'Notify': bind it to an "
                             "operation or remove it")
    assert entry.to_dict()["params"] == dict(entry.params)
