"""Every Python package of the source tree is listed in setup.cfg (packages are listed by
hand, so a new sub-package is easy to forget; the wheel would then lack it)."""

from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_is_in_setup_cfg():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg", encoding="utf-8")
    listed = set(cfg["options"]["packages"].split())
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("engine", "workflows", "webui", "pmoflow")
        for init in (ROOT / top).rglob("__init__.py")
        if "migrations" not in init.parts
    }
    assert found - listed == set()
