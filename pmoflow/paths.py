"""Where PMOflow keeps its data and finds the processes it ships.

The instance folder (SQLite database, secret key) is ``$PMOFLOW_HOME`` or the per-user data
directory (``~/.local/share/pmoflow`` on Linux), never inside the installed package. The
shipped diagrams, decision tables and forms are package data: ``pmoflow/bpmn/`` in a wheel
(setup.cfg maps the repository's top-level ``bpmn/`` there) and ``bpmn/`` itself in a
checkout or an editable install.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

APP_NAME = "pmoflow"


def home_dir(env: Mapping[str, str] | None = None) -> Path:
    """The instance folder: ``$PMOFLOW_HOME``, else the per-user data directory.

    ``PMOFLOW_INSTANCE_DIR`` is the older name of ``PMOFLOW_HOME`` and still read.
    """
    env = os.environ if env is None else env
    chosen = env.get("PMOFLOW_HOME") or env.get("PMOFLOW_INSTANCE_DIR")
    if chosen:
        return Path(chosen).expanduser().resolve()
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False).resolve()


def bundled_bpmn_dir() -> Path:
    """The folder of the diagrams, decision tables and forms that ship with PMOflow."""
    installed = resources.files(__package__).joinpath("bpmn")
    if isinstance(installed, Path) and installed.is_dir():
        return installed
    # A checkout (or an editable install of one): the package sits next to bpmn/.
    return Path(__file__).resolve().parent.parent / "bpmn"
