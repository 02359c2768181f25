"""The scheduler process: fires due timers and keeps Redis in step with the database.

Every `scheduler_poll` seconds: timers that are due fire (the instance advances), and handler jobs
whose retry time came are handed to Redis. Every `sweeper_interval` seconds: the legal clocks' sweep (warnings,
breaches escalated once, bokji/clocks) and the notification outbox; leases that ran out are
taken back (their worker died) and queued jobs that Redis lost (a restart, a FLUSHALL) are enqueued
again. Everything it needs is in the database, so a killed scheduler loses nothing: the next one
picks up where it stopped. Several schedulers may run; row locks keep them from doing work twice.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

from bokji.clocks import service as clocks
from bokji.config import get_settings
from bokji.db import unit_of_work
from bokji.instances import service as instances
from bokji.jobs import service as jobs
from bokji.queue import redis_connection
from bokji.steps import service as steps
from processes.evaluator import warm_sandbox

log = logging.getLogger("bokji.scheduler")
HEARTBEAT = "bokji:scheduler:heartbeat"  # seen by /ready; expires when no scheduler runs


def fire_due_timers() -> int:
    with unit_of_work() as session:
        due = instances.due_timer_instances(session)
    fired = 0
    for instance_id in due:
        try:
            with unit_of_work() as session:
                fired += steps.fire_timers(session, instance_id)
        except Exception as exc:  # one broken instance must not stop the others' timers
            # The class only: an exception's text may quote the case's data.
            log.warning("timer of instance %s failed: %s", instance_id, type(exc).__name__)
    return fired


def tick(*, sweep: bool) -> dict[str, int]:
    """One round of the loop; returns what it did (for logs and tests)."""
    done = {"timers": fire_due_timers()}
    with unit_of_work() as session:
        if sweep:
            done["reclaimed"] = len(jobs.reclaim_expired_leases(session))
        done["enqueued"] = len(jobs.enqueue_due(session, check_redis=sweep))
    if sweep:  # legal clocks: warnings before a deadline, a breach escalated once; then the outbox
        with unit_of_work() as session:
            done.update(clocks.sweep(session))
        with unit_of_work() as session:
            done["notified"] = clocks.send_notifications(session)
    settings = get_settings()
    redis_connection().set(HEARTBEAT, f"{time.time():.3f}",
                           px=int(1000 * max(10 * settings.scheduler_poll, 2 * settings.sweeper_interval, 5)))
    return done


def run_forever(stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    settings = get_settings()
    warm_sandbox(1)  # timer-start models and timers run model code here too
    last_sweep = 0.0
    while not stop.is_set():
        sweep = time.monotonic() - last_sweep >= settings.sweeper_interval
        try:
            done = tick(sweep=sweep)
            if sweep:
                last_sweep = time.monotonic()
            if any(done.values()):
                log.info("scheduler: %s", done)
        except Exception as exc:  # a database or Redis outage: keep the loop alive and try again
            log.warning("scheduler round failed: %s", exc)
        stop.wait(settings.scheduler_poll)
