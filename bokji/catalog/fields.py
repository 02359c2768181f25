"""The service-specific questions an application may answer (`details`), each with its check.

A catalog service lists the ones it needs in `case.application_fields`; the catalog loader refuses
names not declared here, and an application for that service without the answer gets a 422.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from bokji.errors import Invalid
from bokji.i18n import N_
from bokji.i18n import gettext as _
from bokji.rules.recognised_income import whole_won

SCHOOL_LEVELS = ("elementary", "middle", "high")


def _school_levels(value: Any, field: str) -> dict[str, str]:
    """Each pupil of the household (person id) → their school level. Whether each is a member of the
    household on the application date is checked where the household is known (applications.submit)."""
    if not isinstance(value, dict) or not value:
        raise Invalid(_("%(field)s must be an object of person id → school level (%(levels)s) with at least one "
                        "pupil.") % {"field": field, "levels": ", ".join(SCHOOL_LEVELS)}, field=field)
    levels: dict[str, str] = {}
    for key, level in value.items():
        try:
            person_id = str(uuid.UUID(str(key)))
        except ValueError:
            raise Invalid(_("%(field)s: not a person id.") % {"field": f"{field}.{key}"},
                          field=f"{field}.{key}") from None
        if level not in SCHOOL_LEVELS:
            raise Invalid(_("%(field)s must be one of %(choices)s.") % {
                "field": f"{field}.{key}", "choices": ", ".join(SCHOOL_LEVELS)}, field=f"{field}.{key}")
        if person_id in levels:
            raise Invalid(_("%(field)s: the same person twice.") % {"field": f"{field}.{key}"},
                          field=f"{field}.{key}")
        levels[person_id] = level
    return levels


def _person_ids(value: Any, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid(_("%(field)s must be a list of person ids (registered first).") % {"field": field},
                      field=field)
    return value


FIELDS: dict[str, tuple[str, Callable[[Any, str], Any]]] = {
    "school_levels": (N_("each pupil's school level: person id → elementary, middle or high"), _school_levels),
    "monthly_rent": (N_("monthly rent paid, whole won"), whole_won),
    "rental_deposit": (N_("rental deposit (보증금), whole won"), whole_won),
    "obligor_ids": (N_("persons liable to support the household (first-degree relatives outside it)"), _person_ids),
    # Which children a child benefit's case is for; without it, every member under 18 (bokji/applications).
    "child_ids": (N_("the children the child benefits are for (household members)"), _person_ids),
}
# Asked by a service but may be left out: a household may have no obligors, a tenant no deposit; the
# children a child-unit service covers default to those under 18.
OPTIONAL = {"obligor_ids", "rental_deposit", "child_ids"}


def clean(details: Any, needed: dict[str, list[str]]) -> dict[str, Any]:
    """Check `details` against the declared questions; `needed` maps a field to the services needing it."""
    if details is None:
        details = {}
    if not isinstance(details, dict):
        raise Invalid(_("details must be an object."), field="details")
    for name in details:
        if name not in FIELDS:
            raise Invalid(_("%(field)s is not a known question (known: %(known)s).") % {
                "field": f"details.{name}", "known": ", ".join(sorted(FIELDS))}, field=f"details.{name}")
    for name, services in needed.items():
        if name in OPTIONAL:
            continue
        if details.get(name) is None:
            raise Invalid(_("%(field)s (%(question)s) is needed by %(services)s.") % {
                "field": f"details.{name}", "question": _(FIELDS[name][0]), "services": ", ".join(services)},
                field=f"details.{name}")
    return {name: FIELDS[name][1](value, f"details.{name}") for name, value in details.items()}
