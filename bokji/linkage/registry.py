"""Every data type the investigation can ask for, declared once."""

from __future__ import annotations

from dataclasses import dataclass

from bokji.errors import Invalid
from bokji.i18n import gettext as _


@dataclass(frozen=True)
class DataType:
    code: str
    agency: str
    path: str  # the agency's data type in its API
    fields: tuple[str, ...]
    reference_period: str  # "month" (the month before the application) | "year" (the previous year)
    freshness_days: int  # evidence younger than this is reused instead of asking again
    legal_basis: str  # "unverified" until the act and article are confirmed
    consent_needed: bool = False


DATA_TYPES: dict[str, DataType] = {t.code: t for t in (
    DataType("earned_income", "nts", "earned_income", ("monthly",), "month", 30, "unverified"),
    DataType("business_income", "nts", "business_income", ("monthly",), "month", 30, "unverified"),
    DataType("insured_wage", "ei", "insured_wage", ("insured", "monthly_wage"), "month", 30, "unverified"),
    DataType("health_premium", "nhis", "premium", ("monthly_premium",), "month", 30, "unverified"),
    DataType("pension", "nps", "pension", ("monthly",), "month", 30, "unverified"),
    DataType("property", "property", "holdings", ("residential", "general"), "year", 90, "unverified"),
    DataType("vehicles", "vehicle", "vehicles", ("cars",), "year", 90, "unverified"),
    DataType("deposits", "finance", "deposits", ("financial",), "month", 30, "unverified", consent_needed=True),
    DataType("household", "resident", "household", ("members", "address"), "month", 30, "unverified"),
)}


def get(code: str) -> DataType:
    found = DATA_TYPES.get(code)
    if found is None:
        raise Invalid(_("Unknown data type '%(code)s' (known: %(known)s).") % {
            "code": code, "known": ", ".join(sorted(DATA_TYPES))}, field="data_type")
    return found
