"""Functions RQ calls. Arguments are ids only; state is loaded from the database."""

from __future__ import annotations

import logging
import traceback

from bokji.db import unit_of_work
from bokji.jobs import service as jobs

log = logging.getLogger("bokji.worker")


def run_job(job_id: str) -> str:
    """Execute one automated task. Safe to deliver twice: the database decides who wins."""
    try:
        with unit_of_work() as session:
            outcome = jobs.execute(session, job_id)
    except jobs.AlreadyDone:
        return "duplicate"
    except Exception as exc:
        # The job's transaction rolled back (no side effect kept); record why, for operators only.
        log.warning("job %s failed: %s", job_id, exc)
        with unit_of_work() as session:
            jobs.record_failure(session, job_id, "".join(traceback.format_exception(exc)))
        raise
    return outcome
