"""What every engine verb works with besides the database session.

:class:`~engine.api.Engine` owns one :class:`EngineContext` and hands it to the modules
that carry out its verbs, so those modules never import the facade that calls them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.business_calendar import BusinessCalendar
from engine.clock import Clock
from engine.definitions import SpecCache
from engine.services import ServiceRegistry
from engine.settings import EngineSettings
from engine.spiff.script_helpers import make_helpers


@dataclass
class EngineContext:
    """The clock, the limits, the glue registry, the parsed-spec cache and the helper
    functions diagram scripts may call."""

    clock: Clock
    settings: EngineSettings
    services: ServiceRegistry
    cache: SpecCache = field(init=False)
    helpers: dict[str, Callable[..., Any]] = field(init=False)
    calendar: BusinessCalendar = field(init=False)

    def __post_init__(self) -> None:
        self.cache = SpecCache(self.settings.spec_cache_size)
        self.calendar = BusinessCalendar(
            self.settings.calendar_country, self.settings.calendar_time_zone
        )
        self.helpers = make_helpers(self.clock.now, calendar=self.calendar)
