"""Import every module that defines tables, so the metadata is complete.

Alembic and ``create_all`` import this; add PMO record modules here as they appear.
"""

from engine.store import models  # noqa: F401
from workflows.records import models as records_models  # noqa: F401
