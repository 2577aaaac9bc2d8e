"""SpiffWorkflow wrapped: parsing, sandbox, serializer, runtime guards.

Importing the package applies the library fixes (clock-bound timers, bounded timer
durations, multi-instance completion conditions) once.
"""

from engine.spiff import fixes, timebase  # noqa: F401
