"""The decision letter's reasons argue the actual outcome (issue 14: a refusal's first reason argued
for eligibility)."""

from __future__ import annotations

from bokji.notices.handlers import APPEAL_BASIS, outcome_of, reasons_of

ELIGIBLE_BUT_REFUSED = {"eligibility": "eligible", "decision": "reject",
                        "reason": "recognised income at or below the threshold", "recognised_income": 0,
                        "threshold": 1_196_007, "benefit_year": 2025,
                        "amount_basis": "per year", "decision_comment": "실거주 확인 불가"}


def test_a_refusal_gives_the_refusal_reasons_not_the_eligibility_finding() -> None:
    outcome = outcome_of(ELIGIBLE_BUT_REFUSED)
    assert outcome == "rejected"
    texts = [r["text"] for r in reasons_of(ELIGIBLE_BUT_REFUSED, outcome)]
    assert texts == ["실거주 확인 불가"]


def test_a_grant_keeps_the_eligibility_finding_and_the_amount_basis() -> None:
    data = {**ELIGIBLE_BUT_REFUSED, "decision": "approve", "decision_comment": None}
    texts = [r["text"] for r in reasons_of(data, outcome_of(data))]
    assert texts[0].startswith("recognised income at or below the threshold")
    assert texts[1] == "급여액 산정: per year"


def test_a_not_eligible_notice_keeps_the_finding() -> None:
    data = {**ELIGIBLE_BUT_REFUSED, "eligibility": "not_eligible", "reason": "over the threshold",
            "decision_comment": None}
    assert [r["text"] for r in reasons_of(data, outcome_of(data))][0].startswith("over the threshold")


def test_the_appeal_basis_carries_no_badge_prefix() -> None:
    # the staff view adds the badge; a prefix stored here read "unverified: unverified:"
    assert not APPEAL_BASIS.startswith("unverified")
