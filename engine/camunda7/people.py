"""Who does a task and what they fill in: candidate groups, lanes, assignees, forms."""

from __future__ import annotations

from lxml import etree

from engine.camunda7 import forms
from engine.camunda7.base import (
    _ACTIVITIES,
    _B,
    ConverterState,
    _safe,
)
from engine.camunda7.common import (
    add_script,
    camunda_children,
    detach,
    label,
    local,
    pop_camunda_attr,
    set_property,
)
from engine.camunda7.juel import OutsideSubset, is_expression, translate_value


class PeopleMixin(ConverterState):
    """Who does a task and what they fill in: candidate groups, lanes, assignees, forms."""

    def _start(self, node: etree._Element) -> None:
        initiator = pop_camunda_attr(node, "initiator")
        if initiator and initiator != "initiator":
            self._initiator(node, initiator)
        elif initiator:
            self.report.add(
                node, "camunda:initiator", "converted",
                f"camunda:initiator={initiator} on {label(node)}: PMOflow's 'initiator' "
                "holds who started the request",
            )  # fmt: skip
        self._form(node)

    def _initiator(self, node: etree._Element, variable: str) -> None:
        """``camunda:initiator=x``: ``x = initiator`` before the steps after the start."""
        parent = node.getparent()
        targets = [] if parent is None else [
            t for f in parent.iterchildren(f"{_B}sequenceFlow")
            if f.get("sourceRef") == node.get("id")
            for t in parent.iterchildren() if t.get("id") == f.get("targetRef")
        ]  # fmt: skip
        if variable.isidentifier() and targets and all(local(t) in _ACTIVITIES for t in targets):
            for target in targets:
                add_script(target, "preScript", f"{variable} = initiator")
            self.report.add(
                node, "camunda:initiator", "converted",
                f"camunda:initiator={variable} on {label(node)}: '{variable}' is set to who "
                "started the request (PMOflow's 'initiator') before "
                + ", ".join(label(t) for t in targets),
            )  # fmt: skip
            return
        self.report.add(
            node, "camunda:initiator", "needs_decision",
            f"camunda:initiator={variable} on {label(node)}: use PMOflow's 'initiator' "
            f"variable where the process reads '{variable}'",
        )  # fmt: skip

    def _human(self, node: etree._Element) -> None:
        assignee = pop_camunda_attr(node, "assignee")
        groups = pop_camunda_attr(node, "candidateGroups")
        users = pop_camunda_attr(node, "candidateUsers")
        role = self._groups(node, groups) if groups else None
        if role is None and not groups:
            role = self._lane_role(node)
        if role is not None:
            set_property(node, "role", role)
        if assignee:
            self._assignee(node, assignee, "camunda:assignee")
        if users:
            self._candidate_users(node, users, assigned=bool(assignee))
        for name in ("dueDate",):
            value = pop_camunda_attr(node, name)
            if value:
                self.report.say(
                    node, f"camunda:{name}", "needs_decision", "camunda.due_date_dropped",
                    construct=f"camunda:{name}", value=value, element=label(node),
                )  # fmt: skip
        if local(node) == "userTask":
            self._form(node)

    def _groups(self, node: etree._Element, groups: str) -> str | None:
        names = [g.strip() for g in groups.split(",") if g.strip()]
        if any(is_expression(g) for g in names):
            self.report.say(
                node, "camunda:candidateGroups", "cannot_run", "camunda.groups_at_run_time",
                groups=groups, element=label(node),
            )  # fmt: skip
            return None
        mapped = [(g, self._map_group(g)) for g in names]
        roles = list(dict.fromkeys(r for _, r in mapped if r))
        unknown = [g for g, r in mapped if not r]
        if not roles:
            self.report.say(
                node, "camunda:candidateGroups", "cannot_run", "camunda.group_unmapped",
                groups=groups, element=label(node), group=", ".join(repr(g) for g in unknown),
            )  # fmt: skip
            return None
        kept = [g for g, _ in mapped if g in self.kept]
        if kept:
            self.report.say(
                node, "camunda:candidateGroups", "needs_decision", "camunda.group_kept",
                groups=groups, element=label(node), group=", ".join(repr(g) for g in kept),
            )  # fmt: skip
        elif len(roles) > 1 or unknown:
            dropped = [r for r in roles[1:]] + unknown
            self.report.say(
                node, "camunda:candidateGroups", "needs_decision", "camunda.one_role",
                groups=groups, element=label(node), role=roles[0], dropped=", ".join(dropped),
            )  # fmt: skip
        else:
            self.report.say(
                node, "camunda:candidateGroups", "converted", "camunda.group_role",
                groups=groups, element=label(node), role=roles[0],
            )  # fmt: skip
        return roles[0]

    def _map_group(self, group: str) -> str | None:
        """The role of a group or lane name; offline (no known roles) an unmapped name is
        kept as the role, and listed as unknown."""
        role = self.settings.role_for(group)
        known = self.settings.known_roles
        if role is not None and known is not None and role not in known:
            role = None  # mapped to a role the install does not have
        if role is None and known is None:
            role = group
            self.kept.add(group)
        self.result.groups[group] = None if group in self.kept else role
        return role

    def _lane_role(self, node: etree._Element) -> str | None:
        lane = self.lanes.get(node.get("id", ""))
        if lane:
            role = self._map_group(lane)
            if role:
                kept = lane in self.kept
                self.report.say(
                    node, "lane", "needs_decision" if kept else "converted",
                    "camunda.lane_kept" if kept else "camunda.lane_role",
                    element=label(node), lane=lane, role=role,
                )  # fmt: skip
                return role
        default = self.settings.group_roles.get("*")
        if default:
            self.report.say(
                node, "camunda:candidateGroups", "converted", "camunda.default_role",
                element=label(node), role=default,
            )  # fmt: skip
            return default
        self.report.say(
            node, "camunda:candidateGroups", "cannot_run",
            "camunda.no_group_lane_unmapped" if lane else "camunda.no_group",
            element=label(node), **({"lane": lane} if lane else {}),
        )  # fmt: skip
        return None

    def _assignee(self, node: etree._Element, value: str, construct: str) -> None:
        try:
            expression = translate_value(value)
        except OutsideSubset as exc:
            self.report.add(
                node, construct, "cannot_run",
                f"{construct}={value} on {label(node)}: {exc}; name the person in a variable",
            )  # fmt: skip
            return
        set_property(node, "assignee", expression)
        self.report.say(
            node, construct, "converted", "camunda.assigned",
            construct=construct, value=value, element=label(node), expression=expression,
        )  # fmt: skip

    def _candidate_users(self, node: etree._Element, users: str, assigned: bool) -> None:
        names = [u.strip() for u in users.split(",") if u.strip()]
        if not assigned and len(names) == 1:
            self._assignee(node, names[0], "camunda:candidateUsers")
            return
        self.report.say(
            node, "camunda:candidateUsers", "needs_decision", "camunda.candidate_users_dropped",
            users=users, element=label(node),
        )  # fmt: skip

    def _form(self, node: etree._Element) -> None:
        key = pop_camunda_attr(node, "formKey") or pop_camunda_attr(node, "formRef")
        data = camunda_children(node, "formData")
        if data:
            schema = forms.form_schema(node, data[0], self.report)
            name = f"{self.stem}-{_safe(node.get('id', 'form'))}.schema.json"
            self.result.forms[name] = forms.schema_bytes(schema)
            set_property(node, "formJsonSchemaFilename", name)
            self.report.say(
                node, "camunda:formData", "converted", "camunda.form_data", data[0],
                element=label(node), form=name, count=len(schema["properties"]),
            )  # fmt: skip
            for element in data:
                detach(element)
        if key:
            kind = "an embedded or external form"
            if key.startswith("camunda-forms:") or key.endswith(".form"):
                kind = "a Camunda Form"
            self.report.say(
                node, "camunda:formKey", "needs_decision", "camunda.form_key_not_converted",
                key=key, element=label(node), kind=kind,
            )  # fmt: skip
