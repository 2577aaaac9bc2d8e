"""Where configuration puts things: the instance folder and the bundled processes."""

from __future__ import annotations

from pathlib import Path

import pmoflow
from pmoflow.config import Config
from pmoflow.paths import bundled_bpmn_dir, home_dir

ROOT = Path(__file__).resolve().parents[2]


def test_home_is_pmoflow_home_then_the_per_user_data_directory(tmp_path, monkeypatch):
    assert home_dir({"PMOFLOW_HOME": str(tmp_path / "h")}) == tmp_path / "h"
    assert home_dir({"PMOFLOW_INSTANCE_DIR": str(tmp_path / "old")}) == tmp_path / "old"
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    assert home_dir({}) == tmp_path / "user" / ".local" / "share" / "pmoflow"


def test_the_default_database_and_key_live_in_the_home_not_the_package(tmp_path):
    config = Config.from_env({"PMOFLOW_HOME": str(tmp_path)})
    assert config.database_url == f"sqlite:///{tmp_path / 'pmoflow.db'}"
    assert (tmp_path / "secret_key").read_text().strip() == config.secret_key
    package = Path(pmoflow.__file__).resolve().parent
    assert package not in config.instance_dir.parents and config.instance_dir != package


def test_database_url_wins_over_the_home(tmp_path):
    config = Config.from_env({"PMOFLOW_HOME": str(tmp_path), "DATABASE_URL": "sqlite:///x.db"})
    assert config.database_url == "sqlite:///x.db"


def test_the_bundled_processes_are_found_in_a_checkout():
    found = bundled_bpmn_dir()
    assert found == ROOT / "bpmn"
    assert Config.from_env({"SECRET_KEY": "k", "PMOFLOW_HOME": "/nonexistent"}).bpmn_dir == found
    assert len(list(found.glob("*.bpmn"))) == 4 and list(found.glob("forms/*.json"))
