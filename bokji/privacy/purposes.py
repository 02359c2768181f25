"""Why someone reads a person's data: a code from a fixed list, or the case the read is for.

Every access-log row keeps one of these, never free text: a purpose an auditor can count and check
(`intake`, `investigation` …), or a case reference they can open (an application number such as
`A20261201-1A2B3C4D`, see bokji/applications/service.py, or the UUID of a case's process instance).
Anything else is refused with a 422 naming `purpose` and listing the codes.
"""

from __future__ import annotations

import re
import uuid

from bokji.errors import Invalid
from bokji.i18n import gettext as _

# code → (Korean label, English). The codes are what is stored; the labels are for people.
PURPOSES: dict[str, tuple[str, str]] = {
    "consultation": ("상담", "counter consultation"),
    "intake": ("신청접수", "application intake"),
    "investigation": ("조사", "investigation of income and property"),
    "decision": ("결정", "eligibility decision"),
    "payment": ("지급", "payment"),
    "review": ("확인조사", "periodic review of a recipient"),
    "notice_printing": ("통지서 출력", "printing a decision notice"),
    "registration": ("자격관리", "keeping persons and households up to date"),
    "appeal": ("이의신청", "handling an appeal"),
    "audit": ("감사", "audit"),
    "work_queue": ("업무목록 조회", "listing a work queue (the applicants a page names)"),
    "monitoring": ("처리현황 모니터링", "the managers' dashboard: its lists of cases"),
}
# The application number bokji/applications/service.py issues, A<application date>-<8 hex digits>,
# alone or as one of its cases' business key: <number>/<service code>.
CASE_REFERENCE = re.compile(r"(A\d{8}-[0-9A-F]{8})(/[A-Za-z0-9_.-]{1,64})?", re.IGNORECASE | re.ASCII)
# The same, for the OpenAPI schema (JSON Schema patterns take no flags).
PATTERN = ("^(" + "|".join(PURPOSES) + r"|A[0-9]{8}-[0-9A-Fa-f]{8}(/[A-Za-z0-9_.-]{1,64})?"
           r"|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$")
MAX_LENGTH = 100  # the longest reference; the column holds more, nothing valid is longer


def codes_text() -> str:
    return ", ".join(f"{code} ({ko}, {en})" for code, (ko, en) in PURPOSES.items())


def check(value: object, field: str = "purpose") -> str:
    """The purpose as stored: a code, an application number (upper-case) or a case UUID (canonical)."""
    text = value.strip() if isinstance(value, str) else ""
    if text.lower() in PURPOSES:
        return text.lower()
    if len(text) <= MAX_LENGTH:
        if found := CASE_REFERENCE.fullmatch(text):
            return found.group(1).upper() + (found.group(2) or "")
        try:
            return str(uuid.UUID(text))
        except ValueError:
            pass
    raise Invalid(_("%(field)s must be one of the purpose codes or a case reference (an application number such "
                    "as A20261201-1A2B3C4D, a case's business key A20261201-1A2B3C4D/<service code>, or a case "
                    "id); the codes: %(codes)s") % {"field": field, "codes": codes_text()}, field=field,
                  codes=list(PURPOSES))


def of_case(business_key: str | None, instance_id: uuid.UUID) -> str:
    """The reference of a case a worker or a page reads for: its business key when that is an application's
    (`<number>/<service code>`), else its instance id."""
    if business_key and CASE_REFERENCE.fullmatch(business_key):
        return business_key
    return str(instance_id)
