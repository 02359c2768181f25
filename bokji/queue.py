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
            RUN_JOB, job_id, job_id=f"bokji-{job_id}", job_timeout=settings.job_timeout,
            result_ttl=600, failure_ttl=86_400,
        )
        return True
    except RedisError as exc:
        log.warning("could not hand job %s to Redis (%s); the sweeper will retry", job_id, exc)
        return False
