"""The case view (issue 14): a case's timeline, with a link to its process diagram."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import SessionDep
from api.pages import Worker, _page
from bokji.casefiles import service as casefiles
from bokji.instances import service as instances
from bokji.scope import policy

router = APIRouter(include_in_schema=False)


@router.get("/cases/{instance_id}")
def case_view(request: Request, instance_id: str, session: SessionDep, who: Worker) -> HTMLResponse:
    """What happened to the case, oldest first (no personal data: the grade of the instance itself)."""
    instance = instances.get_for(session, instance_id, who, policy.Grade.AGGREGATE)
    return _page(request, "case.html", who=who, instance=instance,
                 timeline=casefiles.timeline(session, instance.id))
