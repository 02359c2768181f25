"""Loading the catalog data file into the database, reading it, and generating a synthetic one.

The data file (services.json) is the source a policy team edits; loading it replaces the catalog in
one transaction. A synthetic full-size catalog (292 services, 17 ministries, like the real SSIS)
exists for load tests only and says so in every row.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bokji.catalog import clocks
from bokji.catalog.fields import FIELDS
from bokji.catalog.models import CatalogService
from bokji.datafile import read_json, replace_all
from bokji.entitlements.models import Unit
from bokji.errors import Invalid, NotFound
from bokji.i18n import gettext as _
from bokji.linkage.registry import DATA_TYPES
from bokji.payments.models import PAYMENT_KINDS
from bokji.rules.benefits import RULES

RULE_KINDS = set(RULES)  # each names a rule in bokji/rules/benefits.py

DATA_FILE = Path(__file__).parent / "services.json"
NBLSS_BENEFITS = {"livelihood", "medical", "housing", "education"}
REQUIRED = ("code", "ministry", "name_ko", "name_en", "purpose_group", "process_key", "legal_basis", "rule")


def _check_rule(rule: Any, where: str) -> None:
    if not isinstance(rule, dict) or rule.get("kind") not in RULE_KINDS:
        raise Invalid(_("%(field)s must be one of %(choices)s.") % {
            "field": f"{where}.rule.kind", "choices": ", ".join(sorted(RULE_KINDS))}, field=f"{where}.rule")
    if rule["kind"] == "nblss" and rule.get("benefit") not in NBLSS_BENEFITS:
        raise Invalid(_("%(field)s must be one of %(choices)s.") % {
            "field": f"{where}.rule.benefit", "choices": ", ".join(sorted(NBLSS_BENEFITS))},
            field=f"{where}.rule.benefit")
    if rule["kind"] == "income_percent" and not (isinstance(rule.get("percent"), int) and 1 <= rule["percent"] <= 200):
        raise Invalid(_("%(field)s must be a whole percent 1-200.") % {"field": f"{where}.rule.percent"},
                      field=f"{where}.rule.percent")


# Evidence no agency supplies: checked from documents or by a caseworker's step.
DOCUMENT_EVIDENCE = {"lease", "school_enrolment", "family_relations"}


def _check_evidence(evidence: Any, where: str) -> None:
    if evidence is None:
        return
    known = set(DATA_TYPES) | DOCUMENT_EVIDENCE
    for i, name in enumerate(evidence if isinstance(evidence, list) else [evidence]):
        if name not in known:
            raise Invalid(_("%(field)s '%(name)s' is neither a linkage data type nor a document (known: "
                            "%(known)s).") % {"field": f"{where}.required_evidence[{i}]", "name": name,
                                              "known": ", ".join(sorted(known))},
                          field=f"{where}.required_evidence[{i}]")


def _check_case(case: Any, where: str) -> None:
    """The service's process settings (optional; a synthetic entry has none)."""
    if case is None:
        return
    if not isinstance(case, dict):
        raise Invalid(_("%(field)s must be an object.") % {"field": f"{where}.case"}, field=f"{where}.case")
    if case.get("payment_kind", "cash") not in PAYMENT_KINDS:
        raise Invalid(_("%(field)s must be one of %(choices)s.") % {
            "field": f"{where}.case.payment_kind", "choices": ", ".join(sorted(PAYMENT_KINDS))},
            field=f"{where}.case.payment_kind")
    interval = case.get("review_interval")
    if interval is not None and not (isinstance(interval, str) and interval.startswith("P") and len(interval) > 2):
        raise Invalid(_("%(field)s must be an ISO-8601 duration like P6M, or null.") % {
            "field": f"{where}.case.review_interval"}, field=f"{where}.case.review_interval")
    limit = case.get("approval_limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise Invalid(_("%(field)s must be a whole number of won or null.") % {
            "field": f"{where}.case.approval_limit"}, field=f"{where}.case.approval_limit")
    for i, name in enumerate(case.get("application_fields") or []):
        if name not in FIELDS:
            raise Invalid(_("%(field)s '%(name)s' is not a known application question (known: %(known)s).") % {
                "field": f"{where}.case.application_fields[{i}]", "name": name, "known": ", ".join(sorted(FIELDS))},
                field=f"{where}.case.application_fields[{i}]")


def parse(document: Any) -> list[CatalogService]:
    """Validate a catalog document; every error names the entry and the field."""
    if not isinstance(document, dict) or not isinstance(document.get("services"), list):
        raise Invalid(_("A catalog is an object with 'ministries' and a 'services' list."), field="services")
    ministries = document.get("ministries") or {}
    version = str(document.get("catalog_version") or "unversioned")
    synthetic = bool(document.get("synthetic"))
    rows, seen = [], set()
    for i, entry in enumerate(document["services"]):
        where = f"services[{i}]"
        if not isinstance(entry, dict):
            raise Invalid(_("%(field)s must be an object.") % {"field": where}, field=where)
        for name in REQUIRED:
            if entry.get(name) in (None, ""):
                raise Invalid(_("%(field)s is required.") % {"field": f"{where}.{name}"}, field=f"{where}.{name}")
        if entry["code"] in seen:
            raise Invalid(_("%(field)s '%(code)s' appears twice.") % {"field": f"{where}.code", "code": entry["code"]},
                          field=f"{where}.code")
        seen.add(entry["code"])
        ministry = ministries.get(entry["ministry"])
        if not ministry:
            raise Invalid(_("%(field)s '%(ministry)s' is not in 'ministries'.") % {
                "field": f"{where}.ministry", "ministry": entry["ministry"]}, field=f"{where}.ministry")
        # The legal clock (bokji/catalog/clocks.py); processing_days is its limit, for lists and the API.
        entry = {**entry, "clock": clocks.parse(entry.get("clock"), where)}
        days = entry["clock"]["limit"]
        unit = entry.get("unit", Unit.HOUSEHOLD.value if synthetic or entry.get("synthetic") else None)
        if not isinstance(unit, str) or unit not in {u.value for u in Unit}:
            # Whom one entitlement belongs to decides which applications are refused as a second one
            # (bokji/entitlements): a real service must say it; a synthetic one is a household's.
            raise Invalid(_("%(field)s must be one of %(choices)s.") % {
                "field": f"{where}.unit", "choices": ", ".join(u.value for u in Unit)}, field=f"{where}.unit")
        _check_rule(entry["rule"], where)
        _check_evidence(entry.get("required_evidence"), where)
        _check_case(entry.get("case"), where)
        extra = {k: v for k, v in entry.items()
                 if k not in {*REQUIRED, "unit", "processing_days", "required_evidence"}}
        rows.append(CatalogService(
            code=entry["code"], ministry=entry["ministry"], ministry_name_ko=ministry["ko"],
            ministry_name_en=ministry["en"], name_ko=entry["name_ko"], name_en=entry["name_en"], unit=unit,
            purpose_group=entry["purpose_group"], process_key=entry["process_key"], processing_days=days,
            required_evidence=list(entry.get("required_evidence") or []), legal_basis=entry["legal_basis"],
            rule=entry["rule"], extra=extra, synthetic=synthetic or bool(entry.get("synthetic")),
            catalog_version=version,
        ))
    return rows


def load(session: Session, path: Path = DATA_FILE) -> int:
    return replace_all(session, CatalogService, parse(read_json(path, "catalog")))


def all_services(session: Session) -> list[CatalogService]:
    return list(session.scalars(select(CatalogService).order_by(CatalogService.code)))


@dataclass(frozen=True)
class Entry:
    """A catalog row as read-only data, safe to share between requests."""

    code: str
    ministry: str
    name_ko: str
    name_en: str
    purpose_group: str
    rule: dict[str, Any]
    synthetic: bool
    rule_key: str = ""  # the rule as canonical JSON: services with the same rule decide alike

    def names(self) -> dict[str, Any]:
        return {"code": self.code, "name_ko": self.name_ko, "name_en": self.name_en, "ministry": self.ministry,
                "purpose_group": self.purpose_group, "synthetic": self.synthetic}


_snapshot: tuple[tuple, tuple[Entry, ...]] | None = None


def snapshot(session: Session) -> tuple[Entry, ...]:
    """The whole catalog, re-read only when it was loaded again (one cheap query to find out)."""
    global _snapshot
    stamp = tuple(session.execute(
        select(func.count(), func.max(CatalogService.loaded_at), func.max(CatalogService.catalog_version))
    ).one())
    if _snapshot is None or _snapshot[0] != stamp:
        rows = all_services(session)
        _snapshot = (stamp, tuple(Entry(r.code, r.ministry, r.name_ko, r.name_en, r.purpose_group, dict(r.rule),
                                        r.synthetic, json.dumps(r.rule, sort_keys=True)) for r in rows))
    return _snapshot[1]


def get(session: Session, code: str) -> CatalogService:
    service = session.get(CatalogService, code)
    if service is None:
        raise NotFound(_("Unknown service '%(code)s'.") % {"code": code}, field="services")
    return service


def version(session: Session) -> str | None:
    return session.scalar(select(CatalogService.catalog_version).limit(1))


def generate_synthetic(services: int = 292, ministries: int = 17, seed: int = 7) -> dict[str, Any]:
    """A full-size catalog for load tests: the real entries plus synthetic ones, marked synthetic."""
    rng = random.Random(seed)
    real = json.loads(DATA_FILE.read_text())
    ministry_map = dict(real["ministries"])
    for m in range(len(ministry_map), ministries):
        ministry_map[f"SYN{m:02d}"] = {"ko": f"합성 부처 {m}", "en": f"Synthetic ministry {m}"}
    codes = list(ministry_map)
    groups = ["income_support", "medical", "housing", "education", "child_rearing", "employment",
              "old_age_income", "disability", "care", "energy"]
    entries = list(real["services"])
    kinds = sorted(RULE_KINDS)
    for i in range(len(entries), services):
        kind = kinds[i % len(kinds)]  # cycle through every rule kind (bench/screening.py measures them all)
        rule = ({"kind": "income_percent", "percent": rng.choice([30, 40, 50, 60, 70, 80, 100, 120, 150])}
                if kind == "income_percent" else
                {"kind": "nblss", "benefit": rng.choice(sorted(NBLSS_BENEFITS))} if kind == "nblss" else
                {"kind": kind})
        entries.append({
            "code": f"SYN-{i:03d}", "ministry": codes[i % len(codes)], "name_ko": f"합성 서비스 {i}",
            "name_en": f"Synthetic service {i}", "purpose_group": rng.choice(groups),
            "process_key": "demo_application", "required_evidence": ["earned_income"],
            "legal_basis": "synthetic", "rule": rule, "synthetic": True,
        })
    return {"catalog_version": f"synthetic-{services}", "synthetic": True,
            "note": "SYNTHETIC catalog for load tests; not real services or figures.",
            "ministries": ministry_map, "services": entries}
