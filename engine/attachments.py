"""Files uploaded with forms (a charter, a WBS). Task data refers to them by id.

A file is stored in the database (transactional, same on SQLite and PostgreSQL) and
belongs to its uploader until a submitted form refers to it; from then on it belongs to
that instance and whoever may read the instance may read the file.  A form may only
refer to files its submitter uploaded (or that already belong to the instance), so a
guessed id cannot pull someone else's file into a request.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import InvalidData, NotFound
from engine.store.models import Attachment
from engine.views import AttachmentView

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def clean_filename(name: str) -> str:
    """A display-safe file name: no path, no control or reserved characters, <= 200 chars."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip(" .")
    if not name:
        return "file"
    stem, dot, ext = name.rpartition(".")
    if len(name) > 200:
        name = (stem[: 190 - len(ext)] + "." + ext) if dot else name[:200]
    return name


def add(session: Session, *, actor: str, filename: str, content_type: str, data: bytes,
        now: datetime, max_bytes: int = DEFAULT_MAX_BYTES) -> AttachmentView:
    """Store an uploaded file. Empty or oversized files are refused (field ``file``)."""
    if not data:
        raise InvalidData({"file": "The file is empty."})
    if len(data) > max_bytes:
        raise InvalidData({"file": f"The file is larger than {max_bytes // (1024 * 1024)} MB."})
    row = Attachment(
        filename=clean_filename(filename), content_type=(content_type or
                                                         "application/octet-stream")[:100],
        size=len(data), sha256=hashlib.sha256(data).hexdigest(), data=data,
        uploaded_by=actor, uploaded_at=now, instance_id=None,
    )
    session.add(row)
    session.flush()
    return view(row)


def get(session: Session, attachment_id: int) -> tuple[AttachmentView, bytes]:
    """Metadata and bytes, or :class:`NotFound`."""
    row = session.get(Attachment, attachment_id)
    if row is None:
        raise NotFound(f"no attachment {attachment_id}")
    return view(row), row.data


def references(data: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(field path, id) for every ``{"attachment_id": ...}`` object in form data."""
    if isinstance(data, dict):
        if "attachment_id" in data:
            yield path or "file", data["attachment_id"]
        for key, value in data.items():
            yield from references(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from references(value, f"{path}.{i}")


def link(session: Session, data: Any, *, actor: str, instance_id: int) -> None:
    """Give every file the form refers to to the instance; refuse foreign or unknown ids."""
    refs = list(references(data))
    if not refs:
        return
    ids = {i for _p, i in refs if isinstance(i, int) and not isinstance(i, bool)}
    rows = {r.id: r for r in session.scalars(select(Attachment).where(Attachment.id.in_(ids)))}
    errors = {}
    for path, attachment_id in refs:
        row = rows.get(attachment_id) if attachment_id in ids else None
        if row is None or not (row.instance_id == instance_id or (
                row.instance_id is None and row.uploaded_by == actor)):
            errors[path] = "This attachment does not exist or is not yours to attach."
    if errors:
        raise InvalidData(errors)
    for row in rows.values():
        row.instance_id = instance_id
    session.flush()


def view(row: Attachment) -> AttachmentView:
    """Dataclass view of an attachment row."""
    return AttachmentView(row.id, row.filename, row.content_type, row.size, row.sha256,
                          row.uploaded_by, row.uploaded_at, row.instance_id)
