"""Fake agency answers for the reference model's automated tasks (deterministic per applicant).

The same function serves the engine-only baselines and, registered as handlers, the platform's
workers (BOKJI_HANDLER_MODULES=bench.handlers), so all variants do the same work.
"""

from __future__ import annotations

from typing import Any

from bokji.jobs.handlers import Handler, HandlerContext


def agency(topic: str, data: dict[str, Any]) -> dict[str, Any]:
    applicant = data.get("applicant", {})
    rid = applicant.get("resident_id", "")
    seed = sum(map(ord, rid)) % 7
    answers = {
        "bench.nts.tax_income": {"resident_id": rid, "tax_year": 2024,
                                 "annual_income": 3_600_000 + seed * 120_000},
        "bench.keis.employment_insurance": {"resident_id": rid, "insured": True,
                                            "monthly_wage": 150_000 + seed * 10_000},
        "bench.molit.property_register": {"resident_id": rid, "parcels": 1,
                                          "assessed_value": 40_000_000 + seed * 1_000_000},
        "bench.molit.vehicle_register": {"resident_id": rid, "vehicles": 1, "value": 2_500_000},
        "bench.payment.transfer": {"status": "queued", "amount": data.get("monthly_amount"),
                                   "account": applicant.get("bank_account")},
        "bench.notify.send_notice": {"status": "sent"},
        "bench.tasks.escalate": {"status": "sent"},
    }
    return answers[topic]


def _as_handler(ctx: HandlerContext) -> dict[str, Any]:
    return agency(ctx.topic, ctx.input)


# Listed through BOKJI_HANDLER_MODULES=bench.handlers (bokji/registrations.py reads HANDLERS).
HANDLERS = [Handler(topic, _as_handler) for topic in (
    "bench.nts.tax_income", "bench.keis.employment_insurance", "bench.molit.property_register",
    "bench.molit.vehicle_register", "bench.payment.transfer", "bench.notify.send_notice", "bench.tasks.escalate")]


def application(i: int) -> dict[str, Any]:
    household = (i % 4) + 1
    return {
        "applicant": {"resident_id": f"900101-{1000000 + i}", "name": f"applicant-{i}",
                      "household": [f"member-{k}" for k in range(household)], "bank_account": f"110-{i:06d}"},
        "sla_duration": "P14D",
    }


APPROVE = {"decision": "approve", "comment": "documents verified"}
