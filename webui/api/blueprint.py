"""The blueprint every API resource module uses: flask-smorest's, refusing unknown query
parameters as it refuses unknown body fields (a mistyped filter is a 422, not ignored)."""

from __future__ import annotations

from flask_smorest import Blueprint as SmorestBlueprint
from webargs.flaskparser import FlaskParser


class StrictParser(FlaskParser):
    """webargs' Flask parser with the schemas' own ``unknown = RAISE`` for query strings."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
                                   "query": None, "querystring": None}


class Blueprint(SmorestBlueprint):
    """A resource of the API (routes under ``/api/v1``)."""

    ARGUMENTS_PARSER = StrictParser()
