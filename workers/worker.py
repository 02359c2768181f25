"""Starting an RQ worker for bokji's queue.

We use RQ's SimpleWorker: it runs jobs in its own process instead of forking one per job. Measured
here, forking costs ~4x in throughput (~50 vs ~240 no-op jobs/s), and a forked child would lose
the per-version spec cache on every job. Isolation comes from running several worker processes.
"""

from __future__ import annotations

import faulthandler
import signal

from rq import SimpleWorker

from bokji.queue import job_queue, redis_connection
from processes.evaluator import warm_sandbox


def work(*, burst: bool = False, name: str | None = None) -> bool:
    # `kill -USR1 <pid>` prints every thread's stack: how an operator sees where a worker hangs.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    warm_sandbox(1)  # one job at a time: one child, started before the first job needs it
    worker = SimpleWorker([job_queue()], connection=redis_connection(), name=name)
    return worker.work(burst=burst, logging_level="WARNING")
