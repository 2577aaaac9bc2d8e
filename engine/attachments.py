"""Files uploaded with forms (a charter, a WBS). Task data refers to them by id.

A file is stored in the database (transactional, same on SQLite and PostgreSQL) and
belongs to its uploader until a submitted form refers to it; from then on it belongs to
that instance and whoever may read the instance may read the file.  A form may only
refer to files its submitter uploaded (or that already belong to the instance), so a
guessed id cannot pull someone else's file into a request.

The stored type is sniffed from the bytes (:mod:`engine.filetypes`), names lose control
and bidirectional/format characters (``invoice\u202egnp.exe`` would show as
``invoiceexe.png``), each person may keep a limited number of bytes not yet attached, and
files never attached are deleted after a day (:func:`purge_unlinked`, run by the worker).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine.errors import FieldError, InvalidData, NotFound
from engine.filetypes import sniff
from engine.store.models import Attachment, HumanTask
from engine.views import AttachmentView

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_QUOTA_BYTES = 50 * 1024 * 1024
#: Files one clean-up transaction deletes at most (the next pass takes the rest).
PURGE_BATCH = 500
_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f/\\:*?"<>|]+')
#: Unicode categories removed from names: format characters (Cf: the bidirectional
#: overrides, embeddings and isolates U+202A-U+202E and U+2066-U+2069, the marks U+200E,
#: U+200F and U+061C, zero-width characters), line and paragraph separators.
_INVISIBLE = frozenset({"Cf", "Zl", "Zp"})


def clean_filename(name: str) -> str:
    """A display-safe file name: no path, no control, bidirectional or other invisible
    format characters, no reserved characters, at most 200 characters."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in _INVISIBLE)
    name = _UNSAFE.sub("_", name).strip(" .")
    if not name:
        return "file"
    stem, dot, ext = name.rpartition(".")
    if len(name) > 200:
        name = (stem[: 190 - len(ext)] + "." + ext) if dot else name[:200]
    return name


def add(
    session: Session,
    *,
    actor: str,
    filename: str,
    data: bytes,
    now: datetime,
    max_bytes: int = DEFAULT_MAX_BYTES,
    quota_bytes: int = DEFAULT_QUOTA_BYTES,
) -> AttachmentView:
    """Store an uploaded file with the type its bytes show. Empty or oversized files, and
    files beyond the uploader's quota of unattached bytes, are refused (field ``file``)."""
    if not data:
        raise InvalidData({"file": FieldError("The file is empty.", "upload.empty", field="file")})
    if len(data) > max_bytes:
        raise InvalidData(
            {
                "file": FieldError(
                    f"The file is larger than {_mb(max_bytes)} MB.",
                    "upload.too_large",
                    field="file",
                    limit_mb=_mb(max_bytes),
                )
            }
        )
    held = unlinked_bytes(session, actor)
    if held + len(data) > quota_bytes:
        raise InvalidData(
            {
                "file": FieldError(
                    f"You have {_mb(held)} MB of uploads not yet part of a submitted form; "
                    f"the limit is {_mb(quota_bytes)} MB. Submit or discard those forms first "
                    "(unsubmitted "
                    "uploads are deleted after a day).",
                    "upload.quota",
                    field="file",
                    held_mb=_mb(held),
                    limit_mb=_mb(quota_bytes),
                )
            }
        )
    name = clean_filename(filename)
    row = Attachment(
        filename=name,
        content_type=sniff(data, name),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        uploaded_by=actor,
        uploaded_at=now,
        instance_id=None,
    )
    session.add(row)
    session.flush()
    return view(row)


def _mb(size: int) -> str:
    value = size / (1024 * 1024)
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def unlinked_bytes(session: Session, username: str) -> int:
    """Bytes of the files ``username`` uploaded that no request holds yet."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Attachment.size), 0)).where(
                Attachment.uploaded_by == username, Attachment.instance_id.is_(None)
            )
        )
        or 0
    )


def purge_unlinked(session: Session, *, older_than: datetime, limit: int = PURGE_BATCH) -> int:
    """Delete files no request holds that were uploaded before ``older_than``, except
    those a saved draft of an open task still refers to; returns how many."""
    old = dict(
        session.execute(
            select(Attachment.id, Attachment.uploaded_by)
            .where(Attachment.instance_id.is_(None), Attachment.uploaded_at < older_than)
            .order_by(Attachment.id)
            .limit(limit)
        ).all()
    )
    if not old:
        return 0
    drafts = session.scalars(
        select(HumanTask.draft).where(HumanTask.status == "open", HumanTask.draft.is_not(None))
    )
    kept = {i for draft in drafts for _path, i in references(draft)}
    doomed = [i for i in old if i not in kept]
    if doomed:
        session.execute(
            delete(Attachment).where(Attachment.id.in_(doomed), Attachment.instance_id.is_(None))
        )
    return len(doomed)


def get(session: Session, attachment_id: int) -> tuple[AttachmentView, bytes]:
    """Metadata and bytes, or :class:`NotFound`."""
    row = session.get(Attachment, attachment_id)
    if row is None:
        raise NotFound(
            f"no attachment {attachment_id}",
            code="attachment.not_found",
            attachment_id=attachment_id,
        )
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
        if row is None or not (
            row.instance_id == instance_id or (row.instance_id is None and row.uploaded_by == actor)
        ):
            errors[path] = FieldError(
                "This attachment does not exist or is not yours to attach.",
                "upload.unknown",
                field=path,
                attachment_id=attachment_id,
            )
    if errors:
        raise InvalidData(errors)
    for row in rows.values():
        row.instance_id = instance_id
    session.flush()


def view(row: Attachment) -> AttachmentView:
    """Dataclass view of an attachment row."""
    return AttachmentView(
        row.id,
        row.filename,
        row.content_type,
        row.size,
        row.sha256,
        row.uploaded_by,
        row.uploaded_at,
        row.instance_id,
    )
