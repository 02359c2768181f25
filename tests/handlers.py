"""Handlers used by tests, listed in HANDLERS and read through BOKJI_HANDLER_MODULES=tests.handlers.

`test.record_payment` writes a side-effect row keyed by the job id in the job's own transaction,
so a test can prove each side effect exists exactly once. The table is made by tests/conftest.py.
"""

from __future__ import annotations

from sqlalchemy import text

from bokji import clock
from bokji.jobs.handlers import Handler, HandlerContext


def record_payment(ctx: HandlerContext) -> dict:
    ctx.session.execute(
        text("INSERT INTO test_side_effect (job_id, instance_id, amount) VALUES (:j, :i, :a)"),
        {"j": ctx.job_id, "i": ctx.instance_id, "a": int(ctx.input.get("monthly_amount") or 0)},
    )
    return {"payment_reference": f"PAY-{ctx.job_id[:8]}"}


def _effect(ctx: HandlerContext, amount: int = 0) -> None:
    ctx.session.execute(
        text("INSERT INTO test_side_effect (job_id, instance_id, amount) VALUES (:j, :i, :a)"),
        {"j": ctx.job_id, "i": ctx.instance_id, "a": amount},
    )


def flaky(ctx: HandlerContext) -> dict:
    """Fails on its first `fail_times` attempts (an agency that is briefly down), then succeeds."""
    if ctx.attempt <= int(ctx.input.get("fail_times", 0)):
        raise ConnectionError(f"agency unavailable (attempt {ctx.attempt})")
    _effect(ctx, ctx.attempt)
    return {"succeeded_on_attempt": ctx.attempt}


def slow(ctx: HandlerContext) -> dict:
    """Writes its side effect first, then takes `sleep` seconds: a kill lands mid-job."""
    import time

    _effect(ctx)
    time.sleep(float(ctx.input.get("sleep", 0.5)))
    return {"slow_done": True}


def now(ctx: HandlerContext) -> dict:
    """The platform's instant as this worker process reads it."""
    return {"worker_now": clock.now().isoformat()}


HANDLERS = [Handler("test.record_payment", record_payment), Handler("test.flaky", flaky), Handler("test.slow", slow),
            Handler("test.now", now)]
