"""The registry of automated-task handlers, keyed by the BPMN `camunda:topic`.

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


Handler = Callable[[HandlerContext], dict[str, Any] | None]


class RetryLater(Exception):  # noqa: N818 - it is an instruction, not an error
    """Raised by a handler that cannot work now for a known, temporary reason (an agency's circuit is
    open): the job waits `delay` seconds and the attempt is not counted against its retries."""

    def __init__(self, reason: str, delay: float) -> None:
        super().__init__(reason)
        self.delay = delay
_HANDLERS: dict[str, Handler] = {}


def handler(topic: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        if topic in _HANDLERS and _HANDLERS[topic] is not fn:
            raise ValueError(f"topic '{topic}' already has a handler")
        _HANDLERS[topic] = fn
        return fn

    return register


def get_handler(topic: str) -> Handler | None:
    _load_builtin_handlers()
    return _HANDLERS.get(topic)


def registered_topics() -> list[str]:
    _load_builtin_handlers()
    return sorted(_HANDLERS)


_loaded = False


def _load_builtin_handlers() -> None:
    # Importing a module registers its handlers; kept lazy to avoid import cycles.
    global _loaded
    if _loaded:
        return
    import importlib

    from bokji.config import get_settings

    importlib.import_module("bokji.jobs.builtin")
    for module in filter(None, (m.strip() for m in get_settings().handler_modules.split(","))):
        importlib.import_module(module)
    _loaded = True
