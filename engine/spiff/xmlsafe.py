"""Safe XML parsing for uploaded BPMN and DMN files.

Diagrams are untrusted input.  :func:`parse_xml` refuses anything that could make the
parser expand, fetch or allocate more than the file itself: DOCTYPE/DTD/entity
declarations are refused outright, entity expansion, network access, DTD loading and
XInclude stay off, and size, element count and nesting depth are bounded.  Every failure
is an :class:`~engine.errors.InvalidDiagram` with one :class:`~engine.errors.Problem`;
no raw lxml or Unicode error ever leaves this module.

UTF-8 files are used as they are.  Files declared (or marked by a byte-order mark) in
another common encoding (UTF-16/32, ISO-8859-x, Windows-125x, as older tools export) are
re-encoded to UTF-8 by :func:`to_utf8` first; bytes that are invalid in their encoding
are refused.
"""

from __future__ import annotations

import io
import re
from typing import NoReturn, TypedDict

from lxml import etree

from engine.errors import InvalidDiagram, Problem

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_ELEMENTS = 20_000
#: Deepest element nesting accepted.  BPMN needs about 15 levels; libxml2 itself stops at 256.
MAX_DEPTH = 100

_UTF8_BOM = b"\xef\xbb\xbf"
_BOMS = {
    b"\xff\xfe\x00\x00": "utf-32",
    b"\x00\x00\xfe\xff": "utf-32",
    b"\xff\xfe": "utf-16",
    b"\xfe\xff": "utf-16",
}
_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_DECLARED_TEXT = re.compile(r"""^(\ufeff?<\?xml[^>]*?encoding\s*=\s*["'])([A-Za-z0-9._-]+)""")
_UTF8_COMPATIBLE = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
_KNOWN_ENCODINGS = re.compile(
    r"^(utf-?(8|16|32)(-?[lb]e)?|us-ascii|ascii|iso[-_]?8859[-_]\d{1,2}|latin-?1|"
    r"(windows|cp)-?125\d)$",
    re.I,
)
# Everything that may precede the root element: whitespace, processing instructions
# (including the XML declaration) and comments.
_PROLOG_ITEM = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->", re.S)
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.I)
_POSITION_SUFFIX = re.compile(r",\s*line \d+, column \d+$")
#: Names SpiffWorkflow gives its own task specs; an element with such an id breaks a spec.
RESERVED_IDS = frozenset({"Start", "End", "Root", "StartEventSplit", "StartEventJoin"})
RESERVED_SUFFIXES = (".EndJoin", ".BoundaryEventSplit", ".BoundaryEventJoin")
_PROCESS_TAG = "{http://www.omg.org/spec/BPMN/20100524/MODEL}process"
_REF_ATTRIBUTES = frozenset({"default", "bpmnElement", "sourceElement", "targetElement"})
_REF_TEXT = frozenset({"incoming", "outgoing"})
_DOCTYPE_MESSAGE = "DOCTYPE declarations are not allowed (no DTDs, no entity declarations)"


def parse_xml(
    content: bytes | str,
    filename: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
) -> etree._ElementTree:
    """Parse untrusted XML safely and return the tree (elements keep ``.sourceline``).

    Raises :class:`InvalidDiagram` (one problem, for the whole file) when the content is
    empty, larger than ``max_bytes`` (checked before parsing), badly encoded (see
    :func:`to_utf8`; other encodings are re-encoded to UTF-8 first), not well-formed
    XML (the message gives line and column), declares a DOCTYPE or entities, has more
    than ``max_elements`` elements or nests deeper than :data:`MAX_DEPTH`.
    """
    data = to_utf8(content, filename, max_bytes)
    _check_prolog(data, filename)
    root = _parse_bounded(data, filename, max_elements)
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        _fail(filename, _DOCTYPE_MESSAGE, 1)
    return tree


def _fail(filename: str, message: str, line: int | None = None) -> NoReturn:
    raise InvalidDiagram(
        [Problem(file=filename, message=message, line=line, code="deploy.bad_xml")]
    )


def _check_size(data: bytes, filename: str, max_bytes: int) -> None:
    if not data.strip():
        _fail(filename, "the file is empty")
    if len(data) > max_bytes:
        _fail(
            filename,
            f"the file is too large ({len(data):,} bytes; the limit is {max_bytes:,} bytes)",
        )


def to_utf8(content: bytes | str, filename: str, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The file as UTF-8 bytes: unchanged when it already is UTF-8, else re-encoded.

    The size limit is checked first.  Raises :class:`InvalidDiagram` for empty or
    oversized content, an unknown declared encoding, bytes invalid in their encoding, and
    binary data.  (A ``str`` is already decoded: its declared encoding is ignored.)
    """
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    _check_size(data, filename, max_bytes)
    encoding = "utf-8" if isinstance(content, str) else _encoding_of(data)
    if not _KNOWN_ENCODINGS.match(encoding):
        _fail(
            filename,
            f"the file declares encoding {encoding!r}, which is not supported; save it as UTF-8",
        )
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        _fail(filename, *_decode_message(data, encoding, exc))
    if "\x00" in text:
        _fail(filename, "the file is binary, not XML text")
    declared = _DECLARED_TEXT.match(text)
    named = declared.group(2).lower() if declared else "utf-8"
    if encoding in _UTF8_COMPATIBLE and named in _UTF8_COMPATIBLE:
        return data  # already what lxml and the database expect: keep the bytes as uploaded
    return _DECLARED_TEXT.sub(r"\1UTF-8", text.lstrip("\ufeff"), count=1).encode("utf-8")


def _encoding_of(data: bytes) -> str:
    """The encoding a byte-order mark or the XML declaration names (default UTF-8)."""
    for bom, name in _BOMS.items():
        if data.startswith(bom):
            return name
    declared = _DECLARED_ENCODING.match(data[3:] if data.startswith(_UTF8_BOM) else data)
    return declared.group(1).decode("ascii").lower() if declared else "utf-8"


def _decode_message(data: bytes, encoding: str, exc: Exception) -> tuple[str, int | None]:
    if not isinstance(exc, UnicodeDecodeError):
        return f"the file declares encoding {encoding!r}, which is not supported", None
    line = data.count(b"\n", 0, exc.start) + 1
    column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
    return (
        f"the file is not valid {encoding.upper()} (byte 0x{data[exc.start]:02x} at line "
        f"{line}, column {column}); save it as UTF-8",
        line,
    )


def _check_prolog(data: bytes, filename: str) -> None:
    """Refuse DTDs before lxml sees them: they may only appear before the root element."""
    pos = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    while True:
        match = _PROLOG_ITEM.match(data, pos)
        if not match or match.end() == pos:
            break
        pos = match.end()
    if _DECLARATION.match(data, pos):
        _fail(filename, _DOCTYPE_MESSAGE, data.count(b"\n", 0, pos) + 1)


class _ParserOptions(TypedDict):
    resolve_entities: bool
    no_network: bool
    load_dtd: bool
    dtd_validation: bool
    huge_tree: bool
    remove_blank_text: bool


def _parser_options() -> _ParserOptions:
    return {
        "resolve_entities": False,
        "no_network": True,
        "load_dtd": False,
        "dtd_validation": False,
        "huge_tree": False,
        "remove_blank_text": False,
    }


def _parse_bounded(data: bytes, filename: str, max_elements: int) -> etree._Element:
    """Build the tree event by event, stopping as soon as a bound is crossed."""
    count = depth = 0
    events = etree.iterparse(io.BytesIO(data), events=("start", "end"), **_parser_options())
    try:
        for event, element in events:
            if event == "end":
                depth -= 1
                continue
            count += 1
            depth += 1
            if count > max_elements:
                _fail(
                    filename,
                    f"the file has too many elements (more than {max_elements:,})",
                    element.sourceline,
                )
            if depth > MAX_DEPTH:
                _fail(
                    filename,
                    f"elements are nested too deeply (more than {MAX_DEPTH} levels)",
                    element.sourceline,
                )
    except etree.XMLSyntaxError as exc:
        _fail(filename, *_syntax_message(exc))
    root = events.root
    if root is None:  # pragma: no cover - iterparse raises on empty documents
        _fail(filename, "the file contains no XML element")
    return root


def _syntax_message(exc: etree.XMLSyntaxError) -> tuple[str, int | None]:
    text, line, column = exc.msg or str(exc), exc.lineno, exc.position[1] if exc.position else 0
    last = exc.error_log.last_error if exc.error_log else None
    if not line and last is not None:  # iterparse reports some errors only in the log
        text, line, column = last.message, last.line, last.column
    text = _POSITION_SUFFIX.sub("", text.strip())
    if "Excessive depth" in text:
        return f"elements are nested too deeply (more than {MAX_DEPTH} levels)", line or None
    if "entity" in text.lower():
        text = f"undefined entity reference ({text}); entities are not allowed"
    return f"the file is not well-formed XML: {text} (line {line}, column {column})", line or None


# -- helpers for the rest of the package ----------------------------------------------
def find_by_id(root: etree._Element, element_id: str) -> etree._Element | None:
    """The element with this id, preferring standard (OMG) elements over tool extensions."""
    found = root.xpath("//*[@id=$i]", i=element_id)
    standard = [e for e in found if is_standard(e)]
    return (standard or found or [None])[0]


def is_standard(element: etree._Element) -> bool:
    """Whether an element belongs to an OMG namespace (BPMN, BPMN DI, DC, DI, DMN)."""
    tag = element.tag
    return isinstance(tag, str) and tag.startswith("{http") and "omg.org/spec/" in tag


def element_at_line(root: etree._Element, line: int) -> etree._Element | None:
    """The innermost element with an id that starts at or before ``line``."""
    best = None
    for element in root.iter():
        if isinstance(element.tag, str) and element.sourceline and element.sourceline <= line:
            best = element
        elif element.sourceline and element.sourceline > line:
            break
    while best is not None and best.get("id") is None:
        best = best.getparent()
    return best


def is_reserved(element_id: str) -> bool:
    """Whether an id collides with a task-spec name SpiffWorkflow uses itself."""
    return element_id in RESERVED_IDS or element_id.endswith(RESERVED_SUFFIXES)


def rename_reserved(root: etree._Element) -> dict[str, str]:
    """Rename reserved ids inside processes in place; return {new id: original id}.

    Every reference to a renamed id is rewritten: attributes ending in ``Ref`` (sourceRef,
    targetRef, attachedToRef, ...), ``default``, DI ``bpmnElement``, and the text of
    ``incoming``/``outgoing``/``flowNodeRef``-like elements.
    """
    taken = {i for e in root.iter() if isinstance(e.tag, str) and (i := e.get("id"))}
    renames: dict[str, str] = {}
    for process in root.iter(_PROCESS_TAG):
        for element in process.iterdescendants():
            old = element.get("id") if is_standard(element) else None
            if old is None or not is_reserved(old) or old in renames:
                continue
            new = _fresh_id(old, taken)
            taken.add(new)
            renames[old] = new
            element.set("id", new)
    if renames:
        _rewrite_references(root, renames)
    return {new: old for old, new in renames.items()}


def _fresh_id(old: str, taken: set[str]) -> str:
    base = old.replace(".", "_")
    number = 1
    while f"{base}_{number}" in taken:
        number += 1
    return f"{base}_{number}"


def _rewrite_references(root: etree._Element, renames: dict[str, str]) -> None:
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        for attr, value in element.attrib.items():
            name = etree.QName(attr).localname
            is_ref = name != "id" and (name.endswith("Ref") or name in _REF_ATTRIBUTES)
            if is_ref and value.strip() in renames:
                element.set(attr, renames[value.strip()])
        name = etree.QName(element).localname
        if (name in _REF_TEXT or name.endswith(("Ref", "Refs"))) and len(element) == 0:
            text = (element.text or "").strip()
            if text in renames:
                element.text = renames[text]


def serialize(tree: etree._ElementTree) -> bytes:
    """Serialize a (renamed) tree as UTF-8 XML for the library.

    The layout may differ from the original (lxml rewrites the prolog and start tags), so
    line numbers of the runtime XML are never shown: errors are mapped back by element id.
    """
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
