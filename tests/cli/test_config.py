"""Where configuration puts things: the instance folder, the bundled processes, the key."""

from __future__ import annotations

import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import pmoflow
from pmoflow import secret
from pmoflow.config import Config
from pmoflow.paths import bundled_bpmn_dir, home_dir

ROOT = Path(__file__).resolve().parents[2]
RACERS = 8


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


def test_doctor_and_upload_settings_reach_the_engine(tmp_path):
    defaults = Config.from_env({"PMOFLOW_HOME": str(tmp_path)}).engine_settings()
    assert defaults.doctor_interval_seconds == 600
    assert defaults.upload_quota_bytes == 50 * 1024 * 1024
    assert defaults.unlinked_upload_hours == 24
    settings = Config.from_env({
        "PMOFLOW_HOME": str(tmp_path), "PMOFLOW_DOCTOR_MINUTES": "2.5",
        "PMOFLOW_UPLOAD_QUOTA_MB": "5", "PMOFLOW_UNLINKED_UPLOAD_HOURS": "48"}).engine_settings()
    assert settings.doctor_interval_seconds == 150
    assert settings.upload_quota_bytes == 5 * 1024 * 1024
    assert settings.unlinked_upload_hours == 48


def test_smtp_settings_reach_the_engine(tmp_path):
    home = {"PMOFLOW_HOME": str(tmp_path)}
    assert Config.from_env(home).engine_settings().smtp is None  # the mail catcher
    settings = Config.from_env({**home, "SMTP_HOST": "mail.example.org", "SMTP_TLS": "starttls",
                                "SMTP_USER": "pmo", "SMTP_PASSWORD": "s3cret",
                                "SMTP_SENDER": "pmo@example.org",
                                "PMOFLOW_BASE_URL": "https://pmo.example.org"}).engine_settings()
    assert settings.smtp is not None and settings.base_url == "https://pmo.example.org"
    assert (settings.smtp.host, settings.smtp.port, settings.smtp.tls) == (
        "mail.example.org", 587, "starttls")
    assert (settings.smtp.user, settings.smtp.password, settings.smtp.sender) == (
        "pmo", "s3cret", "pmo@example.org")
    assert "s3cret" not in repr(settings.smtp)
    ssl = Config.from_env({**home, "SMTP_HOST": "m", "SMTP_TLS": "ssl", "SMTP_PORT": "2465"})
    assert ssl.smtp is not None and ssl.smtp.port == 2465
    with pytest.raises(SystemExit, match="SMTP_TLS"):
        Config.from_env({**home, "SMTP_HOST": "m", "SMTP_TLS": "tls1.3"})


def test_the_bundled_processes_are_found_in_a_checkout():
    found = bundled_bpmn_dir()
    assert found == ROOT / "bpmn"
    assert Config.from_env({"SECRET_KEY": "k", "PMOFLOW_HOME": "/nonexistent"}).bpmn_dir == found
    assert len(list(found.glob("*.bpmn"))) == 4 and list(found.glob("forms/*.json"))


def test_a_new_key_is_private_and_kept(tmp_path):
    path = tmp_path / "instance" / "secret_key"
    key = secret.read_or_create(path)
    assert len(key) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret.read_or_create(path) == key
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]  # no temporary left


def test_an_empty_key_file_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(secret, "_WAIT_SECONDS", 0.1)
    path = tmp_path / "secret_key"
    path.write_text("")
    with pytest.raises(SystemExit, match=r"secret key file .* is empty"):
        secret.read_or_create(path)


def test_threads_starting_at_once_agree_on_one_key(tmp_path):
    path = tmp_path / "secret_key"
    barrier = threading.Barrier(RACERS)
    keys: list[str] = []

    def racer() -> None:
        barrier.wait()
        keys.append(secret.read_or_create(path))

    threads = [threading.Thread(target=racer) for _ in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(keys) == RACERS and len(set(keys)) == 1
    assert path.read_text().strip() == keys[0]


#: One racer: import only the key module, say "ready", read the start time, spin until
#: then (so the racers hit the file together, not one process start-up apart), race.
RACER = ("import sys, time; from pathlib import Path; from pmoflow.secret import read_or_create\n"
         "print('ready', flush=True); start = float(sys.stdin.readline())\n"
         "while time.time() < start: pass\n"
         "print(read_or_create(Path(sys.argv[1])), flush=True)")


def test_processes_starting_at_once_agree_on_one_key(tmp_path):
    path = tmp_path / "instance" / "secret_key"
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(path)], cwd=ROOT, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
             for _ in range(RACERS)]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
        start = time.time() + 0.3
        for p in procs:
            p.stdin.write(f"{start}\n")
            p.stdin.flush()
        keys = [p.communicate(timeout=60)[0].strip() for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0] * RACERS
    assert len(set(keys)) == 1 and path.read_text().strip() == keys[0]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]
