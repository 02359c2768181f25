"""A service's legal clock as its catalog entry declares it (`clock` in bokji/catalog/services.json).

    "clock": {"limit": 30, "unit": "days", "first_day_counts": false, "roll_forward": true,
              "verified": false, "source": "...", "extension": {"max_days": null, "source": "..."},
              "stages": {"application": 1, "investigation": 10, "decision": 5, "payment": 3},
              "pause_on": ["missing_data"], "warn_before": 3}

`limit` counts from the application's day to the decision in `unit` (calendar days or business days);
`first_day_counts` and `roll_forward` are the statute's counting rules (a deadline on a day off moves to the
next business day). `stages` are the office's targets per stage, in business days (planning figures, not law):
a task's due date and the forecast use them. While a task of an element in `pause_on` is open the office waits
on the applicant (documents requested, data missing) and the clock stops. A warning goes out `warn_before`
business days before the deadline. A figure the reference cannot source says `"verified": false`.
"""

from __future__ import annotations

from typing import Any

from bokji.calendar.service import Unit
from bokji.errors import Invalid
from bokji.i18n import gettext as _
from bokji.instances.models import STAGES

# For a service whose entry declares no clock (synthetic catalogs for load tests): the NBLSS window, unverified.
DEFAULT: dict[str, Any] = {
    "limit": 30, "unit": "days", "first_day_counts": False, "roll_forward": True, "verified": False,
    "source": "default for a service without a declared clock (unverified)",
    "extension": {"max_days": None, "source": "unverified"},
    "stages": {"application": 1, "investigation": 10, "decision": 5, "payment": 3},
    "pause_on": ["missing_data", "consent_followup"], "warn_before": 3,
}
TARGET_STAGES = ("application", "investigation", "decision", "payment")  # the review is not on the clock


def _whole(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(_("%(field)s must be a whole number from %(low)s to %(high)s.") % {
            "field": field, "low": low, "high": high}, field=field)
    return value


def parse(value: Any, where: str) -> dict[str, Any]:
    """The clock of a catalog entry, checked, with the defaults filled in; errors name the field."""
    if value is None:
        return dict(DEFAULT)
    if not isinstance(value, dict):
        raise Invalid(_("%(field)s must be an object.") % {"field": f"{where}.clock"}, field=f"{where}.clock")
    rule = {**DEFAULT, **value}
    _whole(rule["limit"], f"{where}.clock.limit", 1, 365)
    if rule["unit"] not in {u.value for u in Unit}:
        raise Invalid(_("%(field)s must be one of %(choices)s.") % {
            "field": f"{where}.clock.unit", "choices": ", ".join(u.value for u in Unit)}, field=f"{where}.clock.unit")
    for flag in ("first_day_counts", "roll_forward", "verified"):
        if not isinstance(rule[flag], bool):
            raise Invalid(_("%(field)s must be true or false.") % {"field": f"{where}.clock.{flag}"},
                          field=f"{where}.clock.{flag}")
    if not isinstance(rule["source"], str) or not rule["source"].strip():
        raise Invalid(_("%(field)s must say where the limit comes from (or 'unverified').") % {
            "field": f"{where}.clock.source"}, field=f"{where}.clock.source")
    stages = rule["stages"]
    if not isinstance(stages, dict) or set(stages) - set(STAGES):
        raise Invalid(_("%(field)s must map stages (%(choices)s) to business days.") % {
            "field": f"{where}.clock.stages", "choices": ", ".join(TARGET_STAGES)}, field=f"{where}.clock.stages")
    for stage, days in stages.items():
        _whole(days, f"{where}.clock.stages.{stage}", 1, 365)
    if not isinstance(rule["pause_on"], list) or not all(isinstance(e, str) and e for e in rule["pause_on"]):
        raise Invalid(_("%(field)s must be a list of BPMN element ids.") % {"field": f"{where}.clock.pause_on"},
                      field=f"{where}.clock.pause_on")
    _whole(rule["warn_before"], f"{where}.clock.warn_before", 0, 60)
    extension = rule["extension"]
    if not isinstance(extension, dict) or (extension.get("max_days") is not None
                                           and _whole(extension["max_days"], f"{where}.clock.extension.max_days",
                                                      1, 365) is None):
        raise Invalid(_("%(field)s must be an object.") % {"field": f"{where}.clock.extension"},
                      field=f"{where}.clock.extension")
    return rule
