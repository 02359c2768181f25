"""The decision-notice module's automated task (topic `notice.compose`)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from bokji import clock
from bokji.calendar import service as calendar
from bokji.calendar.service import Unit
from bokji.clocks import service as clocks
from bokji.db import utcnow
from bokji.instances.models import ProcessInstance
from bokji.jobs.handlers import HandlerContext
from bokji.notices.models import OUTCOME_KO, DecisionNotice

# The appeal period is not in the project's reference: 90 days is the general administrative-appeal
# period as we understand it, to be confirmed against the statute for each service. Counted on the offices'
# calendar from the day after issue; a last day that is a day off rolls forward to the next business day.
APPEAL_DAYS = 90
# Kept plain (the staff view adds the "unverified" badge itself: a prefix here read "unverified: unverified:").
APPEAL_BASIS = "90 days from receipt of the notice (general administrative appeal period; not in the reference)"
BEING_CONFIRMED = "이 근거의 수치 일부는 아직 공식 고시로 확인하고 있습니다"


def outcome_of(data: dict[str, Any]) -> str:
    if data.get("review_terminated"):
        return "terminated"
    # A rule that needed information it lacked leaves the decision to the caseworker: their decision
    # is the outcome (approved with an amount, or rejected).
    if data.get("obligor_excluded") or data.get("eligibility") == "not_eligible":
        return "not_eligible"
    if data.get("decision") != "approve":
        return "rejected"
    return "granted"


def reasons_of(data: dict[str, Any], outcome: str) -> list[dict[str, str]]:
    reasons: list[dict[str, str]] = []
    # A caseworker's refusal of an eligible applicant: the eligibility finding argues for the applicant,
    # not for the refusal, so the letter gives the caseworker's reasons only (issue 14).
    if data.get("reason") and outcome != "rejected":
        income, threshold = data.get("recognised_income"), data.get("threshold")
        figures = (f" (소득인정액 {income:,}원, 선정기준 {threshold:,}원, {data.get('benefit_year')}년 기준)"
                   if isinstance(income, int) and isinstance(threshold, int) else "")
        reasons.append({"text": f"{data['reason']}{figures}",
                        "source": str(data.get("threshold_basis") or "")})
    if data.get("obligor_excluded"):
        reasons.append({"text": str(data.get("obligor_reason")), "source": str(data.get("obligor_source"))})
    if data.get("amount_basis") and outcome == "granted":
        reasons.append({"text": f"급여액 산정: {data['amount_basis']}", "source": str(data.get("amount_source") or "")})
    for key in ("decision_comment", "supervisor_comment", "review_comment"):
        if data.get(key):
            reasons.append({"text": str(data[key]), "source": "caseworker" if key != "supervisor_comment"
                            else "supervisor"})
    return reasons


def compose(ctx: HandlerContext) -> dict[str, Any]:
    data = ctx.input
    outcome = outcome_of(data)
    issued = clock.today()
    office = ctx.session.scalar(select(ProcessInstance.office).where(ProcessInstance.id == uuid.UUID(ctx.instance_id)))
    deadline = calendar.load(ctx.session).deadline(issued, APPEAL_DAYS, Unit.DAYS, office)
    amount = data.get("monthly_amount") if data.get("monthly_amount") is not None else data.get("annual_amount")
    period = "month" if data.get("monthly_amount") is not None else "year" if amount is not None else None
    if outcome != "granted":
        amount, period = None, None
    reasons = reasons_of(data, outcome)
    lines = [f"{data.get('service_name') or data.get('service_code')} {OUTCOME_KO[outcome]} 통지",
             f"신청번호: {data.get('application_number') or ctx.business_key}"]
    if amount is not None:
        lines.append(f"급여액: {amount:,}원 ({'월' if period == 'month' else '연'})")
    for r in reasons:  # the citizen reads a basis still being confirmed as a plain sentence, not a badge
        lines.append(f"사유: {r['text']}" + (f" ({BEING_CONFIRMED})" if "unverified" in r["source"] else ""))
    lines.append(f"이의신청: {deadline.isoformat()}까지 ({APPEAL_DAYS}일; 이 기한의 법적 근거는 확인하고 있습니다)")
    ctx.session.execute(insert(DecisionNotice).values(
        id=uuid.uuid4(), request_id=ctx.job_id, instance_id=uuid.UUID(ctx.instance_id),
        service_code=str(data.get("service_code")), recipient_id=uuid.UUID(str(data.get("applicant_id"))),
        outcome=outcome, amount=amount, period=period, reasons=reasons, issued_on=issued,
        appeal_deadline=deadline, appeal_basis=APPEAL_BASIS, text_ko="\n".join(lines), created_at=utcnow(),
    ).on_conflict_do_nothing(index_elements=["request_id"]))
    clocks.stop(ctx.session, uuid.UUID(ctx.instance_id), on=issued, decided=True, actor=f"worker:{ctx.topic}")
    notice = ctx.session.scalars(select(DecisionNotice).where(DecisionNotice.request_id == ctx.job_id)).one()
    return {"notice_id": str(notice.id), "notice_outcome": outcome}
