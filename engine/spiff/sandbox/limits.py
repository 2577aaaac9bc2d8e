"""Sandbox limits, shared constants and the errors the sandbox reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Mode = Literal["eval", "exec"]
FILENAME = "<sandbox>"
MAX_SOURCE_CHARS = 100_000
MAX_DEPTH = 100  # nesting levels of task data
TICK_EVERY = 32  # items between deadline checks while iterating


@dataclass(frozen=True)
class SandboxLimits:
    """Time and size limits of one sandbox."""

    condition_seconds: float = 0.2  # evaluate(): gateway conditions, timers, DMN cells, params
    script_seconds: float = 2.0  # execute(): script tasks, pre/post scripts
    max_int_bits: int = 4096 * 8  # results of ** * << capped
    max_items: int = 1_000_000  # sequence/str repetition and range sizes capped


DEFAULT_LIMITS = SandboxLimits()


class SandboxError(Exception):
    """A problem the sandbox reports; the message is written for the diagram's author."""

    line_number: int | None = None


class SandboxTimeout(SandboxError):
    """The code ran past its time limit."""


class SandboxLimitError(SandboxError):
    """A result would have been too large (integer bits, items, characters)."""


class NonJsonValue(SandboxError):
    """A value that is not plain JSON data; the message names the variable path."""


class _Interrupted(BaseException):
    """Raised by every tick past the deadline; scripts can neither name nor catch it."""
