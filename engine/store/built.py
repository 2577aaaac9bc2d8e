"""SQL statements built once per process and reused (issue 16).

Building a task list's or the navigation badges' statement from a user's grants costs
more than running it: SQLAlchemy constructs the expression tree (a few hundred objects)
and then walks it again for its compiled-cache key, ~1 ms per page on this machine
against ~0.3 ms for executing it. A statement is a pure function of what it was built
from, so it is kept under a key that names all of that (the user's grants, the list's
filters, the dialect) and run again with the values that change per call (the time, the
page's limit and offset) as bound parameters. A change of grants is a new key, never a
stale statement.

The memo is bounded (least recently used out first) and shared by the threads of a
worker; a statement object is immutable once built, so sharing it is safe.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")

#: How many statements a process keeps: ~40 KiB each with SQLAlchemy's compiled form,
#: so at most ~20 MiB; a person's badges and inbox tabs are three or four statements,
#: so the views of ~130 people at once stay kept (beyond, the least recent are rebuilt).
SIZE = 512

_memo: OrderedDict[Hashable, object] = OrderedDict()
_lock = threading.Lock()


def built(key: Hashable, build: Callable[[], T]) -> T:
    """The statement kept under ``key``, built by ``build()`` the first time."""
    with _lock:
        found = _memo.get(key)
        if found is not None:
            _memo.move_to_end(key)
            return found  # type: ignore[return-value]
    made = build()
    with _lock:
        _memo[key] = made
        while len(_memo) > SIZE:
            _memo.popitem(last=False)
    return made


def size() -> int:
    """How many statements are kept now."""
    return len(_memo)


def forget() -> None:
    """Drop every kept statement (tests; a process whose schema changed)."""
    with _lock:
        _memo.clear()
