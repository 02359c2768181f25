"""1,000 double-completion races on user tasks: exactly one winner each, each instance advanced once."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select, text

from bokji.db import unit_of_work
from bokji.errors import Conflict
from bokji.identity.models import User
from bokji.identity.service import Principal
from bokji.steps import service as steps
from bokji.tasks.models import HumanTask

RACES = 1000


def test_thousand_double_completions_have_exactly_one_winner(deploy):
    deploy("review_and_pay.bpmn")
    with unit_of_work() as session:
        who = Principal.of(session.scalar(select(User).where(User.username == "caseworker")))
        for i in range(RACES):
            steps.start(session, key="review_and_pay", business_key=f"R-{i}", data={}, actor=who)
    with unit_of_work() as session:
        task_ids = [str(t) for t in session.scalars(select(HumanTask.id).where(HumanTask.status == "open"))]
    assert len(task_ids) == RACES

    def complete(task_id: str) -> str:
        try:
            with unit_of_work() as session:
                steps.complete_task(session, task_id, {"decision": "reject", "comment": "race"}, who)
            return "won"
        except Conflict:
            return "lost"

    # Both attempts of a task are submitted next to each other, so they run at the same time.
    attempts = [t for t in task_ids for _ in range(2)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(complete, attempts))
    per_task: dict[str, Counter] = {}
    for task_id, outcome in zip(attempts, outcomes, strict=True):
        per_task.setdefault(task_id, Counter())[outcome] += 1
    assert all(c == Counter({"won": 1, "lost": 1}) for c in per_task.values())
    with unit_of_work() as session:
        ends = session.execute(text(
            "SELECT count(*), count(DISTINCT instance_id) FROM element_history WHERE element_id = 'end_rejected'"
        )).one()
        assert tuple(ends) == (RACES, RACES)
        assert session.scalar(text("SELECT count(*) FROM process_instance WHERE status = 'completed'")) == RACES
