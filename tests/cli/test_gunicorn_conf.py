"""pmoflow/gunicorn_conf.py: the settings the documented production command runs with."""

from __future__ import annotations

import gc

import pytest

from pmoflow import gunicorn_conf


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_a_loaded_worker_sets_its_objects_aside_from_the_collector(unfrozen, monkeypatch):
    monkeypatch.delenv("PMOFLOW_GC_FREEZE", raising=False)
    assert gc.get_freeze_count() == 0
    gunicorn_conf.post_worker_init(worker=None)
    assert gc.get_freeze_count() > 10_000  # this test process's modules, at least


def test_freezing_can_be_turned_off(unfrozen, monkeypatch):
    monkeypatch.setenv("PMOFLOW_GC_FREEZE", "0")
    gunicorn_conf.post_worker_init(worker=None)
    assert gc.get_freeze_count() == 0
