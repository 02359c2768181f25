"""The offices' calendar (issue 15, part 1): business days across Chuseok 2025, Seollal 2026 and the 2025-01-27
temporary holiday; the first-day rule both ways; a deadline on a day off rolls forward; closures an
administrator adds (and withdraws) move the count and the calendar's version; bad input named."""

from __future__ import annotations

from datetime import date

import pytest

from bokji.calendar.service import BusinessCalendar, Unit

CAL = BusinessCalendar()  # public holidays and weekends only


@pytest.mark.parametrize("day, off", [
    (date(2025, 10, 3), True),   # 개천절 (Friday)
    (date(2025, 10, 6), True),   # 추석
    (date(2025, 10, 8), True),   # 추석 대체 휴일 (the 5th fell on a Sunday)
    (date(2025, 10, 9), True),   # 한글날
    (date(2025, 10, 10), False),
    (date(2026, 2, 16), True), (date(2026, 2, 17), True), (date(2026, 2, 18), True),  # 설날
    (date(2026, 2, 19), False),
    (date(2025, 1, 27), True),   # 임시공휴일
    (date(2025, 1, 24), False),
    (date(2025, 6, 3), True),    # 대통령 선거일
])
def test_holidays_substitutes_and_temporary_holidays_are_days_off(day, off):
    assert CAL.is_business_day(day) is not off


def test_business_days_across_chuseok_and_seollal():
    # From Thursday 2 October 2025: Fri 3 (개천절), weekend, 6-9 off → the first business day is Fri 10 October.
    assert CAL.add_business_days(date(2025, 10, 2), 1) == date(2025, 10, 10)
    assert CAL.add_business_days(date(2025, 10, 2), 5) == date(2025, 10, 16)
    assert CAL.business_days_between(date(2025, 10, 2), date(2025, 10, 16)) == 5
    assert CAL.business_days_between(date(2025, 10, 16), date(2025, 10, 2)) == -5
    # Seollal 2026: Friday 13 February + 3 business days skips the weekend and 16-18 February.
    assert CAL.add_business_days(date(2026, 2, 13), 3) == date(2026, 2, 23)
    # The 2025 Lunar New Year with its temporary holiday: 24 January (Fri) + 1 → 31 January.
    assert CAL.add_business_days(date(2025, 1, 24), 1) == date(2025, 1, 31)


def test_the_first_day_rule_both_ways():
    monday = date(2025, 11, 3)
    assert CAL.deadline(monday, 5, Unit.BUSINESS_DAYS) == date(2025, 11, 10)  # counted from Tuesday
    assert CAL.deadline(monday, 5, Unit.BUSINESS_DAYS, first_day_counts=True) == date(2025, 11, 7)
    assert CAL.deadline(monday, 10, Unit.DAYS) == date(2025, 11, 13)  # Thursday
    assert CAL.deadline(monday, 10, Unit.DAYS, first_day_counts=True) == date(2025, 11, 12)
    # Counted with the first day, 14 days end on Sunday 16 November: rolled to Monday.
    assert CAL.deadline(monday, 14, Unit.DAYS, first_day_counts=True, roll_forward=False) == date(2025, 11, 16)
    assert CAL.deadline(monday, 14, Unit.DAYS, first_day_counts=True) == date(2025, 11, 17)


def test_a_deadline_on_a_day_off_rolls_forward_unless_told_not_to():
    # 30 days from 6 September 2025 end on 6 October (추석): rolled to Friday 10 October.
    assert CAL.deadline(date(2025, 9, 6), 30, Unit.DAYS) == date(2025, 10, 10)
    assert CAL.deadline(date(2025, 9, 6), 30, Unit.DAYS, roll_forward=False) == date(2025, 10, 6)


def test_a_closure_moves_the_count_for_its_office_only():
    closed = BusinessCalendar({(date(2025, 11, 4), "seoul-jongno"): "청사 정전"})
    assert closed.add_business_days(date(2025, 11, 3), 1, "seoul-jongno") == date(2025, 11, 5)
    assert closed.add_business_days(date(2025, 11, 3), 1, "busan-haeundae") == date(2025, 11, 4)
    assert closed.day_off(date(2025, 11, 4), "seoul-jongno") == "청사 정전"


def test_closures_over_the_api_change_the_calendar_and_its_version(client, login):
    admin, cw = login("admin"), login("caseworker")
    before = client.get("/calendar/deadline", headers=cw, params={"start": "2026-12-07", "amount": 1})
    assert before.status_code == 200, before.text
    assert before.json()["deadline"] == "2026-12-08"
    r = client.post("/calendar/closures", headers=admin, json={"day": "2026-12-08", "reason": "임시공휴일 (시험)"})
    assert r.status_code == 201, r.text
    after = client.get("/calendar/deadline", headers=cw, params={"start": "2026-12-07", "amount": 1}).json()
    assert after["deadline"] == "2026-12-09" and after["version"] != before.json()["version"]
    listed = client.get("/calendar", headers=cw, params={"start": "2026-12-07", "end": "2026-12-13"}).json()
    assert [(d["day"], d["why"]) for d in listed["days_off"]] == [
        ("2026-12-08", "임시공휴일 (시험)"), ("2026-12-12", "토요일"), ("2026-12-13", "일요일")]
    # Withdrawn, it stays in the history and the day is a business day again.
    closure = r.json()["id"]
    w = client.post(f"/calendar/closures/{closure}/withdraw", headers=admin, json={"reason": "입력 착오"})
    assert w.status_code == 200 and w.json()["withdrawn_by"] == "admin"
    again = client.get("/calendar/deadline", headers=cw, params={"start": "2026-12-07", "amount": 1}).json()
    assert again["deadline"] == "2026-12-08"
    assert [c["id"] for c in client.get("/calendar/closures", headers=cw).json()] == [closure]


def test_bad_calendar_input_is_refused_naming_the_field(client, login):
    admin = login("admin")

    def refused(method, url, status, field, **kwargs):
        r = client.request(method, url, headers=kwargs.pop("headers", admin), **kwargs)
        assert r.status_code == status and field in r.text, (url, r.status_code, r.text)

    refused("POST", "/calendar/closures", 403, "", headers=login("caseworker"),
            json={"day": "2026-12-08", "reason": "휴무"})
    refused("POST", "/calendar/closures", 422, "day", json={"day": "2026-13-01", "reason": "휴무"})
    refused("POST", "/calendar/closures", 422, "office", json={"day": "2026-12-08", "office": "nowhere",
                                                              "reason": "휴무"})
    refused("POST", "/calendar/closures", 422, "day", json={"day": "2035-01-02", "reason": "먼 훗날"})
    assert client.post("/calendar/closures", headers=admin, json={"day": "2026-12-08", "reason": "휴무"}).status_code \
        == 201
    refused("POST", "/calendar/closures", 422, "day", json={"day": "2026-12-08", "reason": "두 번"})
    refused("POST", "/calendar/closures/999999/withdraw", 404, "closure_id", json={"reason": "없음"})
    refused("GET", "/calendar/deadline", 422, "amount", params={"start": "2026-12-07", "amount": 0})
    refused("GET", "/calendar", 422, "end", params={"start": "2026-12-07", "end": "2026-01-01"})
