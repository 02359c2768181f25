"""The steps: every way an instance moves, each under the instance's lock in the caller's transaction.

- `start` (an API call, a timer start, a case of an application), `complete_task` (a person),
  `execute_job` / `complete_job` (a worker, an outside system), `fire_timers` (the scheduler),
  `correlate` (a message), `retry_incident` (an operator after a fix);
- `suspend`, `resume`, `cancel`: an operator stops or ends one;
- `deploy`: a deployment, and the instance each new timer-start version waits with;
- `apply`: one application, one case per service.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bokji import clock, registrations, words
from bokji.applications import service as applications
from bokji.applications.models import Application
from bokji.catalog.models import CatalogService
from bokji.clocks import service as clocks
from bokji.db import lock_record, utcnow
from bokji.definitions import service as definitions
from bokji.definitions.models import Definition
from bokji.entitlements import service as entitlements
from bokji.errors import Conflict, Forbidden, Invalid, NotFound
from bokji.i18n import gettext as _
from bokji.identity.service import Principal
from bokji.ids import parse_uuid
from bokji.instances import service as instances
from bokji.instances.models import ElementHistory, Incident, IncidentStatus, InstanceStatus, ProcessInstance
from bokji.jobs import service as jobs
from bokji.jobs.handlers import HandlerContext
from bokji.jobs.models import Job, JobStatus
from bokji.offices import service as offices
from bokji.registry.models import Person
from bokji.scope import policy
from bokji.steps.advance import advance_and_save, load_run
from bokji.tasks import service as tasks
from bokji.tasks.models import HumanTask
from processes.runtime import Run

TIMER_START = "system:timer-start"


# ---- starting ----------------------------------------------------------------------------------------
def start(session: Session, *, key: str, data: dict[str, Any], actor: Principal, business_key: str | None = None,
          version: int | None = None, office: str | None = None, ministry: str | None = None) -> ProcessInstance:
    """A new instance, run to its first wait state (its start may stop at a failing element: an incident).

    This is the platform starting one (an application's case, a timer start, code); a person's request
    goes through `start_requested`, which checks who may start what first. Whose case it is: the
    applicant's residence office when the data names an applicant, else `office`, the office the model
    declares, the starter's; the ministry given (the catalog service's), else the definition's."""
    if not isinstance(data, dict):
        raise Invalid(_("data must be a JSON object."), field="data")
    definition = definitions.get_version(session, key, version)
    specs = definitions.specs_of(session, definition)
    applicant = _applicant(session, data)
    if applicant is not None:
        office = applicant.office
    else:
        office = _declared_office(session, office or definition.office or actor.office)
    ministry = ministry or definition.ministry or actor.ministry
    if ministry is None:
        raise Invalid(_("Process '%(key)s' has no owning ministry; deploy it again with camunda:property "
                        "ministry.") % {"key": key}, field="key")
    instance = ProcessInstance(
        id=uuid.uuid4(), definition_id=definition.id, definition_key=definition.key,
        definition_version=definition.version, business_key=business_key, status=InstanceStatus.RUNNING,
        stage=None, office=office, ministry=ministry, started_by=actor.username, state="",
    )
    session.add(instance)
    session.flush()
    lock_record(session, "instance", instance.id)
    run = Run.start(specs, data, calculations=registrations.CALCULATIONS)
    advance_and_save(session, instance, run, actor=actor.username, step="start")
    return instance


def _applicant(session: Session, data: dict[str, Any]) -> Person | None:
    """The person the start data names as applicant (whose residence office the case belongs to)."""
    if data.get("applicant_id") is None:
        return None
    person = session.get(Person, parse_uuid(str(data["applicant_id"]), what="person", field="data.applicant_id"))
    if person is None:
        raise Invalid(_("data.applicant_id is not a registered person."), field="data.applicant_id")
    return person


def _declared_office(session: Session, declared: str | None) -> str:
    if declared is None:
        raise Invalid(_("office: the process has no applicant and declares no office; name the office the case "
                        "belongs to."), field="office")
    return offices.check(session, declared)


def start_requested(session: Session, *, key: str, data: dict[str, Any], actor: Principal,
                    business_key: str | None = None, version: int | None = None,
                    office: str | None = None) -> ProcessInstance:
    """A person (or system) asks to start a process: what the model declares decides. A module is only
    ever called; a service variant starts through an application; a stand-alone process starts for its
    candidate starters (admins only when it declares none), with the start variables it declares."""
    definition = definitions.get_version(session, key, version)
    kind = definition.process_kind or "process"
    if kind == "module":
        raise Forbidden(_("'%(key)s' is a module: it only runs when a service's process calls it.") % {"key": key},
                        field="key")
    if kind == "variant":
        raise Forbidden(_("'%(key)s' is a service's process: it starts through an application "
                          "(POST /applications).") % {"key": key}, field="key")
    starters = set(definition.starter_groups or ())
    may = actor.has_any(starters) or actor.username in (definition.starter_users or ()) or (
        not starters and not definition.starter_users and actor.has_any({"admin"}))
    if not may:
        who = ", ".join([words.name(words.ROLES, g) for g in sorted(starters)]
                        + sorted(definition.starter_users or ())) or words.name(words.ROLES, "admin")
        raise Forbidden(_("You may not start '%(key)s' (its candidate starters: %(starters)s).") % {
            "key": key, "starters": who}, field="key")
    if not isinstance(data, dict):
        raise Invalid(_("data must be a JSON object."), field="data")
    unknown = sorted(set(data) - set(definition.inputs or ()))
    if unknown:
        takes = ", ".join(definition.inputs or ()) or _("nothing")
        raise Invalid(_("%(field)s: '%(key)s' does not take this start variable (it takes: %(takes)s).") % {
            "field": f"data.{unknown[0]}", "key": key, "takes": takes}, field=f"data.{unknown[0]}")
    if office is not None and not actor.has_any({"admin"}):
        policy.check_own_office(session, actor, office)
    applicant = _applicant(session, data)
    if applicant is not None and not actor.has_any({"admin"}) and policy.grade(
            session, actor, policy.Kind.PERSON, office=applicant.office) < policy.Grade.CHANGE:
        raise Invalid(_("data.applicant_id is not a registered person."), field="data.applicant_id")  # as if unknown
    return start(session, key=key, data=data, actor=actor, business_key=business_key, version=definition.version,
                 office=office)


def apply(session: Session, body: Any, *, actor: Principal) -> Application:
    """One application → one case per service, in one commit (nothing is stored if a check fails)."""
    application, cases = applications.submit(session, body, actor=actor)
    for case in cases:
        instance = start(session, key=case.process_key, data=case.data, actor=actor, business_key=case.business_key,
                         office=case.office, ministry=case.ministry)
        applications.add_case(session, application, case, instance.id, actor=actor)
        clocks.start(session, instance_id=instance.id, application=application,
                     service=session.get(CatalogService, case.service_code), ministry=case.ministry,
                     actor=actor.username)
        if instance.status == InstanceStatus.COMPLETED:
            # Ended within its start (no job on the way, so no payment set up): its units are free again.
            entitlements.release(session, instance.id, reason=entitlements.ENDED_WITHOUT_GRANT)
    session.flush()
    return application


# ---- what an instance waits for ----------------------------------------------------------------------
def complete_task(session: Session, task_id: uuid.UUID | str, data: dict[str, Any], who: Principal) -> HumanTask:
    """Validate against the form (422 naming fields, nothing changed), then complete and advance; of two
    concurrent completions exactly one wins, the other gets 409."""
    task = tasks.get(session, task_id, who)
    tasks.check_open_for(task, who)
    cleaned = tasks.clean_submission(session, task, data)
    instance = instances.lock(session, task.instance_id)
    task = tasks.fresh(session, task.id)
    tasks.check_open_for(task, who)
    if instance.status != InstanceStatus.RUNNING:
        raise Conflict(_("The case is %(status)s: its tasks cannot be completed now.") % {
            "status": words.name(words.STATUSES, instance.status)},
                       field="task_id")
    tasks.check_four_eyes(session, task, who)
    run = load_run(session, instance)
    reason_field = run.human_task_property(str(task.id), "return_reason")  # see tasks.mark_returned
    opened_before = tasks.open_ids(session, instance.id)
    run.complete_human_task(str(task.id), cleaned)
    tasks.mark_completed(task, who, cleaned, session)
    advance_and_save(session, instance, run, actor=who.username, acted_on=str(task.id), step="task")
    if reason_field is not None:
        session.flush()
        tasks.mark_returned(session, instance.id, opened_since=opened_before, by=who.username,
                            reason=cleaned.get(reason_field))
    return task


def execute_job(session: Session, claim: jobs.Claim) -> str:
    """Run the job's handler and complete its task, in one transaction (the worker's step)."""
    job = session.get(Job, uuid.UUID(claim.job_id))
    handler = registrations.handlers().get(job.topic)
    if handler is None:
        raise LookupError(f"no handler is registered for topic '{job.topic}' in this worker")
    instance = instances.get(session, job.instance_id)
    ctx = HandlerContext(
        session=session, job_id=claim.job_id, instance_id=str(job.instance_id),
        business_key=instance.business_key, element_id=job.element_id, topic=job.topic,
        input=dict(job.input), attempt=claim.attempt,
    )
    result = jobs.json_safe(handler.run(ctx) or {}, job.topic)
    return complete_job(session, claim, result, actor=f"worker:{job.topic}")


def complete_job(session: Session, claim: jobs.Claim, result: dict[str, Any], *, actor: str) -> str:
    """Finish the claimed attempt: complete the engine task and advance, or raise AlreadyDone."""
    job = session.get(Job, uuid.UUID(claim.job_id))
    # Only now hold the instance: a slow handler never blocks other work on the case.
    instance = instances.lock(session, job.instance_id)
    job = jobs.finish_attempt(session, claim)
    if instance.status == InstanceStatus.SUSPENDED:
        raise jobs.Suspended(str(instance.id))  # rolls back the handler's writes; the worker releases the job
    if instance.status != InstanceStatus.RUNNING:
        job.status = JobStatus.CANCELLED
        return JobStatus.CANCELLED
    run = load_run(session, instance)
    try:
        run.complete_automated_task(job.task_id, result)
    except Conflict:
        job.status = JobStatus.CANCELLED  # the task left the instance (an interrupting event took it)
        return JobStatus.CANCELLED
    job.status, job.result = JobStatus.DONE, result
    advance_and_save(session, instance, run, actor=actor, acted_on=job.task_id, step="job")
    return JobStatus.DONE


def fire_timers(session: Session, instance_id: uuid.UUID) -> bool:
    """Let due timers of one instance fire and advance it. False if nothing was due any more."""
    instance = instances.lock(session, instance_id)
    if instance.status != InstanceStatus.RUNNING or instance.next_timer_at is None \
            or instance.next_timer_at > utcnow():
        return False
    advance_and_save(session, instance, load_run(session, instance), actor="system:timer", step="timer")
    return True


def correlate(session: Session, *, message: str, correlation_key: str, payload: dict[str, Any],
              actor: Principal) -> list[ProcessInstance]:
    """Deliver a message to the instances (by business key) that wait for it, durably, in one commit."""
    if not message:
        raise Invalid(_("messageName is required."), field="messageName")
    if not isinstance(payload, dict):
        raise Invalid(_("payload must be a JSON object."), field="payload")
    delivered = []
    for instance_id in instances.waiting_for(session, message=message, business_key=correlation_key):
        instance = instances.lock(session, instance_id)
        if message not in (instance.waiting_messages or []):
            continue  # someone else's message got there first
        if not actor.has_any({"integration", "admin"}) and policy.grade(
                session, actor, policy.Kind.CASE, office=instance.office, ministry=instance.ministry) \
                < policy.Grade.CHANGE:
            continue  # a person sends only to the cases in their scope
        if instance.status == InstanceStatus.SUSPENDED:
            raise Conflict(_("Instance %(id)s waiting for '%(message)s' is suspended.") % {
                "id": instance.id, "message": message}, field="correlationKey")
        run = load_run(session, instance)
        if run.correlate(message, _message_variables(run.message_contract(message), message, payload, actor)):
            advance_and_save(session, instance, run, actor=actor.username, step="message")
            delivered.append(instance)
    if not delivered:
        raise NotFound(_("No instance with business key '%(key)s' waits for message '%(message)s'.") % {
            "key": correlation_key, "message": message}, field="correlationKey", correlation_key=correlation_key,
            message_name=message)
    return delivered


def _message_variables(contract, message: str, payload: dict[str, Any], actor: Principal) -> dict[str, Any]:
    """The variables a message sets: only those the catching element maps from its payload, and only
    from a sender it names (integration systems also need the message among their grants)."""
    senders = set(contract.senders)
    if not (actor.has_any(senders) or actor.username in senders):
        senders_text = ", ".join(words.name(words.ROLES, s) for s in sorted(senders))
        if contract.element:
            text = _("Message '%(message)s' is sent by %(senders)s only (declared at '%(element)s').") % {
                "message": message, "senders": senders_text, "element": contract.element}
        else:
            text = _("Message '%(message)s' is sent by %(senders)s only (declared at its catching element).") % {
                "message": message, "senders": senders_text}
        raise Forbidden(text, field="messageName")
    if actor.has_any({"integration"}) and f"message:{message}" not in actor.grants:
        raise Forbidden(_("Message '%(message)s' is not among this system's grants.") % {"message": message},
                        field="messageName")
    mapping = dict(contract.payload)
    undeclared = sorted(set(payload) - set(mapping))
    if undeclared:
        allowed = ", ".join(sorted(mapping)) or _("nothing")
        raise Invalid(_("%(field)s: message '%(message)s' may not set this (its catching element '%(element)s' "
                        "maps: %(allowed)s).") % {"field": f"payload.{undeclared[0]}", "message": message,
                                                  "element": contract.element, "allowed": allowed},
                      field=f"payload.{undeclared[0]}")
    return {mapping[key]: value for key, value in payload.items()}


def retry_incident(session: Session, incident_id: uuid.UUID | str, *, actor: Principal,
                   reason: str | None, variables: dict[str, Any] | None = None) -> Incident:
    """Run a failed element again, after a fix: `variables` set in the data it runs on (Camunda's
    "set variables and retry"), a limit raised, an outage over. It may fail again: then a new incident
    opens for it. Recorded as an operator action with the names (not the values) of the variables.
    """
    for name in variables or {}:
        if not name.isidentifier() or name.startswith("_"):
            raise Invalid(_("%(field)s: a variable name is an identifier not starting with '_'.") % {
                "field": f"variables.{name}"}, field=f"variables.{name}")
    incident = instances.find_incident(session, incident_id)
    if incident is None:
        raise NotFound(_("Incident %(id)s not found.") % {"id": incident_id}, field="incident_id")
    _may_operate(session, incident.instance_id, actor)
    instance = instances.lock(session, incident.instance_id)
    session.refresh(incident)
    if incident.status != IncidentStatus.OPEN:
        raise Conflict(_("Incident %(id)s is %(status)s, not open.") % {
            "id": incident.id, "status": words.name(words.STATUSES, incident.status)}, field="incident_id",
            status=incident.status)
    if instance.status != InstanceStatus.RUNNING:
        raise Conflict(_("Instance %(id)s is %(status)s; resume it first.") % {
            "id": instance.id, "status": words.name(words.STATUSES, instance.status)}, field="incident_id",
            status=instance.status)
    run = load_run(session, instance)
    run.retry(incident.task_id, variables)
    now = utcnow()
    incident.status, incident.resolved_at, incident.resolved_by = IncidentStatus.RETRIED, now, actor.username
    session.flush()  # the partial unique index: the element may open a new incident below
    session.execute(update(ElementHistory)
                    .where(ElementHistory.instance_id == instance.id, ElementHistory.task_id == incident.task_id)
                    .values(outcome="open", ended_at=None, actor=None))
    instances.record(session, "retry_incident", instance, actor, reason, incident_id=str(incident.id),
                     element_id=incident.element_id, kind=incident.kind, variables=sorted(variables or {}))
    advance_and_save(session, instance, run, actor=actor.username, step="retry")
    return incident


# ---- operators ----------------------------------------------------------------------------------------
def _may_operate(session: Session, instance_id: uuid.UUID | str, actor: Principal) -> None:
    instances.get_for(session, instance_id, actor, policy.Grade.CHANGE,
                      kind=policy.Kind.OPERATION)


def suspend(session: Session, instance_id: str, *, actor: Principal, reason: str | None) -> ProcessInstance:
    _may_operate(session, instance_id, actor)
    instance = instances.lock(session, instance_id)
    if instance.status != InstanceStatus.RUNNING:
        raise Conflict(_("Instance %(id)s is %(status)s; only running instances can be suspended.") % {
            "id": instance.id, "status": words.name(words.STATUSES, instance.status)},
            field="instance_id", status=instance.status)
    instance.status = InstanceStatus.SUSPENDED
    instance.updated_at = utcnow()
    instances.record(session, "suspend", instance, actor, reason)
    return instance


def resume(session: Session, instance_id: str, *, actor: Principal, reason: str | None) -> ProcessInstance:
    _may_operate(session, instance_id, actor)
    instance = instances.lock(session, instance_id)
    if instance.status != InstanceStatus.SUSPENDED:
        raise Conflict(_("Instance %(id)s is %(status)s, not suspended.") % {
            "id": instance.id, "status": words.name(words.STATUSES, instance.status)}, field="instance_id",
            status=instance.status)
    instance.status = InstanceStatus.RUNNING
    instance.updated_at = utcnow()
    jobs.requeue_for_instance(session, instance.id)
    instances.record(session, "resume", instance, actor, reason)
    return instance


def cancel(session: Session, instance_id: str, *, actor: Principal, reason: str | None) -> ProcessInstance:
    """End the instance for good: its open tasks, jobs and incidents are cancelled (recorded)."""
    _may_operate(session, instance_id, actor)
    instance = instances.lock(session, instance_id)
    if instance.status not in (InstanceStatus.RUNNING, InstanceStatus.SUSPENDED):
        raise Conflict(_("Instance %(id)s is already %(status)s.") % {
            "id": instance.id, "status": words.name(words.STATUSES, instance.status)}, field="instance_id",
            status=instance.status)
    run = load_run(session, instance)
    run.cancel()
    now = utcnow()
    instance.status, instance.ended_at, instance.updated_at = InstanceStatus.CANCELLED, now, now
    instance.next_timer_at, instance.waiting_messages = None, []
    instance.state = run.save()
    session.execute(
        update(ElementHistory)
        .where(ElementHistory.instance_id == instance.id, ElementHistory.ended_at.is_(None))
        .values(ended_at=now, outcome="cancelled", actor=actor.username)
    )
    tasks.cancel_for_instance(session, instance.id)
    clocks.stop(session, instance.id, on=clock.today(), decided=False, actor=actor.username)
    jobs.cancel_for_instance(session, instance.id)
    instances.cancel_incidents(session, instance.id, actor=actor.username)
    entitlements.release(session, instance.id, reason=entitlements.CANCELLED)
    instances.record(session, "cancel", instance, actor, reason)
    return instance


# ---- deploying ----------------------------------------------------------------------------------------
def deploy(session: Session, files: dict[str, bytes], *, actor: str, source: str,
           ministry: str | None = None) -> definitions.DeployResult:
    """Store the new versions, and give each new timer-start version the instance that waits for its time."""
    result = definitions.deploy(session, files, actor=actor, source=source, ministry=ministry,
                                topics=registrations.handlers(), calculations=registrations.CALCULATIONS)
    for definition in result.timer_starts:
        _schedule_timer_start(session, definition)
    return result


def deploy_directory(session: Session, directory: Path, *, actor: str = "system") -> definitions.DeployResult | None:
    """Deploy the process library (all BPMN, DMN and form files of a folder) as one bundle; unchanged
    files are a no-op, so this runs at every start-up."""
    files = definitions.library_files(directory)
    return deploy(session, files, actor=actor, source="startup") if files else None


def _schedule_timer_start(session: Session, definition: Definition) -> None:
    """A process with a timer start event: one instance waits at that event for its time. The instance
    of an older version still waiting is cancelled, so only the latest version's timer fires (as in
    Camunda)."""
    system = Principal(TIMER_START, TIMER_START, frozenset({"admin"}), None, None)
    waiting = session.scalars(
        select(ProcessInstance.id).where(
            ProcessInstance.definition_key == definition.key,
            ProcessInstance.started_by == TIMER_START,
            ProcessInstance.status == InstanceStatus.RUNNING,
            select(ElementHistory.id).where(
                ElementHistory.instance_id == ProcessInstance.id,
                ElementHistory.element_type == "startEvent",
                ElementHistory.ended_at.is_(None),
            ).exists(),
        )
    ).all()
    for instance_id in waiting:
        cancel(session, str(instance_id), actor=system, reason=f"timer start replaced by version {definition.version}")
    start(session, key=definition.key, version=definition.version, data={}, actor=system)

