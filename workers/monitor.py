"""The monitor process: keeps the dashboard's summary tables (bokji/monitor/refresh.py) every `monitor_interval`
seconds. A process of its own, not a round of the scheduler's timer loop: a refresh of a million cases must not
hold up timers. Several may run; the advisory lock lets one refresh at a time, the others skip that round."""

from __future__ import annotations

import logging
import signal
import threading

from bokji.config import get_settings
from bokji.db import unit_of_work
from bokji.monitor.refresh import Refreshed, refresh

log = logging.getLogger("bokji.monitor")


def once() -> Refreshed:
    with unit_of_work() as session:
        return refresh(session)


def run_forever(stop: threading.Event | None = None) -> int:
    stop = stop or threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    settings = get_settings()
    while not stop.is_set():
        try:
            done = once()
            if not done.skipped:
                log.info("monitor: %d cases recounted in %d ms", done.recounted, done.duration_ms)
        except Exception as exc:  # a database outage: keep the loop alive and try again next round
            log.warning("monitor refresh failed: %s", exc)
        stop.wait(settings.monitor_interval)
    return 0
