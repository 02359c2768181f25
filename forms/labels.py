"""What the platform's codes and values read as on a page: names of roles, stages, statuses, data types,
agencies, ministries and process kinds; amounts with their unit and period; times in Asia/Seoul.

Every text goes through the catalog (bokji/i18n.py); the codes themselves stay in the API and in
data attributes. A code without a name here is shown as it is, never hidden.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from bokji import clock
from bokji.i18n import N_, current, gettext
from bokji.rules.messages import render
from bokji.words import AGENCIES, DATA_TYPES, ELIGIBILITY, MINISTRIES, PROCESS_KINDS, ROLES, STAGES, STATUSES, name, won

# The fields of an agency's answer, as words (amounts are won; a list of cars is counted).
VALUE_FIELDS = {"monthly": N_("a month"), "residential": N_("residential"), "general": N_("general"),
                "financial": N_("financial"), "monthly_wage": N_("wage a month"),
                "monthly_premium": N_("premium a month"), "insured": N_("insured"), "members": N_("members"),
                "address": N_("address")}
COUNTS = {"members"}  # answer fields that count something, not amounts of won


LANGUAGE_NAMES = {"ko": "한국어", "en": "English"}  # each in its own language, on the switch


def language_switch() -> dict[str, str]:
    """The page's language and the one the switch offers."""
    lang = current()
    other = "en" if lang == "ko" else "ko"
    return {"lang": lang, "other_lang": other, "other_lang_name": LANGUAGE_NAMES[other]}


def _as_seoul(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(clock.SEOUL)


def seoul_time(value: datetime | str | None) -> str:
    """A moment in Korean time, labelled as such (the database keeps UTC)."""
    if not value:
        return "–"
    return gettext("%(time)s KST") % {"time": _as_seoul(value).strftime("%Y-%m-%d %H:%M")}


def seoul_date(value: datetime | date | str | None) -> str:
    if not value:
        return "–"
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return _as_seoul(value).date().isoformat()


def evidence_value(data_type: str, value: Any) -> str:
    """An agency's answer as words: amounts with their unit, cars counted, never raw JSON."""
    if not isinstance(value, dict):
        return str(value)
    parts = []
    for key, item in value.items():
        if key == "cars" and isinstance(item, list):
            parts.append(gettext("cars: %(count)s") % {"count": len(item)}
                         + "".join(f" · {won(c.get('value'))}" for c in item if isinstance(c, dict)))
        elif isinstance(item, bool):
            answer = gettext("yes") if item else gettext("no")  # outside the f-string, where Babel finds it
            parts.append(f"{name(VALUE_FIELDS, key)}: {answer}")
        elif isinstance(item, int) and key in COUNTS:
            parts.append(f"{name(VALUE_FIELDS, key)} {item}")
        elif isinstance(item, int):
            parts.append(f"{name(VALUE_FIELDS, key)} {won(item)}")
        else:
            parts.append(f"{name(VALUE_FIELDS, key)}: {item}")
    return ", ".join(parts) or "–"


_BILINGUAL = re.compile(r"(?P<ko>[^()]*[\uac00-\ud7a3][^()]*?) \((?P<en>[^()]*[A-Za-z][^()]*)\)(?P<rest>.*)")


def model_text(text: str | None) -> str:
    """A model's name written "한국어 (English)" — the library's convention — in the reader's language;
    any other name as the designer wrote it."""
    if not text:
        return ""
    found = _BILINGUAL.fullmatch(text)
    if found is None:
        return text
    if current() == "en":
        english = found["en"]
        return english[:1].upper() + english[1:] + found["rest"]
    return (found["ko"] + found["rest"]).strip()


def step_text(step: dict[str, Any]) -> str:
    """A rule's trace step (a message id with parameters) in the reader's language."""
    return render(str(step.get("id")), step.get("params") or {})


def install(env: Any) -> None:
    """Filters and functions every template may use."""
    env.filters.update(won=won, seoul_time=seoul_time, seoul_date=seoul_date, model_text=model_text,
                       role_name=lambda code: name(ROLES, code), data_type_name=lambda c: name(DATA_TYPES, c))
    env.globals.update(
        role_name=lambda code: name(ROLES, code), stage_name=lambda code: name(STAGES, code),
        status_name=lambda code: name(ELIGIBILITY, code),
        record_status=lambda code: name(STATUSES, code), process_kind=lambda code: name(PROCESS_KINDS, code),
        ministry_name=lambda code: name(MINISTRIES, code), data_type_name=lambda code: name(DATA_TYPES, code),
        agency_name=lambda code: name(AGENCIES, code), evidence_value=evidence_value, step_text=step_text)
