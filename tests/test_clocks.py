"""Legal clocks (issue 15): deadlines on the offices' calendar, pauses, extensions, the sweep's breach once."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select

from bokji.calendar.service import BusinessCalendar
from bokji.catalog import clocks as rules
from bokji.clocks import service as clocks
from bokji.clocks.models import CaseClock, ClockEvent, ClockState, Notification
from bokji.db import unit_of_work
from bokji.identity.service import Principal
from bokji.tasks.models import HumanTask
from tests.test_applications import _apply, _mother_and_child

CAL = BusinessCalendar()


def _clock(started: date, **rule) -> CaseClock:
    return CaseClock(instance_id=uuid.uuid4(), office="seoul-jongno", started_on=started,
                     rule={**rules.DEFAULT, **rule}, paused_business_days=0, extended_days=0, state=ClockState.RUNNING)


def test_a_deadline_on_chuseok_rolls_forward_and_the_first_day_rule_both_ways():
    # 30 days from 2025-09-08 (first day not counted) is 2025-10-08, the Chuseok substitute holiday; Oct 9 is
    # Hangul Day: the deadline rolls to Friday Oct 10.
    assert clocks._due(_clock(date(2025, 9, 8)), CAL) == date(2025, 10, 10)
    assert clocks._due(_clock(date(2025, 9, 8), roll_forward=False), CAL) == date(2025, 10, 8)
    # Counting the first day: 2025-09-08 + 29 = 2025-10-07 (Chuseok) → Oct 10 as well; from Sep 9 it is Oct 8 → 10.
    assert clocks._due(_clock(date(2025, 9, 8), first_day_counts=True), CAL) == date(2025, 10, 10)
    # Business days across Seollal 2026 (Feb 16-18) and the 2025-01-27 temporary holiday.
    assert clocks._due(_clock(date(2026, 2, 13), limit=3, unit="business_days"), CAL) == date(2026, 2, 23)
    assert clocks._due(_clock(date(2026, 2, 13), limit=3, unit="business_days", first_day_counts=True),
                       CAL) == date(2026, 2, 20)
    assert clocks._due(_clock(date(2025, 1, 24), limit=1, unit="business_days"), CAL) == date(2025, 1, 31)


def test_pause_and_extension_move_the_deadline():
    row = _clock(date(2025, 9, 8))
    row.paused_business_days = 2  # a finished pause of two business days: Oct 10 → Oct 14 (Mon Oct 13, Tue 14)
    assert clocks._due(row, CAL) == date(2025, 10, 14)
    row.paused_business_days, row.extended_days = 0, 5  # 35 days: Oct 13 (Monday)
    assert clocks._due(row, CAL) == date(2025, 10, 13)


def test_an_application_starts_a_clock_and_a_breach_escalates_once(client, login, library):
    cw = login("caseworker")
    mother, _child = _mother_and_child(client, cw)
    application = _apply(client, cw, mother, ["MOHW-NBLSS-LIVELIHOOD"])  # of 2025-03-10
    instance_id = uuid.UUID(application["cases"][0]["instance_id"])
    with unit_of_work() as session:
        row = clocks.of_instance(session, instance_id)
        assert (row.started_on, row.due_on, row.rule["verified"]) == (date(2025, 3, 10), date(2025, 4, 9), False)
        assert row.calendar_version.startswith("holidays ")
    for _ in range(2):  # two sweeps (or two schedulers): one breach, one escalation
        with unit_of_work() as session:
            clocks.sweep(session)
    with unit_of_work() as session:
        kinds = [e.kind for e in session.scalars(select(ClockEvent).where(ClockEvent.instance_id == instance_id))]
        assert kinds.count("breach") == 1 and kinds[0] == "start"
        open_tasks = list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                                   HumanTask.status == "open")))
        if open_tasks:
            assert {t.sla_flag for t in open_tasks} == {"breached"}
            assert all(t.escalated_to == "supervisor" and "supervisor" in t.candidate_users for t in open_tasks)
            sent = session.scalars(select(Notification).where(Notification.instance_id == instance_id,
                                                              Notification.kind == "sla_breach")).all()
            assert len(sent) == 2 * len(open_tasks)  # e-mail and SMS to the supervisor, once
        row = clocks.of_instance(session, instance_id)
        supervisor = Principal("0", "supervisor", frozenset({"supervisor"}), "seoul-jongno", None)
        clocks.extend(session, row, days=10, reason="소득 자료 재확인 필요", approver=supervisor)
        assert row.due_on == date(2025, 4, 21)  # 40 days: Apr 19 (Saturday) → Monday Apr 21
        letter = session.scalars(select(Notification).where(Notification.instance_id == instance_id,
                                                            Notification.kind == "extension")).one()
        assert letter.recipient_person_id is not None and "2025-04-21" in letter.body
