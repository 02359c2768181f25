"""Loading a run for a step, and writing what an advance changed.

`advance_and_save` runs the engine to its next wait state and writes everything that changed in one
go: the element history, the human tasks and jobs it now waits for, the incidents of elements that
failed, and the state. The caller holds the instance's lock.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from bokji import clock, logs, metrics, registrations
from bokji.applications.models import Application, ApplicationCase
from bokji.clocks import service as clocks
from bokji.db import utcnow
from bokji.entitlements import service as entitlements
from bokji.instances import service as instances
from bokji.instances.models import ElementHistory, Incident, IncidentStatus, InstanceStatus, ProcessInstance
from bokji.jobs import service as jobs
from bokji.tasks import service as tasks
from processes.runtime import Run

CAUGHT_BY_THE_STEP = ("startEvent", "intermediateCatchEvent", "boundaryEvent", "receiveTask")


def _queue_facts(session: Session, instance_id: uuid.UUID) -> dict[str, Any]:
    """What the queues show of the instance's case: its service, application and applicant (none for a
    process that is not a catalog service's case)."""
    row = session.execute(
        select(ApplicationCase.service_code, Application.number, Application.applicant_id)
        .join(Application, Application.id == ApplicationCase.application_id)
        .where(ApplicationCase.instance_id == instance_id)).first()
    if row is None:
        return {}
    return {"service_code": row.service_code, "application_number": row.number, "applicant_id": row.applicant_id}


def load_run(session: Session, instance: ProcessInstance) -> Run:
    """The run of a locked instance, with the calculations its business rule tasks may call."""
    return instances.load_run(session, instance, calculations=registrations.CALCULATIONS)


def advance_and_save(
    session: Session, instance: ProcessInstance, run: Run, *, actor: str, acted_on: str | None = None,
    step: str = "other",
) -> None:
    """Run the engine to its next wait state and write everything that changed.

    `acted_on` is the engine task the actor just completed; its history row gets the actor's name. `step`
    names the kind of step for the latency histogram (start, task, job, timer, message, retry); the log
    lines written meanwhile carry the instance's id.
    """
    started = time.perf_counter()
    with logs.bound(instance_id=str(instance.id)):
        try:
            _advance_and_save(session, instance, run, actor=actor, acted_on=acted_on)
        finally:
            metrics.ENGINE_STEP_SECONDS.labels(step).observe(time.perf_counter() - started)


def _advance_and_save(session: Session, instance: ProcessInstance, run: Run, *, actor: str,
                      acted_on: str | None) -> None:
    result = run.advance()
    now = utcnow()
    # One statement for all rows entered and one per (outcome, actor) for rows left: an advance
    # touches several elements, and round trips, not the engine, dominate a step's cost.
    new_rows: list[dict[str, Any]] = []
    closed: dict[tuple[str, str], list[str]] = {}
    for event in result.events:
        # The actor's own task, the start, and the events this step delivered (a due timer, a message)
        # carry the actor's name; whatever the engine did on from there, "system".
        who = actor if event.task_id == acted_on or event.element_type in CAUGHT_BY_THE_STEP else "system"
        if event.started:
            if event.stage:  # entering an element that declares a stage moves the instance there
                instance.stage = event.stage
            new_rows.append(dict(
                instance_id=instance.id, task_id=event.task_id, element_id=event.element_id,
                element_type=event.element_type, name=event.name, stage=instance.stage,
                actor=who if event.ended else None, outcome=event.outcome, started_at=now,
                ended_at=now if event.ended else None, parent_task_id=event.parent_task_id,
            ))
        elif event.ended:
            closed.setdefault((event.outcome, who), []).append(event.task_id)
    if new_rows:
        session.execute(insert(ElementHistory).values(new_rows)
                        .on_conflict_do_nothing(index_elements=["instance_id", "task_id"]))
    for (outcome, who), task_ids in closed.items():
        session.execute(
            update(ElementHistory)
            .where(ElementHistory.instance_id == instance.id, ElementHistory.task_id.in_(task_ids))
            .values(ended_at=now, outcome=outcome, actor=who)
        )
    cancelled = [e.task_id for e in result.events if e.outcome == "cancelled"]
    if cancelled:  # e.g. an interrupting boundary timer took a user or service task away
        tasks.cancel_tasks(session, cancelled)
        jobs.cancel_for_tasks(session, instance.id, cancelled)
    if result.human:
        tasks.open_for(session, instance, result.human, now=now, case=_queue_facts(session, instance.id))
    jobs.create_for(session, instance.id, result.automated, handled=registrations.handlers())
    clocks.on_advance(session, instance.id, opened=[(w.element_id, w.name) for w in result.human],
                      ended=[e.element_id for e in result.events if e.ended and e.outcome == "completed"])
    for incident in result.incidents:
        session.execute(
            insert(Incident)
            .values(id=uuid.uuid4(), instance_id=instance.id, task_id=incident.task_id,
                    element_id=incident.element_id, element_name=incident.name, kind=incident.kind,
                    message=incident.message,
                    status=IncidentStatus.OPEN, created_at=now)
            .on_conflict_do_nothing(index_elements=["instance_id", "task_id"], index_where=text("status = 'open'"))
        )
    instance.next_timer_at = result.next_timer_at
    instance.waiting_messages = result.waiting_messages
    if result.completed:
        instance.status = InstanceStatus.COMPLETED
        instance.ended_at = now
        instance.next_timer_at = None
        instance.waiting_messages = []
        tasks.cancel_for_instance(session, instance.id)
        # A case that ends with its units still open was never granted: they are free for a new application.
        entitlements.release(session, instance.id, reason=entitlements.ENDED_WITHOUT_GRANT)
        clocks.stop(session, instance.id, on=clock.today(), decided=False)  # no-op once a decision stopped it
    instance.state = run.save()
    instance.updated_at = now
