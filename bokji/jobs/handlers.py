"""What an automated-task handler is: the contract, its context, and how it is listed.

Handlers are listed in one place, bokji/registrations.py (plugins: BOKJI_HANDLER_MODULES), each as a
`Handler(topic, run, outside_io)`; nothing registers itself by being imported.

Handler contract (read before writing one):
- `handler(ctx) -> dict | None`: the returned dict is merged into the process data.
- It runs inside the job's database transaction. Rows it writes through `ctx.session` commit
  together with the task's completion, or not at all; so a database side effect happens exactly once
  even when RQ delivers the job twice or a worker dies mid-job.
- Side effects outside the database (an HTTP call to an agency) must be idempotent, keyed by
  `ctx.job_id`: a retried job carries the same id.
- It must not commit, and must not hold the instance: the platform locks the instance after the
  handler returns, so a slow handler never blocks caseworkers on the same case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class HandlerContext:
    session: Session
    job_id: str
    instance_id: str
    business_key: str | None
    element_id: str
    topic: str
    input: dict[str, Any]
    attempt: int


@dataclass(frozen=True)
class Handler:
    """The code behind a `camunda:topic`. `outside_io`: it calls another system (an agency, a bank),
    so it must be idempotent by `ctx.job_id`; one that does not is pure database work (the roadmap's
    engine-throughput work runs those inline in the step's transaction)."""

    topic: str
    run: Callable[[HandlerContext], dict[str, Any] | None]
    outside_io: bool = False


class RetryLater(Exception):  # noqa: N818 - it is an instruction, not an error
    """Raised by a handler that cannot work now for a known, temporary reason (an agency's circuit is
    open): the job waits `delay` seconds and the attempt is not counted against its retries."""

    def __init__(self, reason: str, delay: float) -> None:
        super().__init__(reason)
        self.delay = delay
