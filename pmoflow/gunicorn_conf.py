"""gunicorn settings for PMOflow (``pip install 'pmoflow[server]'``), installed or in a
checkout: ``gunicorn -c python:pmoflow.gunicorn_conf 'pmoflow.app:create_app()'``.

Sync workers with a request timeout and an address-space cap per worker: the sandbox stops
runaway Python in diagram scripts, and these two backstops stop what runs in C (a huge
``max(range(...))``, a giant allocation) by killing or failing one worker, not the server.
Run ``pmoflow worker`` beside it for timers (``PMOFLOW_SERVER_WORKER`` does not apply here).
"""

import gc
import multiprocessing
import os

bind = os.environ.get("PMOFLOW_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("PMOFLOW_WORKERS", str(max(2, multiprocessing.cpu_count()))))
worker_class = "sync"
timeout = int(os.environ.get("PMOFLOW_REQUEST_TIMEOUT", "30"))
graceful_timeout = 10
keepalive = 5
raw_env = ["MALLOC_ARENA_MAX=2"]


def post_fork(server, worker):
    """Cap each worker's memory (PMOFLOW_MEMORY_LIMIT_MB, default 4096)."""
    from pmoflow.cli import limit_memory

    limit_memory(int(os.environ.get("PMOFLOW_MEMORY_LIMIT_MB", "4096")))


def post_worker_init(worker):
    """Once the app is loaded, set what it loaded aside from the garbage collector
    (``PMOFLOW_GC_FREEZE=0``: do not). Those ~200,000 objects live as long as the worker;
    without this every full collection walks them all again (~0.1 s every ~150 completed
    tasks, a pause some request waits through)."""
    if os.environ.get("PMOFLOW_GC_FREEZE", "1") != "0":
        gc.collect()
        gc.freeze()
