"""Words the engine and the diagrams bring in English, said in the user's language.

- Field messages from form validation (``engine/forms.py``) are matched by pattern.
- Role keys get their display names.
- Common form words (``Decision``, ``Comment``...) and outcome values (``accept``) are
  translated when a schema gives no ``x-title-zh`` / ``x-enum-titles`` of its own.
"""

from __future__ import annotations

import re

from webui.i18n import gettext
from webui.i18n import lazy_gettext as _l

ROLE_LABELS = {
    "pm": _l("Project manager"),
    "sponsor": _l("Project sponsor"),
    "pmo_reviewer": _l("PMO reviewer"),
    "pmo_head": _l("PMO head"),
    "finance": _l("Finance controller"),
    "steering": _l("Steering committee"),
    "team": _l("Project team member"),
    "process_owner": _l("Process owner"),
    "pmo_admin": _l("PMO administrator"),
}



def N_(text: str) -> str:
    """Mark ``text`` for extraction; it is translated where it is shown."""
    return text


#: Common words of form schemas and outcomes, translated when a schema has no zh title.
VOCABULARY = frozenset((
    N_("Title"), N_("Budget"), N_("Comment"), N_("Decision"), N_("Outcome"), N_("Reason"),
    N_("Planned start"), N_("Planned end"), N_("Description"), N_("Category"),
    N_("Accept"), N_("Approve"), N_("Reject"), N_("Rework"), N_("Escalate"), N_("Yes"),
    N_("No"), N_("Proposal"), N_("Review"), N_("Currency"), N_("Amount"),
))

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^This field is required\.$"), "required"),
    (re.compile(r"^Choose one of: (?P<v>.*)\.$"), "choose"),
    (re.compile(r"^Must be at least (?P<v>\S+) characters\.$"), "min_length"),
    (re.compile(r"^Must be at most (?P<v>\S+) characters\.$"), "max_length"),
    (re.compile(r"^Must be at least (?P<v>\S+)\.$"), "minimum"),
    (re.compile(r"^Must be at most (?P<v>\S+)\.$"), "maximum"),
    (re.compile(r"^Must be greater than (?P<v>\S+)\.$"), "exclusive_minimum"),
    (re.compile(r"^Must be less than (?P<v>\S+)\.$"), "exclusive_maximum"),
    (re.compile(r"^Must be a (?P<v>\w+)\.$"), "type"),
    (re.compile(r"^Must be a valid date\.$"), "date"),
    (re.compile(r"^Has the wrong format\.$"), "format"),
    (re.compile(r"^Give a reason for (handing this task over|cancelling)\.$"), "reason"),
    (re.compile(r"^You have (?P<v>\S+) MB of uploads not yet part of a submitted form; the "
                r"limit is (?P<limit>\S+) MB\."), "quota"),
)

_TYPES = {
    "number": _l("Must be a number."),
    "integer": _l("Must be a whole number."),
    "string": _l("Must be text."),
    "boolean": _l("Must be yes or no."),
    "array": _l("Must be a list."),
    "object": _l("Must be a group of values."),
}


def field_message(message: str) -> str:
    """A validation message from the engine in the user's language (unknown: as is)."""
    for pattern, kind in _PATTERNS:
        found = pattern.match(message)
        if not found:
            continue
        v = found.groupdict().get("v", "")
        if kind == "type":
            return str(_TYPES.get(v, message))
        if kind == "quota":
            return gettext("You have %(held)s MB of uploads not yet part of a submitted form; "
                           "the limit is %(limit)s MB. Submit or discard those forms first "
                           "(unsubmitted uploads are deleted after a day).", held=v,
                           limit=found.group("limit"))
        return _message(kind, v)
    return message


def _message(kind: str, v: str) -> str:
    texts = {
        "required": gettext("This field is required."),
        "choose": gettext("Choose one of: %(values)s.", values=v),
        "min_length": gettext("Must be at least %(n)s characters.", n=v),
        "max_length": gettext("Must be at most %(n)s characters.", n=v),
        "minimum": gettext("Must be at least %(n)s.", n=v),
        "maximum": gettext("Must be at most %(n)s.", n=v),
        "exclusive_minimum": gettext("Must be greater than %(n)s.", n=v),
        "exclusive_maximum": gettext("Must be less than %(n)s.", n=v),
        "date": gettext("Must be a valid date (YYYY-MM-DD)."),
        "format": gettext("Has the wrong format."),
        "reason": gettext("Please give a reason."),
    }
    return texts[kind]


def word(text: str | None) -> str:
    """A common form word in the user's language (unknown words as they are)."""
    if not text:
        return ""
    return gettext(text) if text in VOCABULARY else text


def role_label(key: str | None, fallback: dict[str, str] | None = None) -> str:
    """Display name of a role key."""
    if not key:
        return ""
    if key in ROLE_LABELS:
        return str(ROLE_LABELS[key])
    return (fallback or {}).get(key, key)


def role_labels(fallback: dict[str, str] | None = None) -> dict[str, str]:
    """Every known role key with its display name in the user's language (for the
    diagram's lanes)."""
    keys = set(ROLE_LABELS) | set(fallback or {})
    return {key: role_label(key, fallback) for key in sorted(keys)}


_ACCESS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^four-eyes rule: you submitted"), "own"),
    (re.compile(r"^four-eyes rule: (?P<v>\S+), for whom you act"), "behalf"),
    (re.compile(r"^this task is assigned to (?P<v>.+)$"), "assigned"),
    (re.compile(r"^this task needs the role '(?P<v>[^']+)'"), "role"),
)


def access_message(message: str) -> str:
    """Why someone may not work on a task, in the user's language (unknown: as is)."""
    for pattern, kind in _ACCESS:
        found = pattern.match(message or "")
        if found:
            return _access_text(kind, found.groupdict().get("v", ""))
    return message


def _access_text(kind: str, v: str) -> str:
    if kind == "own":
        return gettext("Four-eyes rule: you submitted this request, so someone else must "
                       "review it.")
    if kind == "behalf":
        return gettext("Four-eyes rule: %(user)s, for whom you act, submitted this request.",
                       user=v)
    if kind == "assigned":
        return gettext("This task is assigned to %(user)s.", user=v)
    return gettext("This task needs the role “%(role)s”.", role=role_label(v))


def process_failed(detail: str) -> str:
    """What a person is told when a step of the process itself failed on their input."""
    return gettext("The process could not go on, so nothing was saved; your input is kept. "
                   "Please tell the process owner: %(detail)s", detail=detail)
