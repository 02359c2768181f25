from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.deps import CASEWORK, Id, Limit, SessionDep, requires
from api.routes.instances import IncidentBrief, incidents_of
from bokji.identity.service import Principal
from bokji.steps import service as steps
from bokji.tasks import service as tasks
from bokji.tasks.models import TaskStatus

router = APIRouter(prefix="/tasks", tags=["tasks"])
Worker = Annotated[Principal, Depends(requires(*CASEWORK))]


class TaskOut(BaseModel):
    id: str
    instance_id: str
    element_id: str
    name: str | None
    status: str
    stage: str | None
    candidate_groups: list[str]
    assignee: str | None
    office: str | None
    form_key: str | None
    due_at: datetime | None
    created_at: datetime
    completed_by: str | None = None
    completed_at: datetime | None = None
    returned_reason: str | None = None  # sent back to this task: why (e.g. the supervisor's comment)
    returned_by: str | None = None  # and by whom; when is created_at
    form: dict[str, Any] | None = None
    incidents: list[IncidentBrief] = []  # on completion: elements of the instance that failed after it


class CompleteIn(BaseModel):
    data: dict[str, Any] = Field(default_factory=dict)


DraftValue = Annotated[str, Field(max_length=20000)]


class DraftIn(BaseModel):
    """What the form holds so far, as the browser posts it: text per field, a list for a checklist."""
    data: dict[Annotated[str, Field(max_length=200)], DraftValue | list[DraftValue] | None] = Field(
        default_factory=dict, max_length=200)


class DraftOut(BaseModel):
    task_id: str
    username: str
    data: dict[str, Any]
    updated_at: datetime | None


def _draft_out(task_id: str, who: Principal, draft) -> DraftOut:
    if draft is None:
        return DraftOut(task_id=str(task_id), username=who.username, data={}, updated_at=None)
    return DraftOut(task_id=str(draft.task_id), username=draft.username, data=draft.data, updated_at=draft.updated_at)


def _out(task, form: dict | None = None) -> TaskOut:
    return TaskOut(
        id=str(task.id), instance_id=str(task.instance_id), element_id=task.element_id, name=task.name,
        status=task.status, stage=task.stage, candidate_groups=list(task.candidate_groups or []),
        assignee=task.assignee, office=task.office, form_key=task.form_key, due_at=task.due_at,
        created_at=task.created_at, completed_by=task.completed_by, completed_at=task.completed_at,
        returned_reason=task.returned_reason, returned_by=task.returned_by, form=form,
    )


@router.get("", response_model=list[TaskOut])
def my_tasks(session: SessionDep, who: Worker, status: TaskStatus = TaskStatus.OPEN,
             limit: Limit = 100) -> list[TaskOut]:
    """Tasks in my queue: my roles among the candidate groups, in my office; earliest due first."""
    return [_out(t) for t in tasks.list_for(session, who, status=status, limit=limit)]


@router.get("/{task_id}", response_model=TaskOut)
def get_task(task_id: Id, session: SessionDep, who: Worker) -> TaskOut:
    task = tasks.get(session, task_id, who)
    form = tasks.form_definition(session, task)
    return _out(task, form.raw if form is not None else None)


@router.post("/{task_id}/claim", response_model=TaskOut)
def claim(task_id: Id, session: SessionDep, who: Worker) -> TaskOut:
    """Take the task; 409 if someone else has it or it is done."""
    return _out(tasks.claim(session, task_id, who))


@router.post("/{task_id}/unclaim", response_model=TaskOut)
def unclaim(task_id: Id, session: SessionDep, who: Worker) -> TaskOut:
    return _out(tasks.unclaim(session, task_id, who))


@router.get("/{task_id}/draft", response_model=DraftOut)
def get_draft(task_id: Id, session: SessionDep, who: Worker) -> DraftOut:
    """My draft of the task's form (empty if none); 404 for a task outside my scope."""
    return _draft_out(task_id, who, tasks.get_draft(session, task_id, who))


@router.put("/{task_id}/draft", response_model=DraftOut)
def put_draft(task_id: Id, body: DraftIn, session: SessionDep, who: Worker) -> DraftOut:
    """Keep what I typed so far (the form page saves as it is typed); 409 once the task is done or
    someone else's. Deleted with the task's completion."""
    return _draft_out(task_id, who, tasks.save_draft(session, task_id, who, dict(body.data)))


@router.post("/{task_id}/complete", response_model=TaskOut)
def complete(task_id: Id, body: CompleteIn, session: SessionDep, who: Worker) -> TaskOut:
    """Validate against the task's form (422 naming fields), then complete; 409 if already done.

    Model code failing after the task (e.g. the next script) does not undo the completion: the
    instance stops at that element and `incidents` says which and how."""
    task = steps.complete_task(session, task_id, body.data, who)
    out = _out(task)
    out.incidents = incidents_of(session, task.instance_id)
    return out
