"""The payment set-up module's automated tasks (topics `payment.*`).

Set-up only records the entitlement; paying it is the monthly payment run's job (roadmap). One
schedule per case: a job delivered twice, or a case that loops through review, never makes two.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from bokji import clock
from bokji.db import utcnow
from bokji.entitlements import service as entitlements
from bokji.errors import Invalid
from bokji.i18n import gettext as _
from bokji.jobs.handlers import HandlerContext
from bokji.payments.models import PAYMENT_KINDS, PaymentSchedule


def _amount(data: dict[str, Any]) -> tuple[int | None, str | None]:
    if data.get("monthly_amount") is not None:
        return int(data["monthly_amount"]), "month"
    if data.get("annual_amount") is not None:
        return int(data["annual_amount"]), "year"
    return None, None


def _schedule(ctx: HandlerContext) -> PaymentSchedule:
    found = ctx.session.scalars(select(PaymentSchedule).where(
        PaymentSchedule.instance_id == uuid.UUID(ctx.instance_id))).first()
    if found is None:
        raise Invalid(_("This case has no payment schedule to change."), field="payment_schedule")
    return found


def setup(ctx: HandlerContext) -> dict[str, Any]:
    data = ctx.input
    kind = data.get("payment_kind") or "cash"
    if kind not in PAYMENT_KINDS:
        raise Invalid(_("%(field)s must be one of %(choices)s.") % {
            "field": "payment_kind", "choices": ", ".join(PAYMENT_KINDS)}, field="payment_kind")
    amount, period = _amount(data) if kind == "cash" else (None, None)
    if kind == "cash" and amount is None:
        raise Invalid(_("A cash benefit needs monthly_amount or annual_amount."), field="monthly_amount")
    basis = str(data.get("amount_basis") or data.get("reason") or "")
    if kind == "cash" and amount == 0:
        # Eligible at exactly the threshold pays nothing; what to do with zero or very small amounts is
        # an open question in the reference (§3.5), so the entitlement is recorded and flagged.
        basis = f"zero amount (policy for zero or small amounts unverified); {basis}"
    start = date.fromisoformat(str(data["application_date"]))
    duration = data.get("benefit_duration_months")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, int) or duration < 1):
        raise Invalid(_("benefit_duration_months must be a whole number of months, 1 or more."),
                      field="benefit_duration_months")
    # The case's units become active from the month of application, or from the month after an earlier
    # entitlement of the same unit ended if that one still covers it (a re-application after a
    # termination); the schedule starts with them. A case started without an application (a test's or a
    # designer's direct start) holds no units: nothing to activate, the schedule starts as before.
    first = entitlements.activate(ctx.session, uuid.UUID(ctx.instance_id), first_month=start, months=duration)
    start = first or start
    ctx.session.execute(insert(PaymentSchedule).values(
        id=uuid.uuid4(), instance_id=uuid.UUID(ctx.instance_id), service_code=str(data.get("service_code")),
        recipient_id=uuid.UUID(str(data.get("applicant_id"))), kind=kind, amount=amount, period=period,
        # From the month of application (unverified: the statutes say when a benefit starts).
        first_month=f"{start:%Y-%m}", pay_day=data.get("pay_day"),
        amount_basis=basis[:300] or None,
        status="active", created_at=utcnow(), updated_at=utcnow(),
    ).on_conflict_do_nothing(index_elements=["instance_id"]))
    return {"payment_schedule_id": str(_schedule(ctx).id)}


def adjust(ctx: HandlerContext) -> dict[str, Any]:
    """After a periodic review that found the case still eligible: the new amount from the new figures."""
    schedule = _schedule(ctx)
    if schedule.kind == "cash":
        amount, period = _amount(ctx.input)
        if amount:
            schedule.amount, schedule.period = amount, period
    schedule.updated_at = utcnow()
    return {"payment_schedule_id": str(schedule.id)}


def stop(ctx: HandlerContext) -> dict[str, Any]:
    schedule = _schedule(ctx)
    if schedule.status != "stopped":
        schedule.status = "stopped"
        schedule.stopped_reason = str(ctx.input.get("review_comment") or "no longer eligible at review")[:300]
        schedule.updated_at = utcnow()
        # Paid up to the end of the platform's current month; a new application may start after it.
        entitlements.end(ctx.session, uuid.UUID(ctx.instance_id), on=clock.today(),
                         reason=schedule.stopped_reason)
    return {"payment_schedule_id": str(schedule.id)}
