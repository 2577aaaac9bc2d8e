"""Single sign-on with OpenID Connect (Authlib's Flask client).

The authorization code flow with PKCE (S256), ``state`` and ``nonce``: ``/login/sso``
sends the browser to the provider, ``/login/sso/callback`` takes the code back, fetches
the tokens and validates the ID token (signature against the provider's JWKS, issuer,
audience, expiry, nonce; Authlib does this), then hands its claims to the engine, which
creates or updates the user and their roles.  Every failure (provider down, wrong state,
a token that fails validation, missing claims, a deactivated account) is a page that says
what happened in the reader's language, and an audit event; never a 500.

Nothing of this exists unless ``PMOFLOW_OIDC_ISSUER`` is set (see
:class:`webui.settings.OidcSettings`): no routes answer, no button shows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import login_user
from joserfc.errors import JoseError

from engine.api import ClaimsMissing, claims_from_token
from webui.auth import _web_user
from webui.context import bpm, safe_next
from webui.extensions import db
from webui.i18n import gettext as _
from webui.settings import OidcSettings

log = logging.getLogger(__name__)

bp = Blueprint("oidc", __name__)

#: ``app.extensions`` key of the registered Authlib client.
CLIENT = "pmoflow.oidc"
#: Session key of the page to go to after signing in.
NEXT = "sso_next"


def init_app(app: Flask, settings: OidcSettings | None) -> None:
    """Register the provider with Authlib and show the button (only when configured)."""
    if settings is None:
        return
    oauth = OAuth(app)
    client = oauth.register(
        "oidc",
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        server_metadata_url=settings.metadata_url,
        client_kwargs={
            "scope": settings.scopes,
            "code_challenge_method": "S256",
            "default_timeout": settings.timeout,
        },
    )
    app.extensions[CLIENT] = (client, settings)
    app.jinja_env.globals["sso_provider"] = settings.provider_name


def _client():
    found = current_app.extensions.get(CLIENT)
    if found is None:
        abort(404)
    return found


@bp.get("/login/sso")
def start():
    """Send the browser to the provider's sign-in page."""
    client, settings = _client()
    session[NEXT] = safe_next(request.args.get("next"), url_for("home.index"))
    try:
        return client.authorize_redirect(url_for("oidc.callback", _external=True))
    except (requests.RequestException, ValueError, KeyError, RuntimeError) as exc:
        return _failed("unreachable", settings, exc)


@bp.get("/login/sso/callback")
def callback():
    """Take the provider's answer: validate it, sign the person in, go on."""
    client, settings = _client()
    try:
        token = client.authorize_access_token(claims_options=_claims_options(settings))
    except MismatchingStateError as exc:
        return _failed("bad_state", settings, exc)
    except OAuthError as exc:
        return _failed("refused", settings, exc, error=exc.error or "")
    except requests.RequestException as exc:
        return _failed("unreachable", settings, exc)
    except (JoseError, AuthlibBaseError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        return _failed("invalid_token", settings, exc)
    userinfo = token.get("userinfo")
    if not userinfo:
        return _failed("claims_missing", settings, "no ID token", claim="id_token")
    try:
        claims = claims_from_token(userinfo, settings.groups_claim)
    except ClaimsMissing as exc:
        return _failed("claims_missing", settings, exc, claim=exc.claim)
    outcome = bpm().sso_sign_in(db.session, claims)
    if outcome.user is None:
        return _page("inactive", settings)
    login_user(_web_user(outcome.user))
    return redirect(safe_next(session.pop(NEXT, None), url_for("home.index")))


def _claims_options(settings: OidcSettings) -> dict[str, dict[str, object]]:
    """What the ID token must say beyond what Authlib checks by itself: issued by the
    configured issuer, and for this client (Authlib's defaults check ``aud`` only through
    ``azp``, so a token for another client that names us as ``azp`` would pass)."""
    issuer = settings.issuer.rstrip("/")
    return {
        "iss": {"essential": True, "values": [issuer, issuer + "/"]},
        "aud": {"essential": True, "values": [settings.client_id]},
        "sub": {"essential": True},
    }


@dataclass(frozen=True)
class _Failure:
    status: int
    title: str
    lead: str


def _failure(kind: str, provider: str, **params: str) -> _Failure:
    """What the page says for each kind of failure, in the reader's language."""
    if kind == "unreachable":
        return _Failure(502, _("The sign-in service cannot be reached"), _(
            "PMOflow could not reach %(provider)s. Try again in a few minutes; if you also "
            "have a PMOflow password, you can sign in with it meanwhile.", provider=provider))
    if kind == "bad_state":
        return _Failure(400, _("This sign-in has expired or was already used"), _(
            "The answer from %(provider)s does not belong to a sign-in started in this "
            "browser. Start again from the sign-in page.", provider=provider))
    if kind == "refused":
        return _Failure(400, _("%(provider)s did not sign you in", provider=provider), _(
            "The sign-in service answered: %(error)s. Start again from the sign-in page, or "
            "ask your administrator.", error=params.get("error") or "?"))
    if kind == "invalid_token":
        return _Failure(401, _("The sign-in could not be verified"), _(
            "The answer from %(provider)s did not pass PMOflow's checks (signature, issuer, "
            "audience, expiry or nonce), so you are not signed in. Try again; if it keeps "
            "happening, tell your administrator.", provider=provider))
    if kind == "claims_missing":
        return _Failure(401, _("Your sign-in lacks information PMOflow needs"), _(
            "%(provider)s did not send the claim %(claim)s. Ask your administrator to "
            "release it to PMOflow.", provider=provider, claim=params.get("claim") or "?"))
    return _Failure(403, _("Your PMOflow account is deactivated"), _(
        "%(provider)s confirmed who you are, but a PMO administrator has deactivated your "
        "PMOflow account. Ask them to reactivate it.", provider=provider))


def _failed(kind: str, settings: OidcSettings, exc: object, **params: str):
    """Audit a failed sign-in and say what happened."""
    detail = f"{type(exc).__name__}: {exc}" if isinstance(exc, Exception) else str(exc)
    log.warning("single sign-on failed (%s): %s", kind, detail)
    bpm().sso_failed(db.session, f"sso.{kind}", settings.issuer, detail)
    return _page(kind, settings, **params)


def _page(kind: str, settings: OidcSettings, **params: str):
    provider = settings.provider_name or _("the sign-in service")
    failure = _failure(kind, provider, **params)
    session.pop(NEXT, None)
    return render_template("sso_error.html", failure=failure, kind=kind,
                           retry=kind != "inactive"), failure.status
