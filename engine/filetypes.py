"""What an uploaded file is, from its bytes (never from what the browser claims).

Binary formats are recognised by their signatures with ``puremagic`` (pure Python, no
libmagic to install; its database knows the office formats, old and new); the file name
only breaks ties between formats with the same signature (a .docx and a .xlsx are both
ZIP files).  Text without a signature is ``text/plain`` (``text/csv`` for .csv names);
anything else is ``application/octet-stream``.
"""

from __future__ import annotations

import re

import puremagic

OCTET_STREAM = "application/octet-stream"

#: The names puremagic uses for some types, and the registered ones we store.
_CANONICAL = {
    "application/excel": "application/vnd.ms-excel",
    "application/x-excel": "application/vnd.ms-excel",
    "application/mspowerpoint": "application/vnd.ms-powerpoint",
    "application/powerpoint": "application/vnd.ms-powerpoint",
    "application/x-zip-compressed": "application/zip",
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
}
#: Control characters plain text does not contain (tab, line and form feed, return may).
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")


def sniff(data: bytes, filename: str = "") -> str:
    """The media type of ``data`` (``application/octet-stream`` when unknown)."""
    if not data:
        return OCTET_STREAM
    try:
        matches = puremagic.magic_string(data, filename=filename or None)
    except (puremagic.PureError, ValueError):
        matches = []
    for match in matches:
        if match.mime_type:
            kind = match.mime_type.split(";", 1)[0].strip().lower()
            return _CANONICAL.get(kind, kind)
    if not matches and _is_text(data):
        return "text/csv" if filename.lower().endswith(".csv") else "text/plain"
    return OCTET_STREAM


def _is_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return _NOT_TEXT.search(text) is None
