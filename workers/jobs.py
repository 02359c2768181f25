"""Functions RQ calls. Arguments are ids only; state is loaded from the database."""

from __future__ import annotations

import logging
import os
import socket

from bokji.db import unit_of_work
from bokji.jobs import service as jobs
from bokji.jobs.handlers import RetryLater
from bokji.steps import service as steps

log = logging.getLogger("bokji.worker")
WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"


def run_job(job_id: str) -> str:
    """Execute one automated task. Safe to deliver any number of times: the database decides.

    1. claim (own short transaction): the job must be queued and due; it becomes running under a lease.
    2. execute (one transaction): handler + completion + engine advance, or nothing at all.
    3. on failure (own transaction): retry later with backoff, or open an incident.
    """
    with unit_of_work() as session:
        claim = jobs.claim(session, job_id, WORKER_NAME)
    if claim is None:
        return "skipped"
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
        log.warning("job %s attempt %d failed (%s): %s", job_id, claim.attempt, outcome, exc)
        return outcome
