"""SpiffWorkflow wrapped: parsing, sandbox, serializer, runtime guards.

Importing the package applies the library fixes (clock-bound timers, bounded timer
durations, multi-instance completion conditions, the data merge at joins) once.
"""

from engine.spiff import fixes, joins, timebase  # noqa: F401
