"""A process owner's Camunda 7 import, kept between visits of the modeler's import page.

The uploaded files are stored as they came; the owner's choices (which PMOflow role each
Camunda group becomes, which registered operation each service task calls) are stored
beside them, and every visit converts again with them (:func:`engine.camunda7.import_camunda`
is pure and fast), so "Convert again" is: save the choices, show the new report.  A new
import starts with the group mapping of the owner's previous one.
"""

from __future__ import annotations

import base64
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.camunda7 import ImportResult
from engine.errors import FieldError, Forbidden, InvalidData, NotFound
from engine.store.models import CamundaImport

#: Most files one import takes.
MAX_FILES = 20
_SUFFIXES = (".bpmn", ".dmn", ".xml")


@dataclass(frozen=True)
class CamundaImportView:
    """One import: its files, the owner's choices, and the conversion with them."""

    id: int
    owner: str
    created_at: datetime
    updated_at: datetime
    file_names: tuple[str, ...]
    group_roles: Mapping[str, str]
    operations: Mapping[str, str]
    result: ImportResult
    #: What the pickers offer: the install's role keys and registered operations.
    roles: tuple[str, ...]
    known_operations: tuple[str, ...]


def create(
    session: Session, owner: str, files: Mapping[str, bytes], now: datetime, max_bytes: int
) -> CamundaImport:
    """Keep uploaded files as a new import of ``owner`` (:class:`InvalidData` when there
    are none, too many, files of another kind, empty or too large ones)."""
    _check_files(files, max_bytes)
    previous = session.scalar(
        select(CamundaImport)
        .where(CamundaImport.owner == owner)
        .order_by(CamundaImport.id.desc())
        .limit(1)
    )
    row = CamundaImport(
        owner=owner,
        files=[
            {"name": name, "content": base64.b64encode(content).decode("ascii")}
            for name, content in files.items()
        ],
        group_roles=dict(previous.group_roles) if previous is not None else {},
        operations={},
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def _check_files(files: Mapping[str, bytes], max_bytes: int) -> None:
    if not files:
        raise InvalidData(
            {"files": FieldError("Choose a .bpmn or .dmn file.", "upload.empty", field="files")}
        )
    if len(files) > MAX_FILES:
        raise InvalidData(
            {
                "files": FieldError(
                    f"At most {MAX_FILES} files at once.",
                    "input.too_long",
                    field="files",
                    limit=MAX_FILES,
                )
            }
        )
    for name, content in files.items():
        if not posixpath.basename(name).lower().endswith(_SUFFIXES):
            raise InvalidData(
                {
                    "files": FieldError(
                        f"{name}: expected a .bpmn or .dmn file.",
                        "input.choice",
                        field="files",
                        allowed=".bpmn, .dmn",
                    )
                }
            )
        if not content:
            raise InvalidData(
                {"files": FieldError(f"{name} is empty.", "upload.empty", field="files")}
            )
        if len(content) > max_bytes:
            raise InvalidData(
                {
                    "files": FieldError(
                        f"{name} is too large.",
                        "upload.too_large",
                        field="files",
                        limit_mb=max(1, max_bytes // (1024 * 1024)),
                    )
                }
            )


@dataclass(frozen=True)
class CamundaImportSummary:
    """One import in the owner's list."""

    id: int
    file_names: tuple[str, ...]
    created_at: datetime
    updated_at: datetime


def listing(session: Session, owner: str, limit: int = 10) -> list[CamundaImportSummary]:
    """``owner``'s newest imports."""
    rows = session.scalars(
        select(CamundaImport)
        .where(CamundaImport.owner == owner)
        .order_by(CamundaImport.id.desc())
        .limit(limit)
    )
    return [
        CamundaImportSummary(r.id, tuple(f["name"] for f in r.files), r.created_at, r.updated_at)
        for r in rows
    ]


def get(session: Session, owner: str, import_id: int) -> CamundaImport:
    """One of ``owner``'s imports (:class:`NotFound`; :class:`Forbidden` if another's)."""
    row = session.get(CamundaImport, import_id)
    if row is None:
        raise NotFound(f"no import {import_id}")
    if row.owner != owner:
        raise Forbidden("this import belongs to another process owner", code="access.no_access")
    return row


def originals(row: CamundaImport) -> dict[str, bytes]:
    """The uploaded files, name -> bytes, as they came."""
    return {f["name"]: base64.b64decode(f["content"]) for f in row.files}


def choose(
    session: Session,
    row: CamundaImport,
    group_roles: Mapping[str, str],
    operations: Mapping[str, str],
    *,
    roles: frozenset[str] | None,
    known_operations: frozenset[str] | None,
    now: datetime,
) -> None:
    """Keep the owner's choices (empty values drop a choice).  Roles and operations must
    exist (:class:`InvalidData` naming the group or element)."""
    errors: dict[str, FieldError] = {}
    chosen_roles = {g: r for g, r in group_roles.items() if g and r}
    chosen_ops = {e: o for e, o in operations.items() if e and o}
    for group, role in chosen_roles.items():
        if roles is not None and role not in roles:
            errors[f"role:{group}"] = FieldError(
                f"There is no role {role}.", "role.unknown", field=f"role:{group}", role=role
            )
    for element, operation in chosen_ops.items():
        if known_operations is not None and operation not in known_operations:
            errors[f"operation:{element}"] = FieldError(
                f"{operation} is not a registered operation.",
                "input.choice",
                field=f"operation:{element}",
                allowed=", ".join(sorted(known_operations)),
            )
    if errors:
        raise InvalidData(errors)
    row.group_roles = {**row.group_roles, **chosen_roles}
    for group, role in group_roles.items():
        if not role:
            row.group_roles.pop(group, None)
    row.operations = chosen_ops
    row.updated_at = now
    session.flush()


def view(
    row: CamundaImport,
    result: ImportResult,
    roles: frozenset[str] | None,
    known_operations: frozenset[str] | None,
) -> CamundaImportView:
    """The dataclass a page shows."""
    return CamundaImportView(
        id=row.id,
        owner=row.owner,
        created_at=row.created_at,
        updated_at=row.updated_at,
        file_names=tuple(f["name"] for f in row.files),
        group_roles=dict(row.group_roles),
        operations=dict(row.operations),
        result=result,
        roles=tuple(sorted(roles or ())),
        known_operations=tuple(sorted(known_operations or ())),
    )
