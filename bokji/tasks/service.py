"""Human tasks as rows: opening them from engine waits, listing, claiming, and the checks a
completion passes (the form, who may complete it, four eyes). Completing one is a step
(bokji/steps): it validates first (422 naming the fields, nothing changed), then takes the instance
lock and re-reads the task, so of two concurrent completions exactly one wins and the other gets 409,
whose message says who did what and when (`current_state`). Also: a person's draft of a task's form
(kept on the server, deleted with the completion), the case's next task after one, and the marking of
a task the case was sent back to (`mark_returned`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, object_session

from bokji import words
from bokji.db import utcnow
from bokji.definitions.models import Definition
from bokji.definitions.service import form_of
from bokji.errors import Conflict, Forbidden, Invalid, NotFound
from bokji.i18n import gettext as _
from bokji.identity.models import User
from bokji.identity.service import Principal
from bokji.ids import parse_uuid
from bokji.instances.models import OperatorAction, ProcessInstance
from bokji.privacy import access_log, purposes
from bokji.scope import policy
from bokji.tasks.models import HumanTask, TaskDraft, TaskStatus
from bokji.teams import service as teams
from forms.labels import seoul_time
from forms.schema import FormDefinition
from processes.timing import due_at


def open_for(session: Session, instance, waits, *, now: datetime, case: dict[str, Any] | None = None) -> None:
    """Rows for the tasks the engine now waits for. `case` is what the queues show of the instance's catalog
    case (service_code, application_number, applicant_id; none for other processes); the team is the one of
    the instance's office that takes the service."""
    if not waits:
        return
    case = case or {}
    team_id = teams.team_for(session, instance.office, case.get("service_code"))
    for wait in waits:
        session.execute(
            insert(HumanTask)
            .values(
                id=uuid.UUID(wait.task_id), instance_id=instance.id, element_id=wait.element_id,
                name=wait.name, candidate_groups=wait.candidate_groups,
                candidate_users=wait.candidate_users, assignee=wait.assignee, form_key=wait.form_key,
                four_eyes_of=wait.four_eyes,
                stage=wait.stage or instance.stage, office=instance.office, status=TaskStatus.OPEN,
                due_at=due_at(wait.due, now), created_at=now, team_id=team_id, **case,
            )
            .on_conflict_do_nothing(index_elements=["id"])
        )


def cancel_tasks(session: Session, task_ids: list[str]) -> None:
    ids = [uuid.UUID(t) for t in task_ids]
    session.execute(
        update(HumanTask)
        .where(HumanTask.id.in_(ids), HumanTask.status == TaskStatus.OPEN)
        .values(status=TaskStatus.CANCELLED, completed_at=utcnow())
    )
    session.execute(delete(TaskDraft).where(TaskDraft.task_id.in_(ids)))  # typed text of a task no one will do


def cancel_for_instance(session: Session, instance_id: uuid.UUID) -> None:
    session.execute(
        update(HumanTask)
        .where(HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.OPEN)
        .values(status=TaskStatus.CANCELLED, completed_at=utcnow())
    )
    session.execute(delete(TaskDraft).where(
        TaskDraft.task_id.in_(select(HumanTask.id).where(HumanTask.instance_id == instance_id))))


def may_work_on(task: HumanTask, who: Principal, standing_in_for: frozenset[str] = frozenset()) -> bool:
    """Least privilege within the office: the task's candidate groups/users (or its assignee), or those of
    someone `who` substitutes for today."""
    people = {who.username, *standing_in_for}
    if task.assignee in people or people & set(task.candidate_users or []):
        return True
    if task.candidate_groups:
        return who.has_any(set(task.candidate_groups))
    return who.has_any({"caseworker", "supervisor"})


def get(session: Session, task_id: uuid.UUID | str, who: Principal) -> HumanTask:
    task = _scoped(session, task_id, who)
    if not may_work_on(task, who, teams.standing_in_for(session, who.username)):
        raise Forbidden(_("This task is not in your queue (it is for %(groups)s at %(office)s).") % {
            "groups": ", ".join(words.name(words.ROLES, g) for g in task.candidate_groups or []),
            "office": task.office}, field="task_id")
    return task


def list_for(session: Session, who: Principal, *, status: str = TaskStatus.OPEN, limit: int = 100) -> list[HumanTask]:
    query = (
        select(HumanTask)
        .where(HumanTask.status == status)
        .where(policy.visible(session, who, policy.Kind.CASE, policy.Grade.CHANGE, HumanTask.office))
        .where(
            or_(
                HumanTask.candidate_groups.overlap(sorted(who.roles)),
                HumanTask.candidate_users.any(who.username),
                HumanTask.assignee == who.username,
            )
        )
        .order_by(HumanTask.due_at.asc().nulls_last(), HumanTask.created_at)
        .limit(min(limit, 500))
    )
    return list(session.scalars(query))


def claim(session: Session, task_id: uuid.UUID | str, who: Principal) -> HumanTask:
    """Take the task: unclaimed, already mine, or claimed by someone I substitute for today (taken over)."""
    task = get(session, task_id, who)
    takeable = [who.username, *sorted(teams.standing_in_for(session, who.username))]
    claimed = session.execute(
        update(HumanTask)
        .where(HumanTask.id == task.id, HumanTask.status == TaskStatus.OPEN,
               or_(HumanTask.assignee.is_(None), HumanTask.assignee.in_(takeable)))
        .values(assignee=who.username, claimed_at=utcnow())
        .returning(HumanTask.id)
    ).scalar()
    if claimed is None:
        session.refresh(task)
        raise _not_open(task, who)
    session.refresh(task)
    return task


def unclaim(session: Session, task_id: uuid.UUID | str, who: Principal) -> HumanTask:
    task = get(session, task_id, who)
    released = session.execute(
        update(HumanTask)
        .where(HumanTask.id == task.id, HumanTask.status == TaskStatus.OPEN, HumanTask.assignee == who.username)
        .values(assignee=None, claimed_at=None)
        .returning(HumanTask.id)
    ).scalar()
    if released is None:
        session.refresh(task)
        raise _not_open(task, who)
    session.refresh(task)
    return task


def reassign(session: Session, task_id: uuid.UUID | str, who: Principal, *, to: str, reason: str) -> HumanTask:
    """A supervisor (or the task's team lead) gives an open task to a colleague of the office who may work
    on it and, under four eyes, did not complete the step the task checks. Recorded with the reason."""
    task = _scoped(session, task_id, who)
    if not (who.has_any({"supervisor", "admin"}) or teams.leads(session, who.username, task.team_id)):
        raise Forbidden(_("Only a supervisor or the team lead sets substitutes and reassigns tasks."),
                        field="task_id")
    if task.status != TaskStatus.OPEN:
        raise _not_open(task, who)
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise Invalid(_("Say why the task is given to someone else (at least 2 characters)."), field="reason")
    target = next((u for u in teams.office_staff(session, who) if u.username == to), None)
    if target is None or target.office not in policy.offices_of(session, who):
        raise Invalid(words.not_found("user", to), field="to")
    colleague = Principal.of(target)
    if not may_work_on(task, colleague):
        raise Invalid(_("%(name)s may not work on this task (it is for %(groups)s).") % {
            "name": target.display_name,
            "groups": ", ".join(words.name(words.ROLES, g) for g in task.candidate_groups or [])}, field="to")
    if _completed_checked_step(session, task, to):
        raise Invalid(_("Four eyes: %(name)s completed '%(element)s' of this case, so this task cannot go to "
                        "them.") % {"name": target.display_name, "element": task.four_eyes_of}, field="to",
                      four_eyes_of=task.four_eyes_of)
    before = task.assignee
    session.execute(update(HumanTask).where(HumanTask.id == task.id)
                    .values(assignee=to, claimed_at=utcnow()))
    session.add(OperatorAction(action="reassign_task", instance_id=task.instance_id, actor=who.username,
                               reason=reason, detail={"task_id": str(task.id), "from": before, "to": to}))
    session.refresh(task)
    return task


def _scoped(session: Session, task_id: uuid.UUID | str, who: Principal) -> HumanTask:
    """The task if `who` may change cases of its office (404 otherwise, as for an unknown id)."""
    task = session.get(HumanTask, _uuid(task_id))
    if task is None:
        raise NotFound(_("Task %(id)s not found.") % {"id": task_id}, field="task_id")
    policy.require(session, who, policy.Kind.CASE, policy.Grade.CHANGE, office=task.office, what="task",
                   ident=task_id, field="task_id")
    return task


def form_definition(session: Session, task: HumanTask) -> FormDefinition | None:
    """The task's form, as stored with the deployment the instance runs on."""
    if not task.form_key:
        return None
    instance = session.get(ProcessInstance, task.instance_id)
    definition = session.get(Definition, instance.definition_id)
    raw = form_of(session, definition.deployment_id, task.form_key)
    return FormDefinition.from_dict(raw) if raw is not None else None


def check_open_for(task: HumanTask, who: Principal) -> None:
    """409 unless the task is open and not claimed by somebody else."""
    if task.status != TaskStatus.OPEN or (task.assignee and task.assignee != who.username):
        raise _not_open(task, who)


def clean_submission(session: Session, task: HumanTask, data: dict[str, Any]) -> dict[str, Any]:
    """The submission checked against the task's form (422 naming every bad field)."""
    form = form_definition(session, task)
    if form is not None:
        return form.validate(data)
    if data:
        # A task without a form is a confirmation: its data would become process variables unchecked.
        raise Invalid(_("Task %(id)s has no form, so it takes no data (got %(fields)s).") % {
            "id": task.id, "fields": ", ".join(sorted(data))}, field="data")
    return {}


def fresh(session: Session, task_id: uuid.UUID) -> HumanTask:
    """The task as committed now (read again after the instance's lock was taken)."""
    return session.scalars(
        select(HumanTask).where(HumanTask.id == task_id).execution_options(populate_existing=True)
    ).one()


def mark_completed(task: HumanTask, who: Principal, submission: dict[str, Any], session: Session | None = None) -> None:
    """Completed by `who`; its drafts (everyone's) go in the same transaction."""
    if session is not None:
        session.execute(delete(TaskDraft).where(TaskDraft.task_id == task.id))
    task.status = TaskStatus.COMPLETED
    task.completed_at = utcnow()
    task.completed_by = who.username
    task.assignee = task.assignee or who.username
    task.submission = submission


def check_four_eyes(session: Session, task: HumanTask, who: Principal) -> None:
    """A second approval is only one if somebody else gives it (e.g. the supervisor's 결재)."""
    if _completed_checked_step(session, task, who.username):
        raise Forbidden(_("Four eyes: you completed '%(element)s' of this case, so someone else must complete "
                          "this task.") % {"element": task.four_eyes_of}, field="task_id",
                        four_eyes_of=task.four_eyes_of)


def _completed_checked_step(session: Session, task: HumanTask, username: str) -> bool:
    """Whether `username` completed the step of this case that `task` checks under four eyes."""
    if not task.four_eyes_of:
        return False
    return session.scalars(select(HumanTask.id).where(
        HumanTask.instance_id == task.instance_id, HumanTask.element_id == task.four_eyes_of,
        HumanTask.status == TaskStatus.COMPLETED, HumanTask.completed_by == username).limit(1)).first() is not None


def _not_open(task: HumanTask, who: Principal) -> Conflict:
    return Conflict(current_state(task), field="task_id", status=task.status, assignee=task.assignee,
                    completed_by=task.completed_by,
                    at=(task.completed_at or task.claimed_at).isoformat() if task.completed_at or task.claimed_at
                    else None)


def display_name(session: Session | None, username: str | None) -> str:
    """"홍길동 (caseworker2)": how a colleague is named on a page (their username alone if unknown)."""
    if not username:
        return "–"
    user = session.scalars(select(User).where(User.username == username)).first() if session is not None else None
    return f"{user.display_name} ({username})" if user is not None and user.display_name else username


def current_state(task: HumanTask, session: Session | None = None) -> str:
    """Who did what to the task, when, in the reader's language (what a conflict tells the loser)."""
    session = session if session is not None else object_session(task)
    if task.status == TaskStatus.COMPLETED:
        return _("%(who)s completed this task at %(when)s.") % {
            "who": display_name(session, task.completed_by), "when": seoul_time(task.completed_at)}
    if task.status == TaskStatus.CANCELLED:
        return _("This task was cancelled at %(when)s (the case moved on without it).") % {
            "when": seoul_time(task.completed_at)}
    if task.assignee:
        return _("%(who)s claimed this task at %(when)s.") % {
            "who": display_name(session, task.assignee), "when": seoul_time(task.claimed_at)}
    return _("This task is open.")


# ---- drafts ---------------------------------------------------------------------------------------------
def get_draft(session: Session, task_id: uuid.UUID | str, who: Principal) -> TaskDraft | None:
    """My draft of the task's form, if I saved one (under the same checks as the task)."""
    task = get(session, task_id, who)
    draft = session.get(TaskDraft, (task.id, who.username))
    if draft is not None:
        _log_draft(session, task, who, "read_task_draft")
    return draft


def save_draft(session: Session, task_id: uuid.UUID | str, who: Principal, data: dict[str, Any]) -> TaskDraft:
    """Keep what I typed so far (not validated: a draft may be half-done); only the form's own fields,
    and only while the task is open and not someone else's."""
    task = get(session, task_id, who)
    check_open_for(task, who)
    return store_draft(session, task, who, data)


def store_draft(session: Session, task: HumanTask, who: Principal, data: dict[str, Any]) -> TaskDraft:
    form = form_definition(session, task)
    known = {c.key for c in form.fields} if form is not None else set()
    unknown = sorted(k for k in data if k not in known)
    if unknown:
        raise Invalid(_("%(field)s: the task's form has no such field.") % {"field": f"data.{unknown[0]}"},
                      field=f"data.{unknown[0]}")
    now = utcnow()
    _log_draft(session, task, who, "save_task_draft")
    session.execute(
        insert(TaskDraft).values(task_id=task.id, username=who.username, data=data, updated_at=now)
        .on_conflict_do_update(index_elements=["task_id", "username"], set_={"data": data, "updated_at": now}))
    return session.get(TaskDraft, (task.id, who.username), populate_existing=True)


def _log_draft(session: Session, task: HumanTask, who: Principal, action: str) -> None:
    """A draft holds what a person typed about a case: its reads and saves are logged with the case."""
    instance = session.get(ProcessInstance, task.instance_id)
    access_log.record(session, who.username, purpose=purposes.of_case(instance.business_key, instance.id),
                      action=action, instance_id=instance.id)


# ---- after completing -------------------------------------------------------------------------------------
def next_for(session: Session, instance_id: uuid.UUID, who: Principal) -> HumanTask | None:
    """The next open task of the same case that this person may work on now (their queue, not claimed
    by another, not refused by four eyes), if any."""
    candidates = session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.OPEN,
                                or_(HumanTask.assignee.is_(None), HumanTask.assignee == who.username))
        .order_by(HumanTask.created_at)).all()
    for task in candidates:
        if not may_work_on(task, who):
            continue
        try:
            check_four_eyes(session, task, who)
        except Forbidden:
            continue
        return task
    return None


# ---- returns ----------------------------------------------------------------------------------------------
def mark_returned(session: Session, instance_id: uuid.UUID, *, opened_since: set[uuid.UUID], by: str,
                  reason: Any) -> list[HumanTask]:
    """Mark the tasks a completion sent the case back to.

    The rule, generic over models: a user task may declare `<camunda:property name="return_reason"
    value="<field of its form>"/>` (e.g. the supervisor's approval: `supervisor_comment`). When a task
    declaring it is completed and the advance opens a user task for an element this instance has already
    completed once (the flow went back, as a supervisor's "return" to `review` does), that new task carries
    the field's value as `returned_reason` and the completer as `returned_by`; when is its `created_at`.
    A task opened for the first time, or after a task that declares no reason field, is not a return.
    """
    text = str(reason).strip() if reason is not None else ""
    if not text:
        return []
    opened = session.scalars(select(HumanTask).where(
        HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.OPEN,
        HumanTask.id.not_in(opened_since) if opened_since else HumanTask.id.is_not(None))).all()
    marked = []
    for task in opened:
        done_before = session.scalars(select(HumanTask.id).where(
            HumanTask.instance_id == instance_id, HumanTask.element_id == task.element_id,
            HumanTask.status == TaskStatus.COMPLETED).limit(1)).first()
        if done_before is not None:
            task.returned_reason, task.returned_by = text, by
            marked.append(task)
    return marked


def open_ids(session: Session, instance_id: uuid.UUID) -> set[uuid.UUID]:
    return set(session.scalars(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                         HumanTask.status == TaskStatus.OPEN)))


def previous_completion(session: Session, task: HumanTask, element_id: str) -> HumanTask | None:
    """The latest completed task of `element_id` in the task's instance (e.g. the review an approval
    rests on)."""
    return session.scalars(select(HumanTask).where(
        HumanTask.instance_id == task.instance_id, HumanTask.element_id == element_id,
        HumanTask.status == TaskStatus.COMPLETED).order_by(HumanTask.completed_at.desc()).limit(1)).first()


def _uuid(value: uuid.UUID | str) -> uuid.UUID:
    return parse_uuid(value, what="task", field="task_id")
