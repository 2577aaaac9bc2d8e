"""A small OpenID Connect provider for tests, on 127.0.0.1 in a thread.

It serves discovery, a JWKS with one RSA key, ``/authorize`` (no login form: it answers
at once for :attr:`TestProvider.user`, redirecting back with a code and the state) and
``/token`` (checks the client's secret, the redirect URI and the PKCE verifier, then
returns an ID token signed with that key).  Tests bend it to misbehave: claims to
override or drop (:attr:`tweak`), a token signed with a key it never published
(:attr:`sign_with_unknown_key`), an error instead of a code (:attr:`authorize_error`).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlencode

from flask import Flask, abort, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.serving import BaseWSGIServer, make_server

CLIENT_ID = "pmoflow-test"
CLIENT_SECRET = "test-client-secret"


class TestProvider:
    """The provider; :meth:`start` it, read :attr:`issuer`, :meth:`stop` it."""

    __test__ = False  # not a test class for pytest

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256"})
        # same key id, never published: a token it signs fails the signature check
        self.unknown_key = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256"})
        self.user: dict[str, Any] = {
            "sub": "u-1001", "preferred_username": "lwei", "name": "Li Wei",
            "email": "lwei@corp.example", "groups": ["pmo-reviewers", "all-staff"]}
        #: Claims of the next ID tokens to override (a None value drops the claim).
        self.tweak: dict[str, Any] = {}
        self.sign_with_unknown_key = False
        #: An OAuth error code ``/authorize`` answers with instead of a code.
        self.authorize_error: str | None = None
        #: What the last authorization and token requests carried.
        self.authorize_params: dict[str, str] = {}
        self.token_params: dict[str, str] = {}
        self._codes: dict[str, dict[str, str]] = {}
        self._server: BaseWSGIServer | None = None
        self.issuer = ""

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> TestProvider:
        self._server = make_server("127.0.0.1", 0, self._app(), threaded=True)
        self.issuer = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # ---------------------------------------------------------------- the app

    def _app(self) -> Flask:
        app = Flask("oidc-test-provider")

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return jsonify({
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic",
                                                          "client_secret_post"],
            })

        @app.get("/jwks")
        def jwks():
            return jsonify({"keys": [self.key.as_dict(private=False)]})

        @app.get("/authorize")
        def authorize():
            args = request.args.to_dict()
            self.authorize_params = args
            if args.get("client_id") != CLIENT_ID or args.get("response_type") != "code":
                abort(400)
            back = args["redirect_uri"]
            if self.authorize_error:
                return redirect(f"{back}?" + urlencode({"error": self.authorize_error,
                                                        "state": args.get("state", "")}))
            code = secrets.token_urlsafe(16)
            self._codes[code] = args
            return redirect(f"{back}?" + urlencode({"code": code, "state": args["state"]}))

        @app.post("/token")
        def token():
            form = request.form.to_dict()
            self.token_params = form
            auth = request.authorization
            client = (auth.username, auth.password) if auth else (
                form.get("client_id"), form.get("client_secret"))
            if client != (CLIENT_ID, CLIENT_SECRET):
                return jsonify({"error": "invalid_client"}), 401
            asked = self._codes.pop(form.get("code", ""), None)
            if asked is None or form.get("redirect_uri") != asked["redirect_uri"]:
                return jsonify({"error": "invalid_grant"}), 400
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            if digest.rstrip(b"=").decode() != asked.get("code_challenge"):
                return jsonify({"error": "invalid_grant",
                                "error_description": "PKCE verification failed"}), 400
            return jsonify({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                            "expires_in": 3600, "id_token": self._id_token(asked)})

        return app

    def _id_token(self, asked: dict[str, str]) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now,
                                  "exp": now + 300, "nonce": asked.get("nonce"), **self.user}
        claims.update(self.tweak)
        claims = {k: v for k, v in claims.items() if v is not None}
        key = self.unknown_key if self.sign_with_unknown_key else self.key
        return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)
