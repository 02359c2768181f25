"""Functions RQ calls. Arguments are ids only; state is loaded from the database."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from bokji import logs, metrics
from bokji.config import get_settings
from bokji.db import unit_of_work
from bokji.jobs import service as jobs
from bokji.jobs.handlers import RetryLater
from bokji.steps import service as steps

log = logging.getLogger("bokji.worker")
WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"


class Heartbeat(threading.Thread):
    """Renews the claim's lease every third of it while the job runs (its own transactions). A worker
    that dies stops renewing, and the scheduler takes the job back once the lease has run out."""

    def __init__(self, claim: jobs.Claim) -> None:
        super().__init__(name=f"lease-{claim.job_id}", daemon=True)
        self.claim = claim
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(get_settings().job_lease / 3):
            try:
                with unit_of_work() as session:
                    if not jobs.renew_lease(session, self.claim):
                        return  # done, failed or taken back: nothing to keep
            except Exception as exc:  # the database is away: try again next beat
                log.warning("lease of job %s not renewed: %s", self.claim.job_id, exc)

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


def run_job(job_id: str) -> str:
    """Execute one automated task. Safe to deliver any number of times: the database decides.

    1. claim (own short transaction): the job must be queued and due; it becomes running under a lease,
       renewed by a heartbeat while the handler runs.
    2. execute (one transaction): handler + completion + engine advance, or nothing at all.
    3. on failure (own transaction): retry later with backoff, or open an incident.
    """
    with logs.bound(job_id=job_id):
        with unit_of_work() as session:
            claim = jobs.claim(session, job_id, WORKER_NAME)
        if claim is None:
            return "skipped"
        heartbeat = Heartbeat(claim)
        heartbeat.start()
        started, outcome = time.perf_counter(), "crash"
        try:
            outcome = _execute(job_id, claim)
            return outcome
        finally:
            heartbeat.stop()
            metrics.JOB_SECONDS.labels(claim.topic).observe(time.perf_counter() - started)
            metrics.JOB_EXECUTIONS.labels(claim.topic, outcome).inc()


def _execute(job_id: str, claim: jobs.Claim) -> str:
    try:
        with unit_of_work() as session:
            return steps.execute_job(session, claim)
    except jobs.AlreadyDone:
        return "duplicate"
    except jobs.Suspended:
        with unit_of_work() as session:
            jobs.release(session, claim)
        return "suspended"
    except RetryLater as exc:
        with unit_of_work() as session:
            return jobs.postpone(session, claim, str(exc), exc.delay)
    except Exception as exc:
        with unit_of_work() as session:
            outcome = jobs.record_failure(session, claim, exc)
        # The exception's class only: its text may quote a case's data (operators read it in GET /incidents).
        log.warning("job %s (%s) attempt %d failed (%s): %s", job_id, claim.topic, claim.attempt, outcome,
                    type(exc).__name__)
        return outcome
