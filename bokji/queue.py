"""Handing job ids to RQ. Redis holds nothing the database cannot rebuild.

Enqueueing happens after commit (bokji.db.after_commit). If Redis is unreachable at that moment the
job row stays `queued` and the scheduler's sweeper hands it over again later: the caller never fails
because of Redis.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

from bokji.config import get_settings

log = logging.getLogger(__name__)

RUN_JOB = "workers.jobs.run_job"


@lru_cache
def redis_connection() -> Redis:
    return Redis.from_url(get_settings().redis_url, socket_timeout=5, socket_connect_timeout=2)


def job_queue() -> Queue:
    return Queue(get_settings().queue_name, connection=redis_connection())


def enqueue_job(job_id: str) -> bool:
    settings = get_settings()
    try:
        job_queue().enqueue(
            RUN_JOB, job_id, job_id=rq_job_id(job_id), job_timeout=settings.job_timeout,
            result_ttl=600, failure_ttl=86_400,
        )
        return True
    except RedisError as exc:
        log.warning("could not hand job %s to Redis (%s); the sweeper will retry", job_id, exc)
        return False


def rq_job_id(job_id: str) -> str:
    return f"bokji-{job_id}"


# RQ states in which a job will still run. "started" is not one of them here: the sweeper only asks
# about jobs the database still has as *queued*, and a worker claims a job in the database the moment
# it takes it from Redis; "started" with no claim means the worker died between the two (measured:
# SIGKILLed workers left such jobs waiting for RQ's own clean-up, minutes later).
LIVE_STATUSES = {b"queued", b"deferred", b"scheduled"}


def missing_jobs(job_ids: list[str]) -> set[str]:
    """Which of these jobs Redis will not run: gone (Redis restarted empty or was flushed), or
    ended in RQ while the database still has them queued (e.g. a worker failed to reach PostgreSQL)."""
    if not job_ids:
        return set()
    pipe = redis_connection().pipeline(transaction=False)
    for job_id in job_ids:
        pipe.hget(f"rq:job:{rq_job_id(job_id)}", "status")
    return {job_id for job_id, status in zip(job_ids, pipe.execute(), strict=True) if status not in LIVE_STATUSES}
