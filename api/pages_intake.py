"""Intake at the counter (접수), as pages over the registry's services: find a person first.

The find form is a form-js definition rendered and validated like any task form (forms/schema.py:
errors beside their fields, the GOV.UK error summary); the look-ups are the API's own services, so a
page reads exactly what `GET /registry/persons` and `POST /registry/persons/find` would, in scope and
logged with the declared purpose.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from api.pages import Worker, _page, frame
from api.security import csrf_token
from bokji.db import unit_of_work
from bokji.errors import Invalid, NotFound
from bokji.i18n import N_
from bokji.i18n import gettext as _
from bokji.identity.service import Principal
from bokji.privacy.purposes import PURPOSES
from bokji.registry import service as registry
from bokji.scope import policy
from forms.schema import CSRF_FIELD, FormDefinition, render_form

router = APIRouter(include_in_schema=False)

# The purposes a counter look-up declares, named for people (the codes are what the access log keeps).
PURPOSE_LABELS = {"consultation": N_("Counter consultation"), "intake": N_("Application intake"),
                  "investigation": N_("Investigation of income and property"), "decision": N_("Eligibility decision"),
                  "payment": N_("Payment"), "review": N_("Periodic review of a recipient"),
                  "notice_printing": N_("Printing a decision notice"),
                  "registration": N_("Keeping persons and households up to date"), "appeal": N_("Handling an appeal"),
                  "audit": N_("Audit"), "work_queue": N_("Listing a work queue")}
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
                       title=_("Find a person"), frame=frame(request, who),
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
        # Either key finds a person: the number alone, or the name with the birth date. Shown with the
        # form's own errors, so one submission lists everything to fix.
        missing = _("Give the registration number, or the name and the birth date")
        errors.setdefault("registration_number", missing)
        if not name:
            errors.setdefault("name", missing)
        if not born:
            errors.setdefault("birth_date", missing)
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
            people = [{"id": str(p.id), "name": p.name, "number": p.rrn_masked, "birth_date": p.birth_date}
                      for p in found]
    except Invalid as exc:  # a number in a wrong format, named by the registry
        field = exc.detail.get("field") or "registration_number"
        return _render_find(request, who, values=data, errors={field: exc.message}, status=422)
    return _page(request, "intake_found.html", who=who, people=people, by_number=bool(number))
