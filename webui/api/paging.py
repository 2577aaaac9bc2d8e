"""``offset``/``limit`` pages: the body ``{items, total, offset, limit}`` and the ``Link``
header (``rel="next"``/``rel="prev"``) that clients follow without knowing the size."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from flask import request

#: The Link header, for the OpenAPI document.
LINK_HEADER = {"Link": {"description": 'Neighbouring pages: <url>; rel="next", '
                                       '<url>; rel="prev"', "schema": {"type": "string"}}}


def page(items: Sequence[Any], total: int, offset: int, limit: int
         ) -> tuple[dict[str, Any], dict[str, str]]:
    """The page body and its headers (return both from a route)."""
    links = []
    if offset + len(items) < total:
        links.append(f'<{_url(offset + limit, limit)}>; rel="next"')
    if offset > 0:
        links.append(f'<{_url(max(0, offset - limit), limit)}>; rel="prev"')
    headers = {"Link": ", ".join(links)} if links else {}
    return {"items": list(items), "total": total, "offset": offset, "limit": limit}, headers


def _url(offset: int, limit: int) -> str:
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in ("offset", "limit")]
    args += [("offset", str(offset)), ("limit", str(limit))]
    return f"{request.base_url}?{urlencode(args)}"
