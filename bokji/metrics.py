"""What happens inside a process, counted for Prometheus (served by GET /metrics, monitoring/metrics.py).

Every bokji process (the API's, the workers', the scheduler's) counts into prometheus_client's
**multiprocess mode** when PROMETHEUS_MULTIPROC_DIR is set (the launcher and the test platform set it
per platform run, docker-compose mounts one volume in every container): each process writes its own
memory-mapped file there and the API's /metrics adds them all up, so a scrape of the API shows the
workers' jobs too. Without the variable the figures stay in the process (one process, its own /metrics).

Only counters and histograms live here (they add up across processes and survive a process's death);
the figures of the system's state (queues, incidents, open tasks, breaches) are read from the database
at scrape time (monitoring/metrics.py). Labels are bounded: route templates, never paths; topics and
statuses, never ids.
"""

from __future__ import annotations

import os
import socket

from prometheus_client import Counter, Histogram, values

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # The files are named by a process identifier: the host's name with the pid, so containers sharing
    # one volume (each process is pid 1 there) never write into each other's file.
    _HOST = socket.gethostname().replace("_", "-")
    values.ValueClass = values.MultiProcessValue(lambda: f"{_HOST}-{os.getpid()}")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUEST_SECONDS = Histogram(
    "bokji_http_request_seconds", "API request latency by method, route template and status code",
    ["method", "route", "status"], buckets=LATENCY_BUCKETS)
ENGINE_STEP_SECONDS = Histogram(
    "bokji_engine_step_seconds", "One engine advance of an instance and the writing of what it changed "
    "(bokji/steps/advance.py), by the kind of step that asked for it", ["step"], buckets=LATENCY_BUCKETS)
JOB_EXECUTIONS = Counter(
    "bokji_job_executions", "Automated-task attempts a worker ran, by topic and outcome "
    "(done, retry, incident, postponed, duplicate, suspended, stale)", ["topic", "outcome"])
JOB_SECONDS = Histogram(
    "bokji_job_seconds", "How long a worker's attempt took (handler, completion and advance), by topic",
    ["topic"], buckets=LATENCY_BUCKETS)
JOB_FAILURES = Counter(
    "bokji_job_failures", "Failed automated-task attempts (a handler raised, an external worker reported a "
    "failure, a lease ran out), by topic and what followed: retry or incident", ["topic", "outcome"])
JOB_RETRIES = Counter(
    "bokji_job_retries", "Automated tasks set to run again, by topic and by whom: backoff (after a failed "
    "attempt) or operator (an incident retried)", ["topic", "by"])

