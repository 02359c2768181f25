"""The scheduler process: periodic sweeps that rebuild Redis from the database.

Now: re-enqueue queued jobs that Redis lost (Redis keeps nothing on disk). Timers, leases and
retry backoff join this loop with the durable-execution work.
"""

from __future__ import annotations

import logging
import signal
import threading

from bokji.config import get_settings
from bokji.db import unit_of_work
from bokji.jobs import service as jobs

log = logging.getLogger("bokji.scheduler")


def sweep_once() -> int:
    with unit_of_work() as session:
        ids = jobs.requeue_stale(session, get_settings().job_requeue_after)
    if ids:
        log.info("re-enqueued %d jobs", len(ids))
    return len(ids)


def run_forever(stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    interval = get_settings().sweeper_interval
    while not stop.is_set():
        try:
            sweep_once()
        except Exception as exc:  # a database or Redis outage: keep the loop alive and try again
            log.warning("sweep failed: %s", exc)
        stop.wait(interval)
