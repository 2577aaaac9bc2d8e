"""The API's pages that are not part of its document: the docs page (Swagger UI from
local files, started by a static script: the CSP allows no inline script) and the
problem types that ``type`` URIs name."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template

from webui.api.problems import KINDS, TYPE_BASE, kinds_document, problem

bp = Blueprint("api_pages", __name__, url_prefix="/api/v1")


@bp.get("/docs")
def docs():
    """Swagger UI over ``/api/v1/openapi.json`` (a signed-in browser can try calls out)."""
    return render_template("api_docs.html")


@bp.get("/problems")
def problem_types():
    """Every problem ``type`` with its status, title and meaning."""
    return jsonify(kinds_document())


@bp.get("/problems/<kind>")
def problem_type(kind: str):
    """One problem type."""
    if kind not in KINDS:
        return problem("not-found", f"No problem type {kind!r}.")
    return jsonify({"type": TYPE_BASE + kind, **kinds_document()[TYPE_BASE + kind]})
