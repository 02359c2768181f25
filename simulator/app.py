"""FastAPI app of the agency simulator. Run with `bokji simulator --port 8100`."""

from __future__ import annotations

import asyncio
import hashlib
import random
from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

AGENCIES = {
    "nts": "국세청 National Tax Service",
    "ei": "고용보험 Employment Insurance",
    "nhis": "국민건강보험공단 National Health Insurance Service",
    "nps": "국민연금공단 National Pension Service",
    "property": "부동산 등기/재산세 property register",
    "vehicle": "자동차 등록원부 vehicle register",
    "finance": "금융기관 financial institutions",
    "resident": "주민등록 resident registration",
}
DATA_TYPES = {
    ("nts", "earned_income"), ("nts", "business_income"), ("ei", "insured_wage"), ("nhis", "premium"),
    ("nps", "pension"), ("property", "holdings"), ("vehicle", "vehicles"), ("finance", "deposits"),
    ("resident", "household"),
}


class Switches(BaseModel):
    latency_ms: int = Field(0, ge=0, le=60_000)
    error_rate: float = Field(0.0, ge=0.0, le=1.0)
    outage: bool = False


class Query(BaseModel):
    registration_number: str = Field(min_length=13, max_length=14)
    period: str = Field(description="YYYY-MM (monthly data) or YYYY (annual data)")
    request_id: str = Field(min_length=1, max_length=100)
    consent_reference: str | None = None


class Bulk(BaseModel):
    queries: list[Query] = Field(min_length=1, max_length=500)


def _seed(rrn: str, data_type: str) -> random.Random:
    digest = hashlib.sha256(f"{rrn.replace('-', '')}:{data_type}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


ENGINE_CC = (998, 1598, 1999, 2497, 3342)  # typical 경차 / 소형 / 중형 / 대형 displacements
CAR_USES = ("private", "private", "private", "private", "business", "disability")


def _cars(rrn: str, values: list[int]) -> list[dict[str, Any]]:
    """Each car's engine size, age and use, from a random stream of its own: every other answer (and
    which persons have cars at all) stays what it was before cars had these details."""
    rng = _seed(rrn, "vehicles:details")
    return [{"value": value, "engine_cc": rng.choice(ENGINE_CC), "age_years": rng.randint(0, 20),
             "use": rng.choice(CAR_USES)} for value in values]


def answer(agency: str, data_type: str, query: Query) -> dict[str, Any]:
    """The same registration number always gets the same answer (synthetic, not real data)."""
    rng = _seed(query.registration_number, data_type)
    if agency == "finance" and not query.consent_reference:
        raise HTTPException(403, detail="financial data needs a consent reference (금융정보 제공 동의)")
    values: dict[str, Any] = {
        "earned_income": {"monthly": rng.choice([0, 0, 850_000, 1_200_000, 1_800_000, 2_600_000])},
        "business_income": {"monthly": rng.choice([0, 0, 0, 400_000, 900_000])},
        "insured_wage": {"insured": rng.random() < 0.6, "monthly_wage": rng.choice([0, 1_500_000, 2_200_000])},
        "premium": {"monthly_premium": rng.choice([19_780, 45_000, 88_000, 130_000])},
        "pension": {"monthly": rng.choice([0, 0, 320_000, 560_000])},
        "holdings": {"residential": rng.choice([0, 0, 95_000_000, 180_000_000]),
                     "general": rng.choice([0, 0, 12_000_000])},
        "vehicles": {"cars": _cars(query.registration_number,
                                   rng.choice([[], [], [4_000_000], [2_000_000, 9_000_000]]))},
        "deposits": {"financial": rng.choice([300_000, 2_500_000, 18_000_000])},
        "household": {"members": rng.randint(1, 5), "address": f"synthetic address {rng.randint(1, 999)}"},
    }[data_type]
    return {"agency": agency, "data_type": data_type, "period": query.period, "request_id": query.request_id,
            "synthetic": True, "value": values}


def create_app() -> FastAPI:
    app = FastAPI(title="bokji agency simulator")
    switches: dict[str, Switches] = {a: Switches() for a in AGENCIES}
    calls: dict[str, int] = {a: 0 for a in AGENCIES}

    async def behave(agency: str) -> None:
        if agency not in AGENCIES:
            raise HTTPException(404, detail=f"unknown agency '{agency}'")
        calls[agency] += 1
        s = switches[agency]
        if s.latency_ms:
            await asyncio.sleep(s.latency_ms / 1000)
        if s.outage:
            raise HTTPException(503, detail=f"{agency} is down (simulated outage)")
        if s.error_rate and random.random() < s.error_rate:
            raise HTTPException(500, detail=f"{agency} failed (simulated error)")

    def check(agency: str, data_type: str) -> None:
        if (agency, data_type) not in DATA_TYPES:
            raise HTTPException(404, detail=f"{agency} does not provide '{data_type}'")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "agencies": sorted(AGENCIES)}

    @app.post("/agencies/{agency}/{data_type}")
    async def one(agency: str, data_type: str, query: Query) -> dict[str, Any]:
        await behave(agency)
        check(agency, data_type)
        return answer(agency, data_type, query)

    @app.post("/agencies/{agency}/{data_type}/bulk")
    async def bulk(agency: str, data_type: str, body: Bulk) -> dict[str, Any]:
        await behave(agency)
        check(agency, data_type)
        results = []
        for query in body.queries:
            try:
                results.append(answer(agency, data_type, query))
            except HTTPException as exc:
                results.append({"request_id": query.request_id, "error": exc.detail, "status": exc.status_code})
        return {"results": results}

    @app.put("/admin/agencies/{agency}")
    async def set_switches(agency: str, body: Switches) -> dict[str, Any]:
        if agency not in AGENCIES:
            raise HTTPException(404, detail=f"unknown agency '{agency}'")
        switches[agency] = body
        return {"agency": agency, **body.model_dump()}

    @app.get("/admin/calls")
    async def call_counts() -> dict[str, int]:
        return dict(calls)

    return app


app = create_app()
