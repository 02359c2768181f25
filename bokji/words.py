"""What the platform's codes read as in a sentence: names of roles, stages, statuses, data types,
agencies, ministries and process kinds, and amounts with their unit and period.

The domain's messages (bokji/errors.py), the CLI and the pages (forms/labels.py) all name codes from
here, through the catalog (bokji/i18n.py); the codes themselves stay in the API beside the words. A
code without a name here is shown as it is, never hidden.
"""

from __future__ import annotations

from bokji.i18n import N_, current, gettext

ROLES = {"designer": N_("process designer"), "caseworker": N_("caseworker"), "supervisor": N_("supervisor"),
         "ministry_officer": N_("ministry officer"), "manager": N_("manager"), "auditor": N_("auditor"),
         "admin": N_("administrator"), "integration": N_("integration system")}
STAGES = {"application": N_("application"), "investigation": N_("investigation"), "decision": N_("decision"),
          "payment": N_("payment"), "review": N_("periodic review")}
ELIGIBILITY = {"eligible": N_("eligible"), "not_eligible": N_("not eligible"),
            "needs_information": N_("needs information")}
PROCESS_KINDS = {"module": N_("module"), "variant": N_("service"), "process": N_("stand-alone")}
DATA_TYPES = {"earned_income": N_("earned income"), "business_income": N_("business income"),
              "insured_wage": N_("insured wage"), "health_premium": N_("health insurance premium"),
              "pension": N_("pension"), "property": N_("property"), "vehicles": N_("vehicles"),
              "deposits": N_("financial deposits"), "household": N_("resident registration"),
              "lease": N_("lease"), "school_enrolment": N_("school enrolment"),
              "family_relations": N_("family relations")}
AGENCIES = {"nts": N_("National Tax Service"), "ei": N_("Employment Insurance"),
            "nhis": N_("National Health Insurance Service"), "nps": N_("National Pension Service"),
            "property": N_("property tax register"), "vehicle": N_("vehicle register"),
            "finance": N_("financial institutions"), "resident": N_("resident register"),
            "document": N_("document"), "caseworker": N_("caseworker")}
MINISTRIES = {"MOHW": N_("Ministry of Health and Welfare"),
              "MOLIT": N_("Ministry of Land, Infrastructure and Transport"),
              "MOGEF": N_("Ministry of Gender Equality and Family"), "MOEL": N_("Ministry of Employment and Labor"),
              "MOE": N_("Ministry of Education")}
# How a benefit is given (bokji/payments PAYMENT_KINDS).
PAYMENT_KINDS = {"cash": N_("cash"), "in_kind": N_("in kind"), "qualification": N_("a qualification")}
# The status of a case, a task, an incident, a job or an entitlement (one word per code across them).
STATUSES = {"running": N_("in progress"), "suspended": N_("suspended"), "completed": N_("completed"),
            "cancelled": N_("cancelled"), "open": N_("open"), "retried": N_("retried"), "queued": N_("queued"),
            "done": N_("done"), "incident": N_("failed"), "active": N_("active"), "ended": N_("ended"),
            "released": N_("released")}


def name(table: dict[str, str], code: str | None) -> str:
    if code is None or code == "":
        return "–"
    text = table.get(code)
    return gettext(text) if text else code


def won(amount: int | None, period: str | None = None) -> str:
    """538,451원/월: the amount with its unit, and its period when it has one."""
    if amount is None:
        return "–"
    figure = f"{amount:,}"
    if period == "month":
        return gettext("%(amount)s won a month") % {"amount": figure}
    if period == "year":
        return gettext("%(amount)s won a year") % {"amount": figure}
    return gettext("%(amount)s won") % {"amount": figure}


# What an unknown id reads as; a row outside the reader's scope reads exactly the same (bokji/scope).
NOT_FOUND = {"application": N_("Application %(id)s not found."), "household": N_("Household %(id)s not found."),
             "incident": N_("Incident %(id)s not found."), "instance": N_("Instance %(id)s not found."),
             "job": N_("Job %(id)s not found."), "notice": N_("Notice %(id)s not found."),
             "person": N_("Person %(id)s not found."), "task": N_("Task %(id)s not found."),
             "user": N_("Staff member %(id)s not found."), "substitute": N_("Substitution %(id)s not found."),
             "saved_filter": N_("Saved filter %(id)s not found."), "team": N_("Team %(id)s not found.")}


def not_found(what: str, ident: object) -> str:
    """'Person … not found', in the caller's language (`what` is a code of NOT_FOUND)."""
    text = NOT_FOUND.get(what)
    if text is None:
        return gettext("%(what)s %(id)s not found.") % {"what": what, "id": ident}
    return gettext(text) % {"id": ident}


def in_language(korean: str, english: str | None) -> str:
    """Of a thing's two names (a catalog service's name_ko / name_en), the one in the reader's language."""
    return english if current() == "en" and english else korean
