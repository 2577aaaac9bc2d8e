"""Language selection: the user's saved choice, then the browser's, else English."""

from __future__ import annotations

from flask import request, session
from flask_login import current_user

LANGUAGES = {"en": "English", "zh": "中文"}


def select_locale() -> str:
    """The locale for this request."""
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    if getattr(current_user, "is_authenticated", False) and current_user.locale in LANGUAGES:
        return current_user.locale
    return request.accept_languages.best_match(list(LANGUAGES)) or "en"
