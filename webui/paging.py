"""Page numbers for long lists (the engine pages with limit/offset)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request, url_for


def page_arg() -> int:
    """The ``page`` query argument (1 when missing or bad)."""
    return max(1, min(request.args.get("page", 1, type=int) or 1, 100_000))


@dataclass(frozen=True)
class Paging:
    """Where a page sits in a list of ``total`` items."""

    page: int
    per_page: int
    total: int
    #: The list was counted only up to ``total`` (there may be more): "of 1000+".
    capped: bool = False

    @property
    def total_label(self) -> str:
        """The total as shown: ``1000+`` when the count stopped at its cap."""
        return f"{self.total}+" if self.capped else str(self.total)

    @property
    def offset(self) -> int:
        """Items before this page."""
        return (self.page - 1) * self.per_page

    @property
    def pages(self) -> int:
        """How many pages there are (at least one)."""
        return max(1, -(-self.total // self.per_page))

    @property
    def first_item(self) -> int:
        """1-based number of the first item shown (0 when empty)."""
        return min(self.offset + 1, self.total)

    @property
    def last_item(self) -> int:
        """1-based number of the last item shown."""
        return min(self.offset + self.per_page, self.total)

    def url(self, page: int) -> str:
        """This list's URL with the same filters, on ``page``."""
        args = request.args.to_dict()
        args["page"] = str(page)
        return url_for(request.endpoint or "home.index", **(request.view_args or {}), **args)

    def window(self) -> list[int | None]:
        """Page numbers to offer; None marks a gap."""
        shown = {1, self.pages, *range(self.page - 2, self.page + 3)}
        out: list[int | None] = []
        for n in sorted(p for p in shown if 1 <= p <= self.pages):
            if out and out[-1] is not None and n - out[-1] > 1:
                out.append(None)
            out.append(n)
        return out
