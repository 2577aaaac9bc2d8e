"""Text the databases cannot store never reaches them from a page (the API has the same
check in :mod:`webui.api.guards`): PostgreSQL refuses NUL characters in text.

Before a page's route runs: a NUL in a path segment is a 404 (nothing has that name), in
the query string (a search, a filter) a 400 that says what is wrong, in a posted form a
400 naming the field.  The forms that show errors beside their fields (task and start
forms, sign-in) check their own input instead: see :func:`strip_unstorable`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import abort, request

from webui.api.guards import unstorable
from webui.api.problems import is_api_request
from webui.i18n import gettext as _

#: Routes that report unstorable text beside the field it is in.
FIELD_CHECKED_ENDPOINTS = frozenset({"tasks.submit", "processes.start", "auth.login"})


def check_request():
    """The error page that answers this request before its route runs, or None."""
    if is_api_request() or request.endpoint == "static":
        return None
    from webui.errors import render_error

    if any(isinstance(v, str) and unstorable(v) for v in (request.view_args or {}).values()):
        abort(404)
    if any(unstorable(k) or unstorable(v) for k, v in request.args.items(multi=True)):
        return render_error(400, _("The address contains a character that cannot be used "
                                   "(a NUL character). Remove it from the search or filter "
                                   "and try again."))
    if request.method != "POST" or request.endpoint in FIELD_CHECKED_ENDPOINTS:
        return None
    bad = [k for k, v in request.form.items(multi=True) if unstorable(k) or unstorable(v)]
    if bad:
        return render_error(400, _("The field “%(field)s” contains a character that cannot "
                                   "be stored (a NUL character). Go back, remove it and send "
                                   "the form again.", field=bad[0] if not unstorable(bad[0])
                                   else "?"))
    return None


def strip_unstorable(data: Any, path: str = "") -> tuple[Any, list[str]]:
    """``data`` with NUL characters removed from every text, and the field paths where
    there were some (for an error beside each)."""
    if isinstance(data, str):
        return (data.replace("\x00", ""), [path or "(form)"]) if unstorable(data) else (
            data, [])
    if isinstance(data, Mapping):
        out, bad = {}, []
        for key, value in data.items():
            out[key], found = strip_unstorable(value, f"{path}.{key}" if path else str(key))
            bad += found
        return out, bad
    if isinstance(data, list):
        items, bad = [], []
        for i, value in enumerate(data):
            item, found = strip_unstorable(value, f"{path}.{i}" if path else str(i))
            items.append(item)
            bad += found
        return items, bad
    return data, []


def stored_text_message() -> str:
    """The error shown beside a field that held a NUL character."""
    return _("This field contained a character that cannot be stored (a NUL character); it "
             "was removed. Check the text and send the form again.")
