"""Language: the user's saved choice, then this session's, then the browser's, else English."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, request, session, url_for
from flask_login import current_user

LANGUAGES = {"en": "English", "zh": "中文"}

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """The locale for this request."""
    if getattr(current_user, "is_authenticated", False) and current_user.locale in LANGUAGES:
        return current_user.locale
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES)) or "en"


@bp.post("/language")
def switch():
    """Switch the language (remembered for the user and for this session)."""
    from engine import reads
    from webui.context import safe_next
    from webui.extensions import db

    lang = request.form.get("lang", "")
    if lang not in LANGUAGES:
        abort(400)
    session["lang"] = lang
    if current_user.is_authenticated:
        reads.set_locale(db.session, current_user.username, lang)
    return redirect(safe_next(request.form.get("next"), url_for("home.index")))
