"""Intake at the counter (접수), as pages over the registry's services: find a person first, or register
a new household; record its consents; screen it; choose services and submit one application; the receipt.

The find form is a form-js definition rendered and validated like any task form (forms/schema.py:
errors beside their fields, the GOV.UK error summary); the look-ups are the API's own services, so a
page reads exactly what `GET /registry/persons` and `POST /registry/persons/find` would, in scope and
logged with the declared purpose.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from api.pages import Worker, _page, frame
from api.security import csrf_token
from bokji import clock, words
from bokji.applications import service as applications
from bokji.catalog import service as catalog
from bokji.consents import service as consents
from bokji.db import unit_of_work
from bokji.errors import BokjiError, Conflict, Invalid, NotFound
from bokji.i18n import N_
from bokji.i18n import gettext as _
from bokji.identity.service import Principal
from bokji.ids import get_or_404
from bokji.linkage import registry as data_types
from bokji.privacy import access_log
from bokji.privacy.purposes import PURPOSES
from bokji.registry import service as registry
from bokji.registry.models import Household, Person
from bokji.scope import policy
from bokji.screening.service import screen
from bokji.steps import service as steps
from forms.schema import CSRF_FIELD, FormDefinition, render_form

router = APIRouter(include_in_schema=False)

# The purposes a counter look-up declares, named for people (the codes are what the access log keeps).
PURPOSE_LABELS = {"consultation": N_("Counter consultation"), "intake": N_("Application intake"),
                  "investigation": N_("Investigation of income and property"), "decision": N_("Eligibility decision"),
                  "payment": N_("Payment"), "review": N_("Periodic review of a recipient"),
                  "notice_printing": N_("Printing a decision notice"),
                  "registration": N_("Keeping persons and households up to date"), "appeal": N_("Handling an appeal"),
                  "audit": N_("Audit"), "work_queue": N_("Listing a work queue"),
                  "monitoring": N_("The managers' dashboard")}
assert set(PURPOSE_LABELS) == set(PURPOSES), "every purpose code needs its label here"


def _find_form() -> FormDefinition:
    return FormDefinition.from_dict({"id": "intake_find", "components": [
        # Radios, not a select: every purpose is read before choosing (GOV.UK: radios for a short list),
        # and closed select options are never drawn, so their Korean glyphs would not be loaded.
        {"type": "radio", "key": "purpose", "label": N_("Purpose of the look-up"), "validate": {"required": True},
         "values": [{"value": code, "label": _(label)} for code, label in PURPOSE_LABELS.items()]},
        {"type": "textfield", "key": "registration_number", "label": N_("Registration number"),
         "description": N_("The full number, with or without the hyphen; or leave it empty and give the name "
                           "and birth date.")},
        {"type": "textfield", "key": "name", "label": N_("Name")},
        {"type": "datetime", "subtype": "date", "key": "birth_date", "label": N_("Birth date")},
    ]})


def _render_find(request: Request, who: Principal, *, values=None, errors=None, status: int = 200) -> HTMLResponse:
    html = render_form(_find_form(), action="/intake/find", values=values or {}, errors=errors,
                       title=_("Find a person"), frame=frame(request, who), submit_label=_("Look up"),
                       csrf_token=csrf_token(who.token_id) if who.token_id else None)
    return HTMLResponse(html, status_code=status)


@router.get("/intake")
def intake(request: Request, who: Worker) -> HTMLResponse:
    return _render_find(request, who)


@router.post("/intake/find")
async def intake_find(request: Request, who: Worker) -> HTMLResponse:
    submitted = await request.form()
    data = {k: v for k, v in submitted.items() if k != CSRF_FIELD}  # checked by `requires` already
    return await run_in_threadpool(_find, request, data, who)


def _find(request: Request, data: dict, who: Principal) -> HTMLResponse:
    errors: dict[str, str] = {}
    try:
        cleaned = _find_form().validate(data)
    except Invalid as exc:
        errors = {e["field"]: e["reason"] for e in exc.detail.get("errors", [])}
        cleaned = {}
    number = str(data.get("registration_number") or "").strip()
    name, born = str(data.get("name") or "").strip(), data.get("birth_date")
    if not number and not (name and born):
        # Either key finds a person: the number alone, or the name with the birth date. Said once, beside
        # the field that is missing (nothing given: beside the number, the group's first field), and
        # shown with the form's own errors, so one submission lists everything to fix.
        if name and "birth_date" not in errors:
            errors["birth_date"] = _("With the name, give the birth date too (or give the registration number)")
        elif born and "name" not in errors:
            errors["name"] = _("With the birth date, give the name too (or give the registration number)")
        elif not name and not born:
            errors.setdefault("registration_number", _("Give the registration number, or the name and the birth date"))
    if errors:
        return _render_find(request, who, values=data, errors=errors, status=422)
    # The form keeps a date as its ISO text (task data is JSON); the registry compares dates.
    name, born = cleaned.get("name"), date.fromisoformat(cleaned["birth_date"]) if cleaned.get("birth_date") else None
    try:
        with unit_of_work() as session:
            if number:
                try:
                    person = registry.find_person(session, registration_number=number, actor=who.username,
                                                  purpose=cleaned["purpose"])
                    policy.grant_counter(session, who, person, purpose=cleaned["purpose"])
                    found = [person]
                except NotFound:
                    found = []
            else:
                found = registry.search_persons(session, who, name=name, birth_date=born,
                                                purpose=cleaned["purpose"])
            # A person of another office (found by the full number) is served there: no link to a page that
            # would answer 404 here.
            people = [{"id": str(p.id), "name": p.name, "number": p.rrn_masked, "birth_date": p.birth_date,
                       "household_id": registry.household_of(session, str(p.id), clock.today()),
                       "ours": policy.grade(session, who, policy.Kind.PERSON, office=p.office) >= policy.Grade.CHANGE}
                      for p in found]
    except Invalid as exc:  # a number in a wrong format, named by the registry
        field = exc.detail.get("field") or "registration_number"
        return _render_find(request, who, values=data, errors={field: exc.message}, status=422)
    return _page(request, "intake_found.html", who=who, people=people, by_number=bool(number))


# ---- the counter journey: register a household, consents, screening, one application, its receipt ----------
# Each page calls the services the JSON API calls (bokji/registry, bokji/consents, bokji/screening,
# bokji/steps.apply), under the same scope policy; a refusal re-shows the page with the typed values and the
# message beside its field. Every read of a person on these pages is logged with the intake purpose.

PURPOSE = "intake"
MEMBER_ROWS = 4  # member rows on the registration form besides the head (empty rows are ignored)
REGION_LABELS = {"seoul": N_("Seoul"), "gyeonggi": N_("Gyeonggi · Incheon"),
                 "metropolitan": N_("Metropolitan city · Sejong · special city"), "other": N_("Elsewhere")}
LOCALITY_LABELS = {"large_city": N_("Large city"), "small_city": N_("Small or medium city"), "rural": N_("Rural area")}
RELATION_LABELS = {"spouse": N_("Spouse"), "child": N_("Child"), "grandchild": N_("Grandchild"),
                   "parent": N_("Parent"), "sibling": N_("Sibling"), "other": N_("Other relation"), "head": N_("Head")}
SCOPE_LABELS = {"person": N_("This person's own data"), "household": N_("Every household member's data")}
TENURE_LABELS = {"rent": N_("Renting"), "own": N_("Owner-occupier"), "free": N_("Living free of charge")}
SCHOOL_LABELS = {"elementary": N_("Elementary school"), "middle": N_("Middle school"), "high": N_("High school")}
PAYMENT_LABELS = {"cash": N_("cash"), "in_kind": N_("in kind"), "qualification": N_("a qualification")}
# Catalog questions (bokji/catalog/fields.py) the choose-services form asks; the others are optional and
# left to the case (obligors are investigated, the children a child benefit covers default to those under 18).
ASKED = ("monthly_rent", "rental_deposit", "school_levels")


class _Refused(Exception):
    """Raised inside the unit of work so nothing is kept; carries the messages by form field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("refused")
        self.errors = errors


def _beside(exc: BokjiError) -> str:
    """A service's message shown beside its field: without the field's own path in front."""
    field = str(exc.detail.get("field") or "")
    prefix = f"{field}: "
    return exc.message[len(prefix):] if field and exc.message.startswith(prefix) else exc.message


def _form_data(submitted) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in submitted.multi_items():
        if key == CSRF_FIELD:
            continue
        if key in data:
            data[key] = [*data[key], value] if isinstance(data[key], list) else [data[key], value]
        else:
            data[key] = value
    return data


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if isinstance(value, list):
        value = value[-1] if value else ""
    return str(value or "").strip()


def _list(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _date_field(data: dict[str, Any], key: str, errors: dict[str, str], default: date | None = None) -> date | None:
    raw = _text(data, key)
    if not raw:
        if default is None:
            errors[key] = _("Enter a date (YYYY-MM-DD).")
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[key] = _("Enter a real date as YYYY-MM-DD.")
        return None


def _won_field(data: dict[str, Any], key: str, errors: dict[str, str]) -> int:
    """An amount typed at the counter: whole won, separators and the unit accepted ("1,500,000원")."""
    raw = _text(data, key).replace(",", "").replace(" ", "").removesuffix("원")
    if not raw:
        return 0
    if not raw.isdigit():
        errors[key] = _("Enter a whole number of won, e.g. 1,500,000.")
        return 0
    if int(raw) > 10**13:
        errors[key] = _("This amount is too large.")
        return 0
    return int(raw)


def _summary(errors: dict[str, str], labels: dict[str, str]) -> list[tuple[str, str, str]]:
    """The error summary's lines: each field's label and message, in the form's order (`labels`' order)."""
    order = list(labels)
    keys = sorted(errors, key=lambda k: order.index(k) if k in order else len(order))
    return [(key, labels.get(key, _("This form")), errors[key]) for key in keys]


def _labels(table: dict[str, str]) -> dict[str, str]:
    return {code: _(label) for code, label in table.items()}


def _household_or_404(session, who: Principal, household_id: str, need: policy.Grade) -> Household:
    household = get_or_404(session, Household, household_id, what="household", field="household_id")
    policy.household(session, who, household, need)
    return household


def _household_view(session, who: Principal, household_id: str, on: date) -> dict[str, Any]:
    """The household on a date, each member's read logged (names, masked numbers and birth dates are shown)."""
    view = registry.household_on(session, household_id, on, actor=who.username, purpose=PURPOSE)
    people = {str(p.id): p for p in session.scalars(
        select(Person).where(Person.id.in_([uuid.UUID(m["person_id"]) for m in view.members])))}
    members = []
    for m in sorted(view.members, key=lambda m: (m["role"] != "head", m["since"], m["name"])):
        person = people[m["person_id"]]
        access_log.record(session, who.username, purpose=PURPOSE, action="read_person", person_id=person.id)
        members.append({**m, "birth_date": person.birth_date, "age": registry.age_on(person.birth_date, on),
                        "consents": [{"data_type": c.data_type, "reference": c.reference, "given_on": c.given_on,
                                      "scope": c.scope} for c in consents.of_person(session, person.id)]})
    return {"id": household_id, "members": members, "residence": view.residence}


# -- 1. register a household (its persons with it) ----------------------------------------------------------

def _render_new(request: Request, who: Principal, *, values: dict[str, Any] | None = None,
                errors: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:
    values, errors = values or {}, errors or {}
    labels = {"form": _("This form"), "head_name": _("Head of the household") + " · " + _("Name"),
              "head_rrn": _("Head of the household") + " · " + _("Registration number")}
    name, number, relation = _("Name"), _("Registration number"), _("Relation to the head")
    for i in range(1, MEMBER_ROWS + 1):
        member = _("Member %(n)s") % {"n": i}
        labels |= {f"m{i}_name": f"{member} · {name}", f"m{i}_rrn": f"{member} · {number}",
                   f"m{i}_relation": f"{member} · {relation}"}
    labels |= {"address": _("Address"), "region_class": _("Region class"), "locality": _("Kind of place"),
               "valid_from": _("Living there since")}
    head = None
    if _text(values, "head_id"):
        with unit_of_work() as session:
            person = _registered_head(session, who, _text(values, "head_id"))
            head = {"id": str(person.id), "name": person.name, "masked": person.rrn_masked}
    return _page(request, "intake_household_new.html", status, who=who, values=values, errors=errors,
                 summary=_summary(errors, labels), head=head,
                 rows=[f"m{i}" for i in range(1, MEMBER_ROWS + 1)], regions=_labels(REGION_LABELS),
                 localities=_labels(LOCALITY_LABELS),
                 relations={k: v for k, v in _labels(RELATION_LABELS).items() if k != "head"},
                 today=clock.today().isoformat())


def _registered_head(session, who: Principal, person_id: str) -> Person:
    """A person already registered (found at the counter, in no household) who heads the new household:
    in scope to change (404 otherwise), the read logged."""
    person = get_or_404(session, Person, person_id, what="person", field="head_id")
    policy.person(session, who, person, policy.Grade.CHANGE, field="head_id")
    access_log.record(session, who.username, purpose=PURPOSE, action="read_person", person_id=person.id)
    return person


@router.get("/intake/households/new")
def new_household(request: Request, who: Worker, head: str | None = None) -> HTMLResponse:
    """The registration form; `head`: a registered person in no household, who heads it."""
    return _render_new(request, who, values={"head_id": head} if head else None)


@router.post("/intake/households")
async def register_household(request: Request, who: Worker):
    data = _form_data(await request.form())
    return await run_in_threadpool(_register_household, request, data, who)


def _register_household(request: Request, data: dict[str, Any], who: Principal):
    errors: dict[str, str] = {}
    rows = [("head", "head")] + [(f"m{i}", "member") for i in range(1, MEMBER_ROWS + 1)]
    given = [(prefix, role) for prefix, role in rows
             if prefix == "head" or _text(data, f"{prefix}_name") or _text(data, f"{prefix}_rrn")]
    address, region, locality = _text(data, "address"), _text(data, "region_class"), _text(data, "locality") or None
    valid_from = _date_field(data, "valid_from", errors, default=clock.today())
    if valid_from is not None and valid_from > clock.today():
        errors["valid_from"] = _("The household is registered from today or an earlier day.")
    if not address:
        errors["address"] = _("Enter the address of the residence.")
    if region not in REGION_LABELS:
        errors["region_class"] = _("Choose the region class of the residence.")
    if locality is not None and locality not in LOCALITY_LABELS:
        errors["locality"] = _("Choose one of the listed kinds of place, or leave it empty.")
    head_id = _text(data, "head_id")
    if head_id:  # the head is already registered: no name or number asked for them
        given = [(prefix, role) for prefix, role in given if prefix != "head"]
    for prefix, role in given:
        if not _text(data, f"{prefix}_name"):
            errors[f"{prefix}_name"] = _("Enter the name.")
        if not _text(data, f"{prefix}_rrn"):
            errors[f"{prefix}_rrn"] = _("Enter the registration number.")
        if role == "member" and _text(data, f"{prefix}_relation") not in RELATION_LABELS:
            errors[f"{prefix}_relation"] = _("Choose the relation to the head.")
    if not who.office:
        errors["form"] = _("Your account has no office; an administrator sets it.")
    try:
        with unit_of_work() as session:
            members, unchecked = [], 0  # numbers whose check digit does not match (registered, with a warning)
            if head_id:
                head = _registered_head(session, who, head_id)
                if registry.household_of(session, str(head.id), valid_from or clock.today()) is not None:
                    errors["form"] = _("This person already belongs to a household: continue the intake there.")
                members.append({"person_id": str(head.id), "role": "head", "relation": None})
                given = [("head", "head"), *given]
            for prefix, role in given:
                if prefix == "head" and head_id:
                    continue
                if f"{prefix}_name" in errors or f"{prefix}_rrn" in errors:
                    continue
                try:
                    person, warnings = registry.register_person(
                        session, registration_number=_text(data, f"{prefix}_rrn"), name=_text(data, f"{prefix}_name"),
                        actor=who.username, office=who.office or "")
                except Conflict:
                    errors[f"{prefix}_rrn"] = _("A person with this registration number is already registered: look "
                                                "them up with the full number on the search page.")
                    continue
                except Invalid as exc:
                    errors[f"{prefix}_name" if exc.detail.get("field") == "name" else f"{prefix}_rrn"] = exc.message
                    continue
                unchecked += bool(warnings)
                members.append({"person_id": str(person.id), "role": role,
                                "relation": None if role == "head" else _text(data, f"{prefix}_relation")})
            if errors:
                raise _Refused(errors)
            office = policy.check_own_office(session, who, who.office or "")
            try:
                household = registry.create_household(
                    session, members=members, address=address, region_class=region, locality=locality, office=office,
                    valid_from=valid_from, actor=who.username)
            except BokjiError as exc:
                field = str(exc.detail.get("field") or "form")
                if field.startswith("members["):  # members[i].relation → that row's relation
                    index = int(field[len("members["):field.index("]")])
                    field = f"{given[index][0]}_relation"
                raise _Refused({field: _beside(exc)}) from None
            household_id = household.id
    except _Refused as refused:
        return _render_new(request, who, values=data, errors=refused.errors, status=422)
    warned = f"&unchecked={unchecked}" if unchecked else ""
    return RedirectResponse(f"/intake/households/{household_id}?registered=1{warned}", status_code=303)


# -- 2. the household and its consents ----------------------------------------------------------------------

def _render_household(request: Request, who: Principal, household_id: str, *, values=None, errors=None,
                      status: int = 200, notice: str | None = None) -> HTMLResponse:
    with unit_of_work() as session:
        _household_or_404(session, who, household_id, policy.Grade.MASKED)
        household = _household_view(session, who, household_id, clock.today())
    member_options = {m["person_id"]: f'{m["name"]} ({m["masked"]})' for m in household["members"]}
    labels = {"form": _("This form"), "person_id": _("Member who signed"), "data_type": _("What the consent is for"),
              "reference": _("Consent form reference"), "given_on": _("Signed on"), "scope": _("Whose data it covers")}
    return _page(request, "intake_household.html", status, who=who, household=household, values=values or {},
                 member_options=member_options, summary=_summary(errors or {}, labels),
                 errors=errors or {}, notice=notice, relations=_labels(RELATION_LABELS),
                 regions=_labels(REGION_LABELS), localities=_labels(LOCALITY_LABELS), scopes=_labels(SCOPE_LABELS),
                 data_types={code: words.name(words.DATA_TYPES, code) for code in sorted(data_types.DATA_TYPES)},
                 today=clock.today().isoformat())


@router.get("/intake/households/{household_id}")
def household_page(request: Request, household_id: str, who: Worker, registered: bool = False,
                   consented: bool = False, unchecked: Annotated[int, Query(ge=0, le=MEMBER_ROWS + 1)] = 0
                   ) -> HTMLResponse:
    notice = (_("The household is registered.") if registered else
              _("The consent is recorded.") if consented else None)
    if registered and unchecked:
        warning = _("Registration numbers whose check digit does not match: %(count)s. Numbers issued since "
                    "October 2020 have none; otherwise check them.") % {"count": unchecked}
        notice = f"{notice} {warning}"
    return _render_household(request, who, household_id, notice=notice)


@router.post("/intake/households/{household_id}/consents")
async def record_consent(request: Request, household_id: str, who: Worker):
    data = _form_data(await request.form())
    return await run_in_threadpool(_record_consent, request, household_id, data, who)


def _record_consent(request: Request, household_id: str, data: dict[str, Any], who: Principal):
    errors: dict[str, str] = {}
    given_on = _date_field(data, "given_on", errors)
    try:
        with unit_of_work() as session:
            _household_or_404(session, who, household_id, policy.Grade.CHANGE)
            view = registry.household_on(session, household_id, clock.today(), actor=who.username, purpose=PURPOSE)
            member_ids = {m["person_id"] for m in view.members}
            person_id = _text(data, "person_id")
            if person_id not in member_ids:
                errors["person_id"] = _("Choose the member who signed the consent.")
            for key, known, message in (
                    ("data_type", data_types.DATA_TYPES, _("Choose what the consent is for.")),
                    ("scope", SCOPE_LABELS, _("Choose whose data the consent covers."))):
                if _text(data, key) not in known:
                    errors[key] = message
            if not _text(data, "reference"):
                errors["reference"] = _("Enter the consent form's reference.")
            if errors:
                raise _Refused(errors)
            person = session.get(Person, uuid.UUID(person_id))
            policy.person(session, who, person, policy.Grade.CHANGE)
            try:
                consents.record(session, person.id, data_type=_text(data, "data_type"),
                                reference=_text(data, "reference"), given_on=given_on, scope=_text(data, "scope"),
                                actor=who.username)
            except Invalid as exc:
                raise _Refused({str(exc.detail.get("field") or "form"): exc.message}) from None
    except _Refused as refused:
        return _render_household(request, who, household_id, values=data, errors=refused.errors, status=422)
    return RedirectResponse(f"/intake/households/{household_id}?consented=1#consents", status_code=303)


# -- 3 and 4. screening, choosing services, one application -------------------------------------------------

@router.get("/intake/households/{household_id}/screening")
def screening_page(request: Request, household_id: str, who: Worker) -> HTMLResponse:
    return _screening(request, household_id, {}, who, submit=False)


@router.post("/intake/households/{household_id}/screening")
async def screening_post(request: Request, household_id: str, who: Worker):
    data = _form_data(await request.form())
    return await run_in_threadpool(_screening, request, household_id, data, who, _text(data, "action") == "submit")


def _screening_document(household: dict[str, Any], data: dict[str, Any], applicant: str,
                        errors: dict[str, str]) -> dict[str, Any]:
    """The screening household (bokji/rules/household.py) from the registry (ages on the date, relations,
    residence) and what the applicant declares at the counter (monthly incomes, savings, housing)."""
    members = []
    for m in household["members"]:
        pid = m["person_id"]
        level = _text(data, f"school_{pid}") or None
        if level is not None and level not in SCHOOL_LABELS:
            errors[f"school_{pid}"] = _("Choose a school level, or leave it empty.")
            level = None
        members.append({"person_id": pid, "name": m["name"], "age": m["age"], "relation": m["relation"],
                        "applicant": pid == applicant, "school_level": level,
                        "income": {"earned": _won_field(data, f"earned_{pid}", errors),
                                   "public_transfer": _won_field(data, f"pension_{pid}", errors)}})
    residence = household["residence"] or {}
    document: dict[str, Any] = {"region_class": residence.get("region_class") or "other",
                                "locality": residence.get("locality"), "members": members,
                                "assets": {"financial": _won_field(data, "financial", errors),
                                           "general": _won_field(data, "general", errors)}}
    tenure = _text(data, "tenure")
    if tenure and tenure not in TENURE_LABELS:
        errors["tenure"] = _("Choose how the household lives, or leave it empty.")
    elif tenure:
        document["housing"] = {"tenure": tenure, "monthly_rent": _won_field(data, "monthly_rent", errors),
                               "deposit": _won_field(data, "deposit", errors)}
    return document


def _submit_errors(exc: BokjiError, codes: list[str]) -> dict[str, str]:
    """Where a refusal of POST /applications goes on the page: beside the service, the question, the date."""
    field = str(exc.detail.get("field") or "")
    if field.startswith("services[") and field.endswith("]"):
        index = int(field[len("services["):-1])
        key = f"service_{codes[index]}" if index < len(codes) else "services"
    elif field == "services":
        key = "services"
    elif field.startswith("details.school_levels"):
        key = "school_levels"
    elif field in ("details.monthly_rent", "details.rental_deposit"):
        key = {"details.monthly_rent": "monthly_rent", "details.rental_deposit": "deposit"}[field]
    elif field == "application_date":
        key = "application_date"
    elif field == "applicant_id":
        key = "applicant"
    else:
        key = "form"
    return {key: _beside(exc)}


@dataclass
class _Screened:
    household: dict[str, Any]
    document: dict[str, Any]
    result: dict[str, Any] | None
    held: dict[str, applications.HeldService]
    consents: dict[str, str]
    questions: dict[str, list[str]]
    services: dict[str, Any]
    on: date
    applicant: str
    chosen: list[str]
    errors: dict[str, str]


def _screened(session, who: Principal, household_id: str, data: dict[str, Any], need: policy.Grade) -> _Screened:
    """Everything the screening page shows: the household (in scope, each read logged), the screening of what
    was declared, the services already held, the consents the application would carry, the questions."""
    errors: dict[str, str] = {}
    on = _date_field(data, "application_date", errors, default=clock.today()) or clock.today()
    chosen = _list(data, "services")
    _household_or_404(session, who, household_id, need)
    household = _household_view(session, who, household_id, on)
    if not household["members"]:  # an application date before the household was registered
        errors["application_date"] = _("The household has no members on %(date)s: the application date is on or "
                                       "after the day they live there.") % {"date": on.isoformat()}
        on = clock.today()
        household = _household_view(session, who, household_id, on)
        if not household["members"]:
            raise Invalid(_("The household has no members today."), field="household_id")
    member_ids = [m["person_id"] for m in household["members"]]
    head = next((m["person_id"] for m in household["members"] if m["role"] == "head"), member_ids[0])
    applicant = _text(data, "applicant") or head
    if applicant not in member_ids:
        errors["applicant"] = _("Choose the applicant among the household's members.")
        applicant = head
    document = _screening_document(household, data, applicant, errors)
    services = {s.code: s for s in catalog.all_services(session)}
    unknown = [code for code in chosen if code not in services]
    if unknown:
        errors["services"] = _("Choose services from the list.")
    questions = {name: [code for code in chosen if code in services and name in
                        ((services[code].extra.get("case") or {}).get("application_fields") or [])]
                 for name in ASKED}
    result = screen(session, document, on).to_dict() if not errors else None
    held = applications.already_held(session, applicant_id=applicant, on=on, actor=who)
    merged: dict[str, str] = {}  # the consents the application carries: the household's, and the applicant's own
    for m in household["members"]:
        for c in m["consents"]:
            if c["scope"] == "household" or m["person_id"] == applicant:
                merged[c["data_type"]] = c["reference"]
    return _Screened(household, document, result, held, merged, questions, services, on, applicant, chosen, errors)


def _application_body(s: _Screened) -> dict[str, Any]:
    """POST /applications' body from the page: the answers the chosen services ask for."""
    housing = s.document.get("housing") or {}
    details: dict[str, Any] = {}
    if s.questions["monthly_rent"]:
        details["monthly_rent"] = housing.get("monthly_rent", 0)
    if s.questions["rental_deposit"]:
        details["rental_deposit"] = housing.get("deposit", 0)
    if s.questions["school_levels"]:
        levels = {m["person_id"]: m["school_level"] for m in s.document["members"] if m["school_level"]}
        if levels:
            details["school_levels"] = levels
    return {"applicant_id": s.applicant, "application_date": s.on.isoformat(), "services": s.chosen,
            "consents": s.consents, "details": details}


def _screening(request: Request, household_id: str, data: dict[str, Any], who: Principal, submit: bool):
    refused: dict[str, str] = {}
    if submit:
        try:
            with unit_of_work() as session:
                found = _screened(session, who, household_id, data, policy.Grade.CHANGE)
                if not found.chosen:
                    refused["services"] = _("Choose at least one service.")
                elif not found.errors:
                    try:
                        application = steps.apply(session, _application_body(found), actor=who)
                    except (Invalid, Conflict, NotFound) as exc:
                        raise _Refused(_submit_errors(exc, found.chosen)) from None
                    return RedirectResponse(f"/intake/applications/{application.id}", status_code=303)
        except _Refused as exc:
            refused = exc.errors  # rolled back: nothing of the application was kept
    with unit_of_work() as session:  # the page again, with everything typed and the refusal beside its field
        found = _screened(session, who, household_id, data, policy.Grade.MASKED)
    errors = {**found.errors, **refused}
    status = 409 if any(k.startswith("service_") for k in refused) else 422 if errors else 200
    eligible = [r for r in (found.result or {}).get("results", []) if r["status"] == "eligible"]
    others = [r for r in (found.result or {}).get("results", []) if r["status"] != "eligible"]
    names = {code: words.in_language(s.name_ko, s.name_en) for code, s in found.services.items()}
    asked = {name: ", ".join(names[c] for c in codes) for name, codes in found.questions.items() if codes}
    labels = {"form": _("This form"), "application_date": _("Application date"), "applicant": _("Applicant")}
    earned, pension, school = _("Earned income a month"), _("Pensions and allowances a month"), _("School")
    for m in found.household["members"]:
        labels |= {f"earned_{m['person_id']}": f"{m['name']} · {earned}",
                   f"pension_{m['person_id']}": f"{m['name']} · {pension}",
                   f"school_{m['person_id']}": f"{m['name']} · {school}"}
    labels |= {"financial": _("Savings and deposits"), "general": _("Other property"), "tenure": _("Housing"),
               "monthly_rent": _("Monthly rent"), "deposit": _("Rental deposit"), "services": _("Services")}
    labels |= {f"service_{code}": name for code, name in names.items()}
    labels["school_levels"] = _("School")
    return _page(request, "intake_screening.html", status, who=who, values=data, errors=errors, s=found,
                 summary=_summary(errors, labels),
                 household=found.household, head_name=next((m["name"] for m in found.household["members"]
                                                            if m["role"] == "head"), ""),
                 applicants={m["person_id"]: m["name"] for m in found.household["members"]},
                 eligible=eligible, others=others, names=names, asked=asked,
                 tenures=_labels(TENURE_LABELS), schools=_labels(SCHOOL_LABELS), payments=_labels(PAYMENT_LABELS),
                 relations=_labels(RELATION_LABELS),
                 data_types={code: words.name(words.DATA_TYPES, code) for code in data_types.DATA_TYPES})


# -- the receipt --------------------------------------------------------------------------------------------

@router.get("/intake/applications/{application_id}")
def receipt(request: Request, application_id: str, who: Worker) -> HTMLResponse:
    with unit_of_work() as session:
        application = applications.get_for(session, application_id, who)
        for person_id in application.member_ids:  # as GET /applications/{id}: each member's data is shown
            access_log.record(session, who.username, purpose=PURPOSE, action="read_application", person_id=person_id)
        applicant = session.get(Person, application.applicant_id)
        services = {s.code: s for s in catalog.all_services(session)}
        cases = [{"service": words.in_language(services[c.service_code].name_ko, services[c.service_code].name_en)
                  if c.service_code in services else c.service_code, "code": c.service_code,
                  "instance_id": str(i.id), "status": i.status, "stage": i.stage, "business_key": i.business_key}
                 for c, i in applications.cases(session, application.id)]
        context = {"number": application.number, "applicant": applicant.name, "masked": applicant.rrn_masked,
                   "application_date": application.application_date, "office": application.office,
                   "household_id": str(application.household_id), "members": len(application.member_ids),
                   "consents": application.consents}
    return _page(request, "intake_receipt.html", who=who, application=context, cases=cases,
                 data_types={code: words.name(words.DATA_TYPES, code) for code in data_types.DATA_TYPES})
