"""The engine's public surface: one object, a handful of verbs, plain dataclasses back.

Every verb takes the SQLAlchemy ``Session`` to work in (the web app passes Flask-
SQLAlchemy's, the CLI and worker their own).  A verb that writes runs as one unit of work
(see :mod:`engine.store.uow`); the modules that carry the verbs out receive the engine's
:class:`~engine.context.EngineContext` and never import this module back.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import (
    access,
    admin_audit,
    attachments,
    calendar_admin,
    camunda7,
    camunda_imports,
    cycle_times,
    definitions,
    doctor,
    drafts,
    form_coverage,
    form_drafts,
    form_schema,
    housekeeping,
    identity,
    install,
    instance_data,
    instances,
    migration,
    notifications,
    ops,
    out_of_office,
    preferences,
    rollup,
    signing,
    sla_defaults,
    sso,
    tasks,
    tokens,
    user_admin,
    versions,
    waits,
)
from engine.camunda7 import service as camunda7_service
from engine.clock import Clock, OffsetClock, SystemClock
from engine.context import EngineContext
from engine.date_range import local_today
from engine.definitions import SpecCache
from engine.errors import (
    FieldError,
    Forbidden,
    InvalidData,
    InvalidDiagram,
    NotFound,
    Problem,
    StateError,
    sort_problems,
)
from engine.forms import validate_form
from engine.jobs import runner, wake
from engine.mail import delivery as mail_delivery
from engine.mail import outbox as mail_outbox
from engine.mail.smtp import SmtpTransport, Transport
from engine.rules import actions as rule_actions
from engine.services import ServiceRegistry
from engine.settings import EngineSettings
from engine.spiff.bundle import SourceFile
from engine.spiff.layout import in_language, with_layout
from engine.sso import ClaimsMissing, SsoAdminPage, SsoClaims, SsoSignIn, claims_from_token
from engine.store import rows
from engine.store.models import AuditEvent, ProcessDefinition, ProcessInstance
from engine.store.uow import read_only, unit_of_work
from engine.tasks import SORTS, TaskQuery
from engine.user_admin import NewUser
from engine.version_diff import VersionDiff
from engine.views import (
    AdminPage,
    AdminUserPage,
    AttachmentView,
    AuditView,
    CalendarDayView,
    DataViews,
    Deactivation,
    DecisionTableView,
    DecisionVersionView,
    DefinitionView,
    DeployResult,
    DoctorReport,
    FireReport,
    FormPreview,
    FormView,
    IncidentView,
    InstallStatus,
    InstanceView,
    JobView,
    MailDetail,
    MailPage,
    MailPreferences,
    MailView,
    MoveCandidate,
    MoveResult,
    NewToken,
    NotificationView,
    OutOfOfficeView,
    ProcessDraftView,
    RepairResult,
    RuleTestResult,
    SlaDefaultView,
    TaskView,
    TokenView,
    UserView,
    VersionPage,
    VersionView,
    WaitView,
    WhatIfResult,
    audit_view,
)

#: How task lists can be sorted (``TaskQuery.sort``).
TASK_SORTS: tuple[str, ...] = tuple(SORTS)
#: What :meth:`Engine.repair` can do to an instance.
REPAIR_ACTIONS: tuple[str, ...] = ("rerun", "cancel")


#: A signed-in web request's first statement: its user and the install's status.
_USER_AND_INSTALL = identity.active_user_with(*install.STATUS_COLUMNS)


class Engine:
    """Deploy, start, list tasks, claim, complete, cancel, fire timers, read history."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        settings: EngineSettings | None = None,
        services: ServiceRegistry | None = None,
    ):
        self.ctx = EngineContext(
            clock=OffsetClock(clock or SystemClock()),
            settings=settings or EngineSettings(),
            services=services or ServiceRegistry(),
        )

    @property
    def clock(self) -> Clock:
        """The engine's clock (every time it records or compares)."""
        return self.ctx.clock

    @property
    def settings(self) -> EngineSettings:
        """The engine's limits."""
        return self.ctx.settings

    @property
    def services(self) -> ServiceRegistry:
        """The glue operations service tasks may call (register more on it)."""
        return self.ctx.services

    @property
    def cache(self) -> SpecCache:
        """Parsed specs and definition snapshots by version."""
        return self.ctx.cache

    # ------------------------------------------------------------------ definitions

    def check_context(self, session: Session | None) -> definitions.CheckContext:
        """What new diagrams may refer to (deployed processes, decisions, roles, glue)."""
        services = self.ctx.services
        if session is None:
            return definitions.CheckContext(
                known_operations=services.names(), max_bytes=self.settings.max_diagram_bytes
            )
        roles = identity.role_keys(session) or None
        return definitions.check_context(
            session,
            operations=services.names(),
            roles=roles,
            max_bytes=self.settings.max_diagram_bytes,
        )

    def validate(
        self, session: Session | None, files: Sequence[SourceFile], *, actor: str | None = None
    ) -> list[Problem]:
        """Every problem in ``files`` (empty when deployable): exactly the checks
        :meth:`deploy` makes, against what ``session``'s database holds. Stores nothing.

        With ``actor``, only a process owner may ask (:class:`Forbidden`).
        """
        if session is None:
            return definitions.validate(files, self.check_context(None))
        with read_only(session):
            if actor is not None:
                access.require_process_owner(session, actor)
            ctx = self.check_context(session)
        return definitions.validate(files, ctx)

    def import_camunda(
        self,
        session: Session,
        files: Mapping[str, bytes],
        *,
        actor: str | None = None,
        group_roles: Mapping[str, str] | None = None,
        operations: Mapping[str, str] | None = None,
        save_drafts: bool = False,
        progress: Callable[[int, int, str], None] | None = None,
    ) -> camunda7.ImportResult:
        """Convert Camunda 7 BPMN/DMN files against what this install has (roles,
        operations, deployed processes and tables) and report per element; with
        ``save_drafts``, keep them as ``actor``'s drafts. Deploys nothing. With ``actor``,
        process owners only. See :mod:`engine.camunda7` and docs/camunda7.md."""
        with read_only(session):
            ctx = self.check_context(session)
        return camunda7_service.import_for_owner(
            session,
            ctx,
            actor,
            files,
            now=self.clock.now(),
            group_roles=group_roles,
            operations=operations,
            save_drafts=save_drafts,
            progress=progress,
        )

    def list_camunda_imports(
        self, session: Session, actor: str
    ) -> list[camunda_imports.CamundaImportSummary]:
        """``actor``'s newest Camunda 7 imports (process owners)."""
        with read_only(session):
            access.require_process_owner(session, actor)
            return camunda_imports.listing(session, actor)

    def start_camunda_import(self, session: Session, actor: str, files: Mapping[str, bytes]) -> int:
        """Keep uploaded Camunda 7 files as ``actor``'s new import; returns its id. The
        group mapping starts as the one of the owner's previous import. Process owners."""
        with unit_of_work(session):
            access.require_process_owner(session, actor)
            row = camunda_imports.create(
                session, actor, files, self.clock.now(), self.settings.max_diagram_bytes
            )
            return row.id

    def camunda_import(
        self, session: Session, actor: str, import_id: int
    ) -> camunda_imports.CamundaImportView:
        """One of ``actor``'s imports, converted with the choices made so far."""
        with read_only(session):
            access.require_process_owner(session, actor)
            row = camunda_imports.get(session, actor, import_id)
            ctx = self.check_context(session)
            result = camunda7.import_camunda(
                camunda_imports.originals(row),
                group_roles=row.group_roles,
                operations=row.operations,
                known_operations=ctx.known_operations,
                known_roles=ctx.known_roles,
                known_processes=ctx.known_processes,
                known_decisions=ctx.known_decisions,
                max_bytes=ctx.max_bytes,
            )
            return camunda_imports.view(row, result, ctx.known_roles, ctx.known_operations)

    def camunda_import_file(self, session: Session, actor: str, import_id: int, name: str) -> bytes:
        """One uploaded file of ``actor``'s import, as it came (:class:`NotFound`)."""
        with read_only(session):
            access.require_process_owner(session, actor)
            files = camunda_imports.originals(camunda_imports.get(session, actor, import_id))
        if name not in files:
            raise NotFound(f"import {import_id} has no file {name!r}")
        return files[name]

    def choose_camunda_mapping(
        self,
        session: Session,
        actor: str,
        import_id: int,
        *,
        group_roles: Mapping[str, str],
        operations: Mapping[str, str],
    ) -> None:
        """Keep the owner's choices for an import: Camunda group -> role key, service
        task id -> operation (:class:`InvalidData` for unknown roles or operations)."""
        with unit_of_work(session):
            access.require_process_owner(session, actor)
            row = camunda_imports.get(session, actor, import_id)
            ctx = self.check_context(session)
            camunda_imports.choose(
                session,
                row,
                group_roles,
                operations,
                roles=ctx.known_roles,
                known_operations=ctx.known_operations,
                now=self.clock.now(),
            )

    def save_camunda_import(
        self, session: Session, actor: str, import_id: int
    ) -> list[ProcessDraftView]:
        """Convert an import with its choices and keep each converted process as
        ``actor``'s draft (forms as form drafts); the drafts saved. Deploys nothing."""
        with read_only(session):
            access.require_process_owner(session, actor)
            row = camunda_imports.get(session, actor, import_id)
            files = camunda_imports.originals(row)
            group_roles, operations = dict(row.group_roles), dict(row.operations)
            ctx = self.check_context(session)
        result = camunda7_service.import_for_owner(
            session,
            ctx,
            actor,
            files,
            now=self.clock.now(),
            group_roles=group_roles,
            operations=operations,
            save_drafts=True,
        )
        with read_only(session):
            saved = set(result.drafts)
            return [d for d in drafts.listing(session, actor) if d.process_key in saved]

    def deploy(
        self,
        session: Session,
        files: Sequence[SourceFile],
        actor: str,
        *,
        check_role: bool = False,
        comment: str | None = None,
        effective_from: datetime | None = None,
    ) -> DeployResult:
        """Validate and store new versions; raises :class:`InvalidDiagram` with problems.

        ``check_role``: refuse unless ``actor`` is a process owner (what people asking
        through the web or the API get; operators and the demo seed deploy as ``actor``
        without it). ``comment`` says why; ``effective_from``: new instances start on
        the new versions from then (None: now).
        """
        comment = (comment or "").strip() or None
        with unit_of_work(session):
            if check_role:
                access.require_process_owner(session, actor)
            ctx = self.check_context(session)
            return definitions.deploy(
                session,
                files,
                actor=actor,
                now=self.clock.now(),
                ctx=ctx,
                cache=self.cache,
                comment=comment,
                effective_from=effective_from,
            )

    def definitions(self, session: Session, *, all_versions: bool = False) -> list[DefinitionView]:
        """Deployed processes: per process the version new instances start on now, or
        every version."""
        if not all_versions:
            return versions.effective_definitions(session, self.clock.now())
        found = session.scalars(
            select(ProcessDefinition).order_by(
                ProcessDefinition.key, ProcessDefinition.version.desc()
            )
        )
        return [definitions.definition_view(r) for r in found]

    # ------------------------------------------------------------------ versions

    def process_versions(
        self, session: Session, key: str, *, actor: str | None = None
    ) -> list[VersionView]:
        """Every version of a process, newest first, with its running instances.

        With ``actor``, only a process owner may look (:class:`Forbidden`)."""
        with read_only(session):
            if actor is not None:
                access.require_process_owner(session, actor)
            return versions.versions(session, key, self.clock.now())

    def process_library(self, session: Session, actor: str) -> list[VersionView]:
        """Every version of every process with its running work (process owners)."""
        with read_only(session):
            access.require_process_owner(session, actor)
            return versions.library(session, self.clock.now())

    def version_page(
        self, session: Session, key: str, actor: str, version: int | None = None
    ) -> VersionPage:
        """A process's versions, one of them (default: the newest) and the running work
        of older versions that could move to it (process owners)."""
        with read_only(session):
            access.require_process_owner(session, actor)
            found = versions.versions(session, key, self.clock.now())
            selected = next((v for v in found if v.definition.version == version), None)
            if version is not None and selected is None:
                raise NotFound(f"process {key!r} has no version {version}")
            selected = selected or found[0]
            return VersionPage(
                key,
                found[0].definition.name,
                found,
                selected,
                migration.candidates(self.ctx, session, selected.definition.id),
            )

    def version_diagram(self, session: Session, key: str, version: int) -> str:
        """The XML of one version for a viewer (drawn when the file has no drawing)."""
        return with_layout(self.version_source(session, key, version))

    def version_source(self, session: Session, key: str, version: int) -> str:
        """The BPMN XML of one version of a process, as deployed."""
        with read_only(session):
            return versions.version_row(session, key, version).source

    def diff_versions(self, session: Session, key: str, old: int, new: int) -> VersionDiff:
        """Elements added, removed and changed from version ``old`` to ``new``."""
        with read_only(session):
            return versions.diff(session, key, old, new)

    def validate_draft(
        self,
        session: Session,
        xml: bytes,
        actor: str,
        *,
        file_name: str = "draft.bpmn",
        process_key: str | None = None,
        notes: bool = False,
    ) -> list[Problem]:
        """Every problem deploying a diagram from the modeler would report (the forms of
        its process's newest version go with it). Process owners only.

        With ``process_key``: also a problem when the diagram does not define it. With
        ``notes``: also ``diagram.unasked_field`` notes (names that conditions after a
        person's step or the called decision tables read but no form asks for), which do
        not block deploying."""
        with read_only(session):
            access.require_process_owner(session, actor)
            files = versions.draft_files(session, xml, file_name, self.settings.max_diagram_bytes)
            ctx = self.check_context(session)
            tables = definitions.decision_columns(session, self.clock.now()) if notes else {}
        found = definitions.validate(files, ctx)
        keys = versions.process_keys(xml, file_name, self.settings.max_diagram_bytes)
        if notes and not found:
            forms = {f.name: json.loads(f.content) for f in files if f.name.endswith(".json")}
            found = form_coverage.unasked_fields(
                xml, file_name, forms, self.settings.max_diagram_bytes, tables
            )
        if process_key is not None and process_key not in keys:
            found.append(
                Problem(
                    file_name,
                    f"the diagram defines no process {process_key!r} "
                    f"(it defines: {', '.join(keys) or 'none'})",
                )
            )
        return sort_problems(found)

    def deploy_draft(
        self,
        session: Session,
        xml: bytes,
        actor: str,
        *,
        comment: str,
        effective_from: datetime | None = None,
        file_name: str = "draft.bpmn",
    ) -> DeployResult:
        """Deploy a diagram from the modeler as a new version (with its process's forms):
        only clean, only by a process owner, only with a comment saying why."""
        if not (comment or "").strip():
            raise InvalidData(
                {
                    "comment": FieldError(
                        "Say what changed and why.", "version.comment_required", field="comment"
                    )
                }
            )
        with read_only(session):
            access.require_process_owner(session, actor)
            files = versions.draft_files(session, xml, file_name, self.settings.max_diagram_bytes)
        return self.deploy(
            session, files, actor, check_role=True, comment=comment, effective_from=effective_from
        )

    def save_process_draft(
        self,
        session: Session,
        actor: str,
        process_key: str,
        xml: str,
        *,
        name: str = "",
        based_on: int | None = None,
    ) -> ProcessDraftView:
        """Keep ``actor``'s unfinished diagram of ``process_key`` on the server."""
        with unit_of_work(session):
            access.require_process_owner(session, actor)
            return drafts.save(session, actor, process_key, name, xml, based_on, self.clock.now())

    def process_drafts(self, session: Session, actor: str) -> list[ProcessDraftView]:
        """``actor``'s saved drafts, newest first (process owners)."""
        with read_only(session):
            access.require_process_owner(session, actor)
            return drafts.listing(session, actor)

    def process_draft(self, session: Session, actor: str, draft_id: int) -> ProcessDraftView:
        """One of ``actor``'s drafts with its XML."""
        with read_only(session):
            access.require_process_owner(session, actor)
            return drafts.view(drafts.get(session, actor, draft_id), with_xml=True)

    def delete_process_draft(self, session: Session, actor: str, draft_id: int) -> None:
        """Throw one of ``actor``'s drafts away."""
        with unit_of_work(session):
            access.require_process_owner(session, actor)
            drafts.delete(session, actor, draft_id)

    # ------------------------------------------------------------------ form designer

    def forms(self, session: Session, actor: str) -> list[FormView]:
        """Every task form, saved drafts and deployed ones (process owners)."""
        with read_only(session):
            access.require_process_owner(session, actor)
            return form_drafts.listing(session)

    def form(self, session: Session, actor: str, name: str) -> FormView:
        """One form: its draft, else its newest deployed copy (process owners)."""
        with read_only(session):
            access.require_process_owner(session, actor)
            return form_drafts.get(session, name)

    def save_form(self, session: Session, actor: str, name: str, text: str) -> FormView:
        """Check and keep a form draft; the next deployment from the modeler takes it.
        :class:`InvalidData` names every problem by JSON pointer; nothing is saved then."""
        with unit_of_work(session):
            access.require_process_owner(session, actor)
            return form_drafts.save(session, actor, name, text, self.clock.now())

    def preview_form(
        self, session: Session, actor: str, text: str, data: Mapping[str, Any]
    ) -> FormPreview:
        """Check a draft form (:class:`InvalidData` by JSON pointer) and validate sample
        data against it; the data's problems come back by field. Stores nothing."""
        with read_only(session):
            access.require_process_owner(session, actor)
        schema = form_schema.parse(text)
        try:
            validate_form(schema, data, self.today())
        except InvalidData as exc:
            return FormPreview(schema, dict(exc.errors))
        return FormPreview(schema, {})

    def move_candidates(
        self, session: Session, definition_id: int, actor: str
    ) -> list[MoveCandidate]:
        """Running instances of other versions of this version's process, and whether
        each can move to it (process owners)."""
        with read_only(session):
            access.require_process_owner(session, actor)
            return migration.candidates(self.ctx, session, definition_id)

    def move_instances(
        self,
        session: Session,
        instance_ids: Sequence[int],
        definition_id: int,
        actor: str,
        reason: str,
    ) -> MoveResult:
        """Move running instances to version ``definition_id`` where each step they wait
        at exists there; the others stay on their version (process owners; audited)."""
        with read_only(session):
            access.require_process_owner(session, actor)
        return migration.move(self.ctx, session, instance_ids, definition_id, actor, reason)

    def definition_source(self, session: Session, definition_id: int) -> str:
        """The BPMN XML of a deployed version, as uploaded."""
        row = session.get(ProcessDefinition, definition_id)
        if row is None:
            raise NotFound(
                f"no process definition {definition_id}",
                code="definition.not_found",
                definition_id=definition_id,
            )
        return row.source

    def diagram(self, session: Session, definition_id: int, language: str | None = None) -> str:
        """The BPMN XML of a deployed version for a viewer: as uploaded, with a generated
        drawing when the file has none, its names in ``language`` where it gives them."""
        return in_language(with_layout(self.definition_source(session, definition_id)), language)

    def form_schema(
        self, session: Session, definition_id: int, form: str | None
    ) -> dict[str, Any] | None:
        """The JSON Schema frozen with a process version, or None."""
        if not form:
            return None
        try:
            snapshot = self.cache.definition(session, definition_id)
        except NotFound:
            return None
        return copy.deepcopy(snapshot.forms.get(form))

    def validate_form(self, schema: Mapping[str, Any] | None, data: Mapping[str, Any]) -> None:
        """Check form data against a schema (:class:`InvalidData` with errors per field)."""
        validate_form(schema, data, self.today())

    def today(self) -> date:
        """The site's calendar day now (what "today" means in a form's date range)."""
        return local_today(self.clock.now(), self.ctx.calendar.zone)

    # ------------------------------------------------------------------ rules (PMO admin)

    def decision_tables(self, session: Session, actor: str) -> list[DecisionTableView]:
        """Every decision table with its versions (PMO administrators only)."""
        return rule_actions.tables(self.ctx, session, actor)

    def decision_table(self, session: Session, key: str, actor: str) -> DecisionTableView:
        """One decision table: the version in effect, its draft, every version."""
        return rule_actions.table(self.ctx, session, key, actor)

    def check_decision(
        self, session: Session, key: str, content: bytes | str, actor: str
    ) -> list[Problem]:
        """What publishing ``content`` would refuse, each naming rule row and column."""
        return rule_actions.check(self.ctx, session, key, content, actor)

    def save_decision_draft(
        self, session: Session, key: str, content: bytes | str, actor: str
    ) -> tuple[DecisionVersionView, list[Problem]]:
        """Keep the draft of a table (audited), with the problems publishing would meet."""
        return rule_actions.save_draft(self.ctx, session, key, content, actor)

    def publish_decision(
        self,
        session: Session,
        key: str,
        actor: str,
        comment: str,
        *,
        effective_from: datetime | None = None,
        content: bytes | str | None = None,
    ) -> DecisionVersionView:
        """Publish the draft from ``effective_from`` (default now); new instances bind to
        it from then and the previous version retires. Refused with every problem."""
        return rule_actions.publish(
            self.ctx, session, key, actor, comment, effective_from=effective_from, content=content
        )

    def test_decision(
        self,
        session: Session,
        key: str,
        actor: str,
        inputs: Mapping[str, Any],
        variables: Mapping[str, Any] | None = None,
        content: bytes | str | None = None,
    ) -> dict[str, RuleTestResult]:
        """Run the published table and the draft on the same inputs (the test panel)."""
        return rule_actions.test(self.ctx, session, key, actor, inputs, variables, content)

    def decision_what_if(
        self, session: Session, key: str, actor: str, content: bytes | str | None = None
    ) -> WhatIfResult:
        """Replay a draft over the recorded inputs of every instance that used the table."""
        return rule_actions.what_if(self.ctx, session, key, actor, content)

    # ------------------------------------------------------------------ instances

    def start(
        self,
        session: Session,
        process_key: str,
        actor: str,
        data: Mapping[str, Any] | None = None,
        *,
        business_key: str | None = None,
        title: str = "",
        project_id: int | None = None,
    ) -> InstanceView:
        """Start the newest active version of a process as ``actor``."""
        return instances.start(
            self.ctx,
            session,
            process_key,
            actor,
            data,
            business_key=business_key,
            title=title,
            project_id=project_id,
        )

    def complete(
        self, session: Session, task_id: int, actor: str, data: Mapping[str, Any] | None = None
    ) -> InstanceView:
        """Complete a human task with form data."""
        return instances.complete(self.ctx, session, task_id, actor, data)

    def cancel(
        self,
        session: Session,
        instance_id: int,
        actor: str,
        reason: str,
        *,
        kind: str = "cancelled",
    ) -> InstanceView:
        """Stop a running instance with a reason (``kind``: cancelled or withdrawn).

        The process's ``onCancel`` glue runs in the same transaction.
        """
        if kind not in ("cancelled", "withdrawn"):
            raise InvalidData(
                {
                    "kind": FieldError(
                        "Choose cancelled or withdrawn.",
                        "input.choice",
                        field="kind",
                        allowed="cancelled, withdrawn",
                    )
                }
            )
        return instances.cancel(self.ctx, session, instance_id, actor, reason, kind=kind)

    def withdraw(
        self, session: Session, instance_id: int, username: str, reason: str
    ) -> InstanceView:
        """Withdraw a running request: only the person who started it may."""
        with read_only(session):
            access.require_starter(session, instance_id, username)
        return self.cancel(session, instance_id, username, reason)

    def instance(self, session: Session, instance_id: int) -> InstanceView:
        """An instance from its indexed row."""
        return instances.read_instance_view(self.ctx, session, instance_id)

    def instances(
        self,
        session: Session,
        *,
        started_by: str | None = None,
        status: str | None = None,
        process_key: str | None = None,
        limit: int = 100,
    ) -> list[InstanceView]:
        """Instances, newest first (no workflow state is read)."""
        q = select(ProcessInstance.id)
        if started_by:
            q = q.where(ProcessInstance.started_by == started_by)
        if status:
            q = q.where(ProcessInstance.status == status)
        if process_key:
            q = q.where(ProcessInstance.process_key == process_key)
        found = session.scalars(q.order_by(ProcessInstance.id.desc()).limit(limit)).all()
        return [instances.read_instance_view(self.ctx, session, i) for i in found]

    def instance_and_task_data(
        self,
        session: Session,
        instance_id: int,
        task_id: int | None,
        *,
        spiff_task_id: str | None = None,
        viewer: str | None = None,
    ) -> DataViews:
        """The instance's current data, the data as task ``task_id`` sees it (``None``
        without one, or if it is not a task of this instance any more), the visited
        elements and the instance with its open tasks: what a task page needs, from one
        read and one deserialization (``spiff_task_id``: the task's, when the caller has
        read its row already; ``viewer``: :class:`Forbidden` unless they may see it)."""
        return instance_data.data_views(
            self.ctx, session, instance_id, task_id, spiff_task_id=spiff_task_id, viewer=viewer
        )

    def history(self, session: Session, instance_id: int) -> list[AuditView]:
        """The audit trail of one instance, oldest first."""
        found = [
            audit_view(r)
            for r in session.scalars(
                select(AuditEvent)
                .where(AuditEvent.instance_id == instance_id)
                .order_by(AuditEvent.at, AuditEvent.id)
            )
        ]
        if not found:  # every instance has a "started" event: is there one at all?
            rows.require_instance(session, instance_id)
        return found

    # ------------------------------------------------------------------ tasks

    def tasks(
        self, session: Session, username: str | None, query: TaskQuery | None = None
    ) -> tuple[list[TaskView], int]:
        """Inbox query: (tasks, total) for ``username``."""
        return tasks.list_tasks(self.ctx, session, username, query or TaskQuery())

    def task(self, session: Session, task_id: int, username: str | None = None) -> TaskView:
        """One task (checked against ``username``'s access when given)."""
        return tasks.get_task(self.ctx, session, task_id, username)

    def claim(self, session: Session, task_id: int, username: str) -> TaskView:
        """Claim an open task."""
        return tasks.claim(self.ctx, session, task_id, username)

    def unclaim(self, session: Session, task_id: int, username: str) -> TaskView:
        """Return a claimed task to its pool."""
        return tasks.unclaim(self.ctx, session, task_id, username)

    def delegate(
        self,
        session: Session,
        task_id: int,
        username: str,
        to_user: str,
        reason: str,
        *,
        admin: bool = False,
    ) -> TaskView:
        """Hand a task to someone, with a reason."""
        return tasks.delegate(self.ctx, session, task_id, username, to_user, reason, admin=admin)

    def reassign(
        self,
        session: Session,
        task_id: int,
        admin: str,
        to_user: str,
        reason: str,
        *,
        override: bool = False,
    ) -> TaskView:
        """Give anyone's open task to a named person, with a reason (PMO administrators)."""
        with read_only(session):
            access.require_admin(session, admin)
        return tasks.delegate(
            self.ctx, session, task_id, admin, to_user, reason, admin=True, override=override
        )

    def save_draft(
        self, session: Session, task_id: int, username: str, data: Mapping[str, Any]
    ) -> TaskView:
        """Keep unfinished form input on a task."""
        return tasks.save_draft(self.ctx, session, task_id, username, data)

    # ------------------------------------------------------------------ people

    def authenticate(self, session: Session, username: str, password: str) -> UserView | None:
        """The active user whose password this is, or None (never says which part was
        wrong)."""
        with read_only(session):
            user = identity.check_password(session, username, password)
            return identity.user_view(session, user) if user is not None else None

    def user(self, session: Session, username: str) -> UserView:
        """A user with their global and project roles (:class:`NotFound` if none)."""
        with read_only(session):
            return identity.user_view(session, identity.get_user(session, username))

    def active_user(
        self, session: Session, user_id: int, session_version: int | None = None
    ) -> UserView | None:
        """The active user with this id, or None (what a signed-in session refers to;
        with ``session_version``, None too once that session was ended)."""
        return identity.active_user(session, user_id, self.clock.now(), session_version)

    def sign_in(
        self,
        session: Session,
        username: str,
        password: str,
        *,
        address: str,
        lockout_after: int = 0,
    ) -> UserView | None:
        """The active, unlocked user whose password this is, or None (the same answer,
        and the same work, for an unknown user, a wrong password and a locked account).
        Every attempt is audited with the client's ``address``; ``lockout_after``
        consecutive failures lock the account (0: never)."""
        with unit_of_work(session):
            return signing.sign_in(
                session,
                username,
                password,
                now=self.clock.now(),
                address=address,
                lockout_after=lockout_after,
            )

    def sign_out(self, session: Session, username: str, address: str) -> None:
        """End the user's sessions on the server (their session version moves on)."""
        with unit_of_work(session):
            signing.sign_out(session, username, self.clock.now(), address)

    def sign_out_everywhere(self, session: Session, actor: str, username: str) -> None:
        """End every session and remember-me cookie of ``username`` (themself, or a PMO
        administrator for anyone)."""
        with unit_of_work(session):
            signing.sign_out_everywhere(session, actor, self.clock.now(), username)

    def unlock_user(self, session: Session, actor: str, username: str) -> UserView:
        """Lift a lockout after failed sign-ins (PMO administrators; audited)."""
        return self._admin(session, actor, signing.unlock, username)

    def set_locale(self, session: Session, username: str, locale: str) -> None:
        """Remember ``username``'s language (``en`` or ``zh``)."""
        if locale not in identity.LOCALES:
            allowed = ", ".join(sorted(identity.LOCALES))
            raise InvalidData(
                {
                    "lang": FieldError(
                        f"Choose one of: {allowed}.", "input.choice", field="lang", allowed=allowed
                    )
                }
            )
        with unit_of_work(session):
            identity.get_user(session, username).locale = locale

    # ------------------------------------------------------------------ administration
    # Each verb: one unit of work, only for a PMO administrator (Forbidden otherwise),
    # every change audited with before and after (engine.admin_audit).

    def admin_page(self, session: Session, actor: str) -> AdminPage:
        """Users with their roles, the roles, the SLA defaults and recent changes."""
        with read_only(session):
            access.require_user_admin(session, actor)
            return AdminPage(
                users=user_admin.users(session),
                roles=user_admin.roles(session),
                sla_defaults=sla_defaults.listing(session),
                changes=admin_audit.recent(session, limit=50, exclude=signing.SIGN_IN_KINDS),
                steps=sla_defaults.steps(session),
            )

    def admin_user_page(self, session: Session, actor: str, username: str) -> AdminUserPage:
        """One user with their roles, the roles there are and the changes made to them."""
        with read_only(session):
            access.require_user_admin(session, actor)
            user = identity.user_view(session, identity.get_user(session, username))
            return AdminUserPage(
                user=user,
                roles=user_admin.roles(session),
                changes=admin_audit.recent(session, target=username),
            )

    def users(self, session: Session, actor: str) -> list[UserView]:
        """Every user, active or not, with their roles (PMO administrators)."""
        with read_only(session):
            access.require_user_admin(session, actor)
            return user_admin.users(session)

    def admin_changes(
        self, session: Session, actor: str, *, target: str | None = None, limit: int = 100
    ) -> list[AuditView]:
        """Administration audit events, newest first (about one user or step)."""
        with read_only(session):
            access.require_user_admin(session, actor)
            return admin_audit.recent(session, target=target, limit=limit)

    def create_user(self, session: Session, actor: str, new: NewUser) -> UserView:
        """Create a user (username, name, e-mail, language, time zone, initial password,
        global roles); :class:`InvalidData` names each bad field."""
        return self._admin(session, actor, user_admin.create, new)

    def update_user(
        self, session: Session, actor: str, username: str, changes: Mapping[str, str | None]
    ) -> UserView:
        """Change a user's display name, e-mail, language or time zone."""
        return self._admin(session, actor, user_admin.update, username, changes)

    def reset_password(self, session: Session, actor: str, username: str, password: str) -> None:
        """Set a new password for a user."""
        self._admin(session, actor, user_admin.reset_password, username, password)

    def set_user_active(
        self, session: Session, actor: str, username: str, active: bool, reason: str | None = None
    ) -> Deactivation:
        """Deactivate (no sign-in, no API tokens; tasks they held go back to the role)
        or reactivate a user."""
        return self._admin(session, actor, user_admin.set_active, username, active, reason)

    def grant_role(
        self, session: Session, actor: str, username: str, role: str, project_id: int | None = None
    ) -> UserView:
        """Give a user a role everywhere, or (``project_id``) a project role for one
        project."""
        if project_id is None:
            return self._admin(session, actor, user_admin.grant_role, username, role)
        return self._admin(
            session, actor, user_admin.grant_project_role, username, project_id, role
        )

    def revoke_role(
        self, session: Session, actor: str, username: str, role: str, project_id: int | None = None
    ) -> UserView:
        """Take a global role (or, with ``project_id``, a project role) away."""
        if project_id is None:
            return self._admin(session, actor, user_admin.revoke_role, username, role)
        return self._admin(
            session, actor, user_admin.revoke_project_role, username, project_id, role
        )

    def set_sla_default(
        self,
        session: Session,
        actor: str,
        process_key: str,
        element_id: str,
        duration: str,
        escalate_after: str | None = None,
    ) -> SlaDefaultView:
        """How long a step may take when its diagram gives no SLA (``3`` working days,
        ``P3D``, ``PT4H``), and the second period before it escalates to the PMO head
        (empty: one working day); used for tasks opened from now on."""
        return self._admin(
            session, actor, sla_defaults.put, process_key, element_id, duration, escalate_after
        )

    def remove_sla_default(
        self, session: Session, actor: str, process_key: str, element_id: str
    ) -> None:
        """Drop a step's SLA default."""
        self._admin(session, actor, sla_defaults.remove, process_key, element_id)

    def _admin(self, session: Session, actor: str, verb: Callable[..., Any], *args: Any) -> Any:
        with unit_of_work(session):
            access.require_user_admin(session, actor)
            return verb(session, actor, self.clock.now(), *args)

    # ------------------------------------------------------------------ single sign-on
    # The web layer validates the provider's ID token; these verbs take its claims.

    def sso_sign_in(self, session: Session, claims: SsoClaims) -> SsoSignIn:
        """Sign in (creating at first) the user an OpenID provider vouches for; their
        SSO-mapped roles follow the groups claim; a deactivated user is refused.  Audited."""
        try:
            with unit_of_work(session):
                return sso.sign_in(session, self.clock.now(), claims)
        except IntegrityError:
            # the same person's first sign-in in another tab won the race to create
            # them: run again, which finds the link it made
            with unit_of_work(session):
                return sso.sign_in(session, self.clock.now(), claims)

    def sso_failed(self, session: Session, code: str, issuer: str, detail: str = "") -> None:
        """Audit a single sign-on that failed before a user was known."""
        with unit_of_work(session):
            sso.record_failure(session, self.clock.now(), code, issuer, detail)

    def sso_admin_page(self, session: Session, actor: str) -> SsoAdminPage:
        """The group -> role mapping, groups seen but not mapped, and its changes."""
        with read_only(session):
            access.require_user_admin(session, actor)
            return sso.admin_page(session)

    def add_sso_mapping(self, session: Session, actor: str, group: str, role: str) -> None:
        """Members of ``group`` hold ``role`` from their next sign-in."""
        self._admin(session, actor, sso.add_mapping, group, role)

    def remove_sso_mapping(self, session: Session, actor: str, mapping_id: int) -> None:
        """Drop one group -> role row; its members lose the role at their next sign-in."""
        self._admin(session, actor, sso.remove_mapping, mapping_id)

    # ------------------------------------------------------------------ attachments

    def add_attachment(
        self, session: Session, actor: str, filename: str, data: bytes
    ) -> AttachmentView:
        """Store an uploaded file for a form the actor is filling in; its type is sniffed
        from the bytes, its name cleaned, the uploader's quota of unattached bytes
        enforced (:class:`InvalidData` on field ``file``)."""
        with unit_of_work(session):
            return attachments.add(
                session,
                actor=actor,
                filename=filename,
                data=data,
                now=self.clock.now(),
                max_bytes=self.settings.max_attachment_bytes,
                quota_bytes=self.settings.upload_quota_bytes,
            )

    def attachment(
        self, session: Session, attachment_id: int, username: str
    ) -> tuple[AttachmentView, bytes]:
        """A file and its bytes, for its uploader or anyone who may see its instance."""
        meta, data = attachments.get(session, attachment_id)
        if meta.uploaded_by == username:
            return meta, data
        if meta.instance_id is not None:
            inst = session.get(ProcessInstance, meta.instance_id)
            if inst is not None and access.may_view_instance(
                session, username, inst, self.clock.now()
            ):
                return meta, data
        raise Forbidden(
            "you have no access to this file", code="access.no_access", attachment_id=attachment_id
        )

    # ------------------------------------------------------------------ notifications

    def notifications(
        self, session: Session, username: str, *, unread_only: bool = False, limit: int = 20
    ) -> list[NotificationView]:
        """A person's notifications, newest first."""
        return notifications.for_user(session, username, unread_only=unread_only, limit=limit)

    def nav_counts(self, session: Session, username: str) -> dict[str, int]:
        """{"mine", "claimable", "unread"}: the navigation bar's badges, one statement."""
        return tasks.nav_counts(self.ctx, session, username)

    def unread_notifications(self, session: Session, username: str) -> int:
        """The bell's count."""
        return notifications.unread_count(session, username)

    def mark_notifications_read(
        self, session: Session, username: str, ids: Sequence[int] | None = None
    ) -> int:
        """Mark some (or all) of a person's notifications read."""
        with unit_of_work(session):
            return notifications.mark_read(session, username, ids, self.clock.now())

    # ------------------------------------------------------------------ time

    def install_status(self, session: Session, *, join: bool = False) -> InstallStatus:
        """Demo install or not, and the clock offset (also copied into this engine's
        clock, so every process sees the same "now").

        ``join``: read in the session's transaction and leave it open for the reads that
        follow (a web request's first read: its user and page then share one
        transaction instead of each beginning and rolling back their own). Nothing is
        written either way."""
        if join:
            with session.no_autoflush:
                return install.sync(session, self.ctx.clock)
        with read_only(session):
            return install.sync(session, self.ctx.clock)

    def begin_request(
        self, session: Session, user_id: int | None = None, session_version: int | None = None
    ) -> tuple[InstallStatus, UserView | None]:
        """A web request's first read, left open for the reads that follow: the install's
        status (as :meth:`install_status` with ``join``) and, given ``user_id``, the user
        :meth:`active_user` would answer, in one statement while that user is active (on
        PostgreSQL each statement is a round trip; every page makes this one)."""
        clock = self.ctx.clock
        with session.no_autoflush:
            if user_id is not None:
                row = session.execute(_USER_AND_INSTALL, {"id": user_id}).first()
                if row is not None:
                    status = install.apply(clock, row.install_demo, row.install_offset)
                    return status, identity.user_of_row(session, row, clock.now(), session_version)
            # no user asked for, or none active with that id (signed out meanwhile)
            return install.sync(session, clock), None

    def mark_demo_install(self, session: Session, actor: str) -> None:
        """Mark the install as a demo or test install (its clock may then be moved)."""
        with unit_of_work(session):
            install.mark_demo(session, actor, self.ctx.clock.now())

    def advance_clock(self, session: Session, actor: str, duration: str) -> InstallStatus:
        """Move a demo install's clock forward by ``duration`` (``2d``, ``4h``, ``P1DT2H``)
        for everyone; audited. Only a PMO administrator may (the CLI acts as ``cli``)."""
        with unit_of_work(session):
            if actor != "cli":
                access.require_user_admin(session, actor)
            before = install.sync(session, self.ctx.clock)
            status = install.advance(session, self.ctx.clock, actor, duration)
            admin_audit.record(
                session, actor=actor, now=status.now, kind="clock.advance", target="clock",
                before={"offset_seconds": before.offset.total_seconds()},
                after={"offset_seconds": status.offset.total_seconds(), "by": duration},
            )  # fmt: skip
            return status

    def reset_clock(self, session: Session, actor: str) -> InstallStatus:
        """Put a moved clock back to real time for everyone; audited.  Only a PMO
        administrator may (the CLI acts as ``cli``); a no-op on a clock that never moved."""
        with unit_of_work(session):
            if actor != "cli":
                access.require_user_admin(session, actor)
            before = install.sync(session, self.ctx.clock)
            status = install.reset(session, self.ctx.clock, actor)
            if before.offset:
                admin_audit.record(
                    session, actor=actor, now=status.now, kind="clock.reset", target="clock",
                    before={"offset_seconds": before.offset.total_seconds()},
                    after={"offset_seconds": 0.0},
                )  # fmt: skip
            return status

    def working_hours(self, session: Session) -> tuple[time, time]:
        """The install's working hours (local start and end), which hour SLAs count."""
        with read_only(session):
            return calendar_admin.hours(session)

    def set_working_hours(self, session: Session, actor: str, text: str) -> tuple[time, time]:
        """Set the working hours (``09:00-18:00``, PMO administrators); audited."""
        with unit_of_work(session):
            access.require_user_admin(session, actor)
            before = calendar_admin.hours_text(calendar_admin.hours(session))
            value = calendar_admin.save_hours(session, actor, text, self.clock.now())
            admin_audit.record(
                session, actor=actor, now=self.clock.now(), kind="calendar.hours",
                target="calendar", before={"hours": before},
                after={"hours": calendar_admin.hours_text(value)},
            )  # fmt: skip
        self.ctx.calendar.hours = value
        return value

    def calendar_days(self, session: Session, actor: str) -> list[CalendarDayView]:
        """The PMO's own holidays and make-up working days (PMO administrators)."""
        with read_only(session):
            access.require_user_admin(session, actor)
            return calendar_admin.days(session)

    def save_calendar_days(self, session: Session, actor: str, text: str) -> list[CalendarDayView]:
        """Replace the PMO's days with ``date, name, holiday|workday`` lines; a bad or
        repeated date is an error naming the line and nothing is saved."""
        with unit_of_work(session):
            access.require_user_admin(session, actor)
            before = calendar_admin.as_text(calendar_admin.days(session))
            new = calendar_admin.save(session, actor, text, self.clock.now())
            admin_audit.record(
                session, actor=actor, now=self.clock.now(), kind="calendar.days",
                target="calendar", before={"days": before},
                after={"days": calendar_admin.as_text(new)},
            )  # fmt: skip
        self.ctx.calendar.set_days({d.day: d.kind for d in new})
        return new

    def cycle_time(self, session: Session, instance_id: int) -> cycle_times.InstanceCycle:
        """How long a request took (or has been running) and each of its steps, elapsed
        and in working days (indexed rows only)."""
        with read_only(session):
            calendar_admin.refresh(self.ctx.calendar, session)
            return cycle_times.instance_cycle(
                session, instance_id, self.clock.now(), self.ctx.calendar
            )

    def measure_cycle(
        self, session: Session, start: datetime, end: datetime | None
    ) -> cycle_times.CycleTime:
        """The cycle time from ``start`` to ``end`` (``None``: still running)."""
        with read_only(session):
            calendar_admin.refresh(self.ctx.calendar, session)
        return cycle_times.measure(start, end, self.clock.now(), self.ctx.calendar)

    def rebuild_insight(
        self,
        session: Session,
        *,
        only_if_needed: bool = False,
        progress: Callable[[str, int], None] | None = None,
    ) -> int | None:
        """Summarise all finished work for the dashboard again (:mod:`engine.rollup`), in
        one transaction; ``only_if_needed``: only when the summary was never built and
        there is work (after an upgrade).  Returns the rows read, None when skipped."""
        with unit_of_work(session):
            if only_if_needed and not rollup.needs_rebuild(session):
                if not rollup.is_built(session):
                    rollup.mark_built(session, self.clock.now())  # nothing to summarise
                return None
            calendar_admin.refresh(self.ctx.calendar, session, force=True)
            return rollup.rebuild(
                session, self.ctx.calendar.is_workday, self.clock.now(), progress=progress
            )

    def is_workday(self, session: Session, day: date) -> bool:
        """Whether ``day`` is a working day in the install's business calendar."""
        with read_only(session):
            calendar_admin.refresh(self.ctx.calendar, session)
        return self.ctx.calendar.is_workday(day)

    def waits(self, session: Session, instance_id: int) -> list[WaitView]:
        """The timers an instance waits on, soonest first (indexed rows only)."""
        return self.waits_of(session, {instance_id}).get(instance_id, [])

    def waits_of(self, session: Session, instance_ids: set[int]) -> dict[int, list[WaitView]]:
        """The timers these instances wait on, by instance (indexed rows only)."""
        with read_only(session):
            return waits.waits(session, self.ctx.cache, instance_ids)

    def close_wait_early(self, session: Session, instance_id: int, actor: str, reason: str) -> int:
        """Fire the instance's closable waiting timers now (the PM who started it or the
        PMO), with ``reason`` in the audit; returns how many timers fired."""
        return waits.close_early(self.ctx, session, instance_id, actor, reason)

    # ------------------------------------------------------------------ jobs

    def fire_due_jobs(self, session: Session, *, limit: int = 100) -> FireReport:
        """Fire timers (and later other jobs) that are due by the engine clock."""
        return runner.fire_due_jobs(self.ctx, session, limit=limit)

    def work(
        self,
        sessions: Callable[[], Session],
        *,
        poll_seconds: float = 1.0,
        stop: Callable[[], bool] = lambda: False,
        log: Callable[[str], None] = print,
    ) -> None:
        """Fire due jobs until ``stop()`` says so (the worker process or thread); every
        so often also run the doctor and delete old unattached uploads (settings).

        The worker sleeps until the next job is due (at most ``poll_seconds``) and is
        woken by a job due sooner or a new mail (see :mod:`engine.jobs.wake`)."""
        chores = housekeeping.Housekeeping(self.ctx, sessions, log)
        waiter = wake.Waiter(mail=True)

        def each_pass() -> None:
            if waiter.take_mail():
                chores.hurry("mail")  # a new mail goes out now, not at the next interval
            chores.run_due()

        runner.worker_loop(
            self.ctx,
            sessions,
            poll_seconds=poll_seconds,
            stop=stop,
            log=log,
            each_pass=each_pass,
            waiter=waiter,
        )

    # ------------------------------------------------------------------ mail

    def _transport(self, transport: Transport | None) -> Transport | None:
        if transport is not None:
            return transport
        smtp = self.settings.smtp
        return SmtpTransport(smtp) if smtp is not None else None

    def send_mail(
        self, session: Session, transport: Transport | None = None, *, digests: bool = False
    ) -> mail_delivery.MailReport:
        """Send the outbox's due mails (``digests``: the daily digests instead) through
        ``transport`` or the configured SMTP server; with neither, nothing is sent and
        the mails stay readable on the admin's mail page."""
        chosen = self._transport(transport)
        if chosen is None:
            return mail_delivery.MailReport()
        send = mail_delivery.send_digests if digests else mail_delivery.send_due
        return send(self.ctx, session, chosen)

    def mail_page(self, session: Session, actor: str, status: str | None = None) -> MailPage:
        """The outbox for a PMO administrator: mails newest first, counts per status."""
        with read_only(session):
            access.require_user_admin(session, actor)
            return MailPage(
                mails=mail_outbox.listing(session, status=status),
                counts=mail_outbox.counts(session),
                smtp_configured=self.settings.smtp is not None,
            )

    def mail(self, session: Session, actor: str, mail_id: int) -> MailDetail:
        """One mail of the outbox rendered as its recipient gets it (PMO administrators)."""
        with read_only(session):
            access.require_user_admin(session, actor)
            return mail_outbox.detail(self.ctx, session, mail_id)

    def retry_mail(self, session: Session, actor: str, mail_id: int) -> MailView:
        """Put a failed mail back in the queue (PMO administrators; audited)."""
        return self._admin(session, actor, mail_outbox.retry, mail_id)

    # ------------------------------------------------------------------ preferences

    def mail_preferences(self, session: Session, username: str) -> MailPreferences:
        """A person's address, mail mode (immediate or daily digest) and out of office."""
        with read_only(session):
            return preferences.get(session, username, self.clock.now())

    def set_mail_mode(self, session: Session, username: str, mode: str) -> MailPreferences:
        """Choose immediate mail or a daily digest (:class:`InvalidData` on ``mail_mode``
        for anything else: one of :data:`engine.preferences.MAIL_MODES`)."""
        with unit_of_work(session):
            now = self.clock.now()
            preferences.set_mail_mode(session, username, mode, now)
            return preferences.get(session, username, now)

    def set_out_of_office(
        self,
        session: Session,
        username: str,
        *,
        delegate: str,
        starts_at: datetime,
        ends_at: datetime,
        reason: str = "",
    ) -> OutOfOfficeView:
        """Be out of office from ``starts_at`` to ``ends_at``: work assigned meanwhile
        goes to ``delegate`` (:class:`InvalidData` naming ``ends_at`` or ``delegate``)."""
        with unit_of_work(session):
            return out_of_office.set_period(
                session,
                username,
                self.clock.now(),
                delegate=delegate,
                starts_at=starts_at,
                ends_at=ends_at,
                reason=reason,
            )

    def end_out_of_office(self, session: Session, username: str) -> bool:
        """End (or cancel) the person's out-of-office period now."""
        with unit_of_work(session):
            return out_of_office.clear(session, username, self.clock.now())

    def jobs(
        self, session: Session, *, status: str | None = None, instance_id: int | None = None
    ) -> list[JobView]:
        """Scheduled jobs."""
        return runner.list_jobs(session, status=status, instance_id=instance_id)

    def retry_job(self, session: Session, job_id: int, actor: str) -> JobView:
        """Re-queue a failed job."""
        return runner.retry_job(self.ctx, session, job_id, actor)

    # ------------------------------------------------------------------ API tokens

    def create_token(
        self,
        session: Session,
        username: str,
        *,
        name: str = "",
        expires_in: timedelta | None = None,
    ) -> NewToken:
        """A personal API token for ``username``; the secret is returned only here."""
        return tokens.create(
            session, username, name=name, now=self.clock.now(), expires_in=expires_in
        )

    def api_tokens(self, session: Session, username: str | None = None) -> list[TokenView]:
        """API tokens of ``username`` (everyone's with None), newest first."""
        return tokens.list_tokens(session, username)

    def revoke_token(self, session: Session, token_id: int, actor: str | None) -> TokenView:
        """Revoke a token (its owner or a PMO administrator; None: an operator)."""
        return tokens.revoke(session, token_id, actor, self.clock.now())

    def authenticate_token(self, session: Session, secret: str) -> str | None:
        """The active user a token secret belongs to, or None."""
        return tokens.authenticate(session, secret, self.clock.now())

    # ------------------------------------------------------------------ doctor and incidents

    def doctor(
        self, session: Session, *, keep: bool = True, offset: int = 0, limit: int | None = None
    ) -> DoctorReport:
        """Find stranded instances, task and job rows out of step with the saved state,
        jobs of finished instances and jobs that failed for good.

        ``keep``: turn each finding into an incident (one open incident per problem) and
        resolve incidents whose problem is gone.  ``offset``/``limit`` choose which running
        instances (by id) are read; incidents are cleared only after a whole pass.
        """
        return doctor.run(self.ctx, session, keep=keep, offset=offset, limit=limit)

    def incidents(
        self,
        session: Session,
        open_only: bool = True,
        *,
        instance_id: int | None = None,
        limit: int = 200,
    ) -> list[IncidentView]:
        """Incidents (open ones, or all), newest first."""
        with read_only(session):
            return doctor.list_incidents(
                session, open_only=open_only, instance_id=instance_id, limit=limit
            )

    def repair(
        self,
        session: Session,
        instance_id: int,
        actor: str,
        action: str = "rerun",
        reason: str = "",
        *,
        check_role: bool = False,
    ) -> RepairResult:
        """Repair an instance and resolve its incidents, audited as ``repaired``.

        ``rerun``: run its engine steps and bring task rows and jobs back in step with the
        saved state (failed jobs are queued again).  ``cancel``: cancel it with a reason
        through :meth:`cancel` (rows only when its state no longer loads).  An instance
        that is over only loses its leftover jobs.  ``check_role``: only a PMO
        administrator may (what the web pages ask for).
        """
        if action not in REPAIR_ACTIONS:
            allowed = ", ".join(REPAIR_ACTIONS)
            raise InvalidData(
                {
                    "action": FieldError(
                        f"Choose one of: {allowed}.",
                        "input.choice",
                        field="action",
                        allowed=allowed,
                    )
                }
            )
        if check_role:
            with read_only(session):
                if access.ADMIN_ROLE not in identity.global_roles(session, actor):
                    raise Forbidden(
                        "only a PMO administrator may repair instances",
                        code="access.admin_only",
                        role="pmo_admin",
                    )
        reason = (reason or "").strip()
        if action == "rerun":
            return doctor.rerun(self.ctx, session, instance_id, actor, reason)
        if not reason:
            raise InvalidData(
                {
                    "reason": FieldError(
                        "Give a reason for cancelling.", "input.reason_required", field="reason"
                    )
                }
            )
        with read_only(session):
            running = rows.require_instance(session, instance_id).status == "running"
        if running:
            try:
                instances.cancel(self.ctx, session, instance_id, actor, reason)
            except StateError:
                doctor.force_cancel(self.ctx, session, instance_id, actor, reason)
        return doctor.after_cancel(self.ctx, session, instance_id, actor, reason)

    # ------------------------------------------------------------------ ops console (PMO admin)

    def ops_instances(
        self,
        session: Session,
        actor: str,
        *,
        status: str | None = None,
        search: str = "",
        process_key: str | None = None,
        project_id: int | None = None,
        requester: str | None = None,
        offset: int = 0,
        limit: int = 25,
    ) -> ops.OpsListing:
        """Instances by status with search, newest first (PMO administrators only)."""
        return ops.list_instances(
            self.ctx,
            session,
            actor,
            status=status,
            search=search,
            process_key=process_key,
            project_id=project_id,
            requester=requester,
            offset=offset,
            limit=limit,
        )

    def ops_instance(self, session: Session, actor: str, instance_id: int) -> ops.OpsInstance:
        """One instance as the ops console shows it: tokens, steps, incidents, versions."""
        return ops.instance_page(self.ctx, session, actor, instance_id)

    def ops_incidents(
        self,
        session: Session,
        actor: str,
        *,
        open_only: bool = True,
        instance_id: int | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[list[ops.OpsIncident], int]:
        """Incidents with their error and element, newest first, and how many match."""
        return ops.list_incidents(
            self.ctx,
            session,
            actor,
            open_only=open_only,
            instance_id=instance_id,
            offset=offset,
            limit=limit,
        )

    def ops_incident(self, session: Session, actor: str, incident_id: int) -> ops.OpsIncident:
        """One incident with its error and element."""
        return ops.get_incident(self.ctx, session, actor, incident_id)

    def retry_incident(
        self, session: Session, actor: str, incident_id: int, reason: str = ""
    ) -> ops.OpsResult | ops.OpsIncident:
        """Retry an open incident (its instance, or a job of no instance)."""
        return ops.retry_incident(self.ctx, session, actor, incident_id, reason)

    def suspend(
        self,
        session: Session,
        actor: str,
        instance_id: int,
        reason: str,
        *,
        revision: int | None = None,
    ) -> ops.OpsResult:
        """Hold a running instance (its jobs wait, its tasks cannot be completed)."""
        return ops.suspend(self.ctx, session, actor, instance_id, reason, revision)

    def resume(
        self,
        session: Session,
        actor: str,
        instance_id: int,
        reason: str = "",
        *,
        revision: int | None = None,
    ) -> ops.OpsResult:
        """Let a suspended instance go on."""
        return ops.resume(self.ctx, session, actor, instance_id, reason, revision)

    def ops_cancel(
        self,
        session: Session,
        actor: str,
        instance_id: int,
        reason: str,
        *,
        revision: int | None = None,
    ) -> ops.OpsResult:
        """Cancel a running or suspended instance with a reason (PMO administrators)."""
        return ops.cancel(self.ctx, session, actor, instance_id, reason, revision)

    def retry_instance(
        self,
        session: Session,
        actor: str,
        instance_id: int,
        reason: str = "",
        *,
        revision: int | None = None,
    ) -> ops.OpsResult:
        """Retry failed jobs and steps nothing ran; rebuild task rows; resolve incidents."""
        return ops.retry(self.ctx, session, actor, instance_id, reason, revision)

    def move_token(
        self,
        session: Session,
        actor: str,
        instance_id: int,
        from_element: str,
        to_element: str,
        reason: str,
        *,
        revision: int | None = None,
    ) -> ops.OpsResult:
        """Move the token waiting at one step to another step of the same process."""
        return ops.move_token(
            self.ctx, session, actor, instance_id, from_element, to_element, reason, revision
        )

    def migrate_instances(
        self,
        session: Session,
        actor: str,
        instance_ids: Sequence[int],
        definition_id: int,
        reason: str,
    ) -> ops.BatchResult:
        """Move instances to a newer version; those that cannot stay, listed with why."""
        return ops.migrate_batch(self.ctx, session, actor, instance_ids, definition_id, reason)

    def ops_recent(self, session: Session, actor: str, *, limit: int = 20) -> list[AuditView]:
        """The latest console actions on any instance, newest first."""
        return ops.recent_actions(session, actor, limit=limit)

    def ping(self, session: Session) -> None:
        """Ask the database for one row (a health check); raises the driver's error when
        it cannot answer."""
        with read_only(session):
            session.execute(text("SELECT 1")).scalar_one()

    def purge_unlinked_uploads(self, session: Session) -> int:
        """Delete uploads no request holds that are older than the settings allow (except
        those a saved draft refers to); returns how many."""
        return housekeeping.purge_uploads(self.ctx, session)


__all__ = [
    "REPAIR_ACTIONS",
    "TASK_SORTS",
    "ClaimsMissing",
    "Engine",
    "EngineSettings",
    "InvalidDiagram",
    "NewUser",
    "SourceFile",
    "SsoClaims",
    "TaskQuery",
    "claims_from_token",
]
