"""Shared pieces of the importer: namespaces, the per-file report collector, XML helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

from lxml import etree

from engine.camunda7.report import MESSAGES, Outcome, ReportEntry

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
#: Camunda 7's extension namespaces (older models still use Activiti's, under the same prefix).
CAMUNDA_NAMESPACES = frozenset(
    {
        "http://camunda.org/schema/1.0/bpmn",
        "http://activiti.org/bpmn",
        "http://camunda.org/schema/1.0/dmn",
    }
)
DMN13_NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"


def is_camunda(node: etree._Element | str) -> bool:
    """Whether an element (or a ``{ns}name`` tag/attribute) is in a Camunda namespace."""
    tag = node if isinstance(node, str) else node.tag
    if not isinstance(tag, str) or not tag.startswith("{"):
        return False
    return tag[1:].split("}", 1)[0] in CAMUNDA_NAMESPACES


def local(node: etree._Element | str) -> str:
    """Local name of an element or a ``{ns}name``."""
    tag = node if isinstance(node, str) else node.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def camunda_attr(element: etree._Element, name: str) -> str | None:
    """The value of ``camunda:<name>`` on ``element`` (either namespace), or None."""
    for attr, value in element.attrib.items():
        if is_camunda(attr) and local(attr) == name:
            return value
    return None


def pop_camunda_attr(element: etree._Element, name: str) -> str | None:
    """Remove ``camunda:<name>`` from ``element`` and return its value (None if absent)."""
    for attr in list(element.attrib):
        if is_camunda(attr) and local(attr) == name:
            return element.attrib.pop(attr)
    return None


def extensions(element: etree._Element) -> etree._Element | None:
    """The element's ``bpmn:extensionElements``, or None."""
    return element.find(f"{{{BPMN_NS}}}extensionElements")


def camunda_children(element: etree._Element, name: str) -> list[etree._Element]:
    """``camunda:<name>`` elements directly inside the element's extensionElements."""
    ext = extensions(element)
    if ext is None:
        return []
    return [c for c in ext if is_camunda(c) and local(c) == name]


def ensure_extensions(element: etree._Element) -> etree._Element:
    """The element's extensionElements, created in the place the BPMN schema wants."""
    ext = extensions(element)
    if ext is not None:
        return ext
    ext = etree.Element(f"{{{BPMN_NS}}}extensionElements")
    docs = element.findall(f"{{{BPMN_NS}}}documentation")
    index = element.index(docs[-1]) + 1 if docs else 0
    element.insert(index, ext)
    return ext


def set_property(element: etree._Element, name: str, value: str) -> None:
    """Set ``spiffworkflow:property name=value`` (replacing one of the same name)."""
    ext = ensure_extensions(element)
    props = ext.find(f"{{{SPIFF_NS}}}properties")
    if props is None:
        props = etree.SubElement(ext, f"{{{SPIFF_NS}}}properties")
    for prop in props.findall(f"{{{SPIFF_NS}}}property"):
        if prop.get("name") == name:
            prop.set("value", value)
            return
    etree.SubElement(props, f"{{{SPIFF_NS}}}property", name=name, value=value)


def add_script(element: etree._Element, which: str, line: str) -> None:
    """Append a line to the element's ``spiffworkflow:preScript``/``postScript``."""
    ext = ensure_extensions(element)
    script = ext.find(f"{{{SPIFF_NS}}}{which}")
    if script is None:
        script = etree.SubElement(ext, f"{{{SPIFF_NS}}}{which}")
    script.text = ((script.text + "\n") if script.text else "") + line


def detach(element: etree._Element) -> None:
    """Remove an element from its parent (no-op for a root)."""
    parent = element.getparent()
    if parent is not None:
        parent.remove(element)


def text_of(element: etree._Element | None) -> str:
    """Stripped text content of an element ("" for None)."""
    return "" if element is None else "".join(element.itertext()).strip()


def label(element: etree._Element | None) -> str:
    """``'Name'`` of an element, or its id when it has no name."""
    if element is None:
        return "the process"
    name = " ".join((element.get("name") or "").split())
    return f"'{name}'" if name else f"'{element.get('id', local(element))}'"


@dataclass
class FileReport:
    """Collects the report entries of one uploaded file."""

    file: str
    entries: list[ReportEntry] = field(default_factory=list)

    def add(
        self,
        owner: etree._Element | None,
        construct: str,
        outcome: Outcome,
        message: str,
        at: etree._Element | None = None,
    ) -> None:
        """Record ``construct`` met on ``owner`` (a flow element; None: the file), with a
        message not coded yet (``camunda.note``; prefer :meth:`say`)."""
        self._entry(owner, construct, outcome, message, at, "camunda.note", {"text": message})

    def say(
        self,
        owner: etree._Element | None,
        construct: str,
        outcome: Outcome,
        code: str,
        at: etree._Element | None = None,
        /,
        **params: object,
    ) -> None:
        """Record ``construct`` met on ``owner`` with the message ``code`` of
        :data:`~engine.camunda7.report.MESSAGES` filled in with ``params``."""
        texts = {k: str(v) for k, v in params.items()}
        self._entry(owner, construct, outcome, MESSAGES[code] % texts, at, code, texts)

    def _entry(
        self,
        owner: etree._Element | None,
        construct: str,
        outcome: Outcome,
        message: str,
        at: etree._Element | None,
        code: str,
        params: dict[str, str],
    ) -> None:
        where = at if at is not None else owner
        self.entries.append(
            ReportEntry(
                file=self.file,
                line=getattr(where, "sourceline", None),
                element_id=None if owner is None else owner.get("id"),
                element_name=None if owner is None else owner.get("name"),
                construct=construct,
                outcome=outcome,
                message=message,
                code=code,
                params=MappingProxyType(params),
            )
        )
