"""Language: the user's saved choice, then this session's, then the browser's, else English."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flask_babel
from babel.support import NullTranslations
from flask import Blueprint, Flask, abort, g, has_app_context, redirect, request, session, url_for
from flask_babel.speaklater import LazyString
from flask_login import current_user
from markupsafe import Markup

LANGUAGES = {"en": "English", "zh": "中文"}
_NULL = NullTranslations()

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """The locale for this request."""
    if getattr(current_user, "is_authenticated", False) and current_user.locale in LANGUAGES:
        return current_user.locale
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES)) or "en"


def select_timezone() -> str | None:
    """The signed-in user's time zone (set by an administrator), else the site's."""
    if getattr(current_user, "is_authenticated", False):
        return getattr(current_user, "time_zone", None)
    return None


@bp.post("/language")
def switch():
    """Switch the language (remembered for the user and for this session)."""
    from webui.context import bpm, safe_next
    from webui.extensions import db

    lang = request.form.get("lang", "")
    if lang not in LANGUAGES:
        abort(400)
    session["lang"] = lang
    if current_user.is_authenticated:
        bpm().set_locale(db.session, current_user.username, lang)
    return redirect(safe_next(request.form.get("next"), url_for("home.index")))


# --------------------------------------------------------------------------- fast lookups
# Flask-Babel resolves its domain, context and catalog on every call; a table of tasks
# calls gettext a hundred times. The catalog is looked up once per request and kept on
# ``g`` (the language switch redirects, so no request changes language half-way).


def translations() -> Any:
    """This request's catalog (English: the identity catalog)."""
    if not has_app_context():
        return _NULL
    found = g.get("_pmoflow_translations")
    if found is None:
        found = flask_babel.get_translations()
        g._pmoflow_translations = found
    return found


#: What a request keeps of its language (webui.i18n, webui.formatting, webui.wording).
_LANGUAGE_KEPT = ("_pmoflow_translations", "_pmoflow_format", "_pmoflow_language",
                  "_pmoflow_names")


def forget_language() -> None:
    """Drop what this request kept of its language (around ``flask_babel.force_locale``:
    the catalog, locale, language and diagram names are looked up again)."""
    for key in _LANGUAGE_KEPT:
        g.pop(key, None)


def gettext(string: str, **variables: Any) -> str:
    """``string`` in the request's language, ``%(name)s`` filled from ``variables``."""
    text = translations().ugettext(string)
    return text % variables if variables else text


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    """``string`` translated when it is shown (module-level labels)."""
    return LazyString(gettext, string, **variables)


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """Singular or plural in the request's language; ``%(num)s`` is ``num``."""
    variables.setdefault("num", num)
    return translations().ungettext(singular, plural, num) % variables


def template_gettext(string: str, **variables: Any) -> Markup:
    """``_()`` in templates: as Jinja's "newstyle" gettext (the translation is markup,
    the variables are escaped into it, ``%`` is always applied) in one call instead of
    two context-resolving ones."""
    return Markup(translations().ugettext(string)) % variables


def bound_template_gettext() -> Callable[..., Markup]:
    """:func:`template_gettext` bound to this request's catalog, for a template context
    (a call then needs no context-local lookup at all)."""
    ugettext = translations().ugettext

    def gettext_(string: str, **variables: Any) -> Markup:
        return Markup(ugettext(string)) % variables

    return gettext_


def install(app: Flask) -> None:
    """Let templates use the per-request catalog (after ``babel.init_app``)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
    )
    app.jinja_env.globals["_"] = template_gettext
