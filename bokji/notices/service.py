"""Reading issued notices (they are written by the notice.compose handler and never changed)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from bokji.applications import service as applications
from bokji.catalog.models import CatalogService
from bokji.identity.service import Principal
from bokji.ids import get_or_404
from bokji.instances.models import ProcessInstance
from bokji.notices.models import OUTCOME_KO, DecisionNotice
from bokji.offices.models import Office
from bokji.privacy import access_log
from bokji.registry.models import Person
from bokji.scope import policy


@dataclass(frozen=True)
class PrintableNotice:
    notice: DecisionNotice
    outcome: str  # as the notice names it
    service_name: str
    recipient_name: str
    recipient_masked: str
    application_number: str | None
    office_name: str  # the issuing office: the case's office
    # The monthly payment day from the catalog's case entry; None when the catalog gives no day (then
    # the letter says the day will be told separately, never a guessed figure).
    pay_day: int | None
    pay_day_unverified: bool  # the catalog's source for the day is "unverified": badged on staff views only
    office_phone: str | None = None  # the contact the letter names (문의): the issuing office's
    office_address: str | None = None


def printable(session: Session, notice_id: str, *, who: Principal, purpose: str) -> PrintableNotice:
    """A notice with what its printed form names; the recipient's data is read, so it is logged."""
    notice = get_or_404(session, DecisionNotice, notice_id, what="notice", field="notice_id")
    instance = session.get(ProcessInstance, notice.instance_id)
    policy.require(session, who, policy.Kind.CASE, policy.Grade.MASKED, office=instance.office,
                   ministry=instance.ministry, what="notice", ident=notice_id, field="notice_id")
    person = session.get(Person, notice.recipient_id)
    service = session.get(CatalogService, notice.service_code)
    application = applications.of_instance(session, notice.instance_id)
    access_log.record(session, who.username, purpose=purpose, action="print_notice", person_id=person.id,
                      instance_id=instance.id)
    office = session.get(Office, instance.office)
    case = (service.extra or {}).get("case") or {} if service else {}
    pay_day = case.get("pay_day") if isinstance(case.get("pay_day"), int) else None
    return PrintableNotice(notice, OUTCOME_KO[notice.outcome], service.name_ko if service else notice.service_code,
                           person.name, person.rrn_masked, application.number if application else None,
                           office.name if office else instance.office, pay_day,
                           "unverified" in str(case.get("pay_day_source") or "unverified"),
                           office.phone if office else None, office.address if office else None)
