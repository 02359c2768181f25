"""A case's timeline: the elements it went through (bokji/instances element history), who completed its
tasks (bokji/tasks) and which automated steps ran and how (bokji/jobs). The access log is not the timeline:
it records reads, not what was done."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bokji.applications import service as applications
from bokji.applications.models import ApplicationCase
from bokji.casefiles.models import CaseDocument, CaseNote
from bokji.catalog.models import CatalogService
from bokji.definitions.models import Definition
from bokji.definitions.service import diagram as definition_diagram
from bokji.errors import Invalid, NotFound
from bokji.i18n import gettext as _
from bokji.identity.service import Principal
from bokji.ids import get_or_404
from bokji.instances import service as instances
from bokji.instances.models import ProcessInstance
from bokji.jobs.models import Job
from bokji.linkage import service as evidence
from bokji.notices.models import DecisionNotice
from bokji.privacy import access_log, purposes
from bokji.registry.models import Person
from bokji.tasks.models import HumanTask, TaskStatus
from bokji.words import not_found
from processes.diagram import add_diagram, file_defining, process_graph


@dataclass(frozen=True)
class TimelineEntry:
    element_id: str
    element_type: str
    name: str | None
    stage: str | None
    outcome: str  # open | completed | cancelled | error (as the element history records it)
    started_at: datetime
    ended_at: datetime | None
    by: str | None  # the user who completed a task; None for automated steps
    automated: bool  # a service task run by a worker (bokji/jobs)
    attempts: int | None  # of an automated step
    error: str | None  # an automated step's last error, as operators and workers see it (no stack)


def timeline(session: Session, instance_id: uuid.UUID) -> list[TimelineEntry]:
    """Oldest first. The caller has checked scope (bokji.instances.service.get_for)."""
    tasks = {t.element_id: t for t in session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance_id).order_by(HumanTask.created_at))}
    jobs = {j.element_id: j for j in session.scalars(
        select(Job).where(Job.instance_id == instance_id).order_by(Job.created_at))}
    entries = []
    for h in instances.history(session, instance_id):
        if "Gateway" in h.element_type and not h.name:
            continue  # routing the designer did not name: not something that happened to the case
        task, job = tasks.get(h.element_id), jobs.get(h.element_id)
        entries.append(TimelineEntry(
            element_id=h.element_id, element_type=h.element_type, name=h.name, stage=h.stage,
            outcome=h.outcome, started_at=h.started_at, ended_at=h.ended_at,
            by=(task.completed_by if task else None) or h.actor,
            # a worker's step (a job, or the engine moving on for it): no person to name
            automated=job is not None or (h.actor or "").startswith(("worker:", "system")),
            attempts=job.attempts if job else None, error=job.last_error if job else None))
    return entries


# ---- the diagram with the case's markers ----------------------------------------------------------------
@dataclass(frozen=True)
class CaseDiagram:
    """A process's BPMN with what this case did in it: elements completed, open (waiting or stopped) and
    cancelled, the sequence flows taken, and for each call activity the link to the called module's
    diagram (with that call's own markers when it ran). Element and flow ids only: no engine state."""

    key: str
    name: str | None
    file: str
    xml: str
    call: str  # the path of call activities from the case's process to this one ("" at the top)
    ran: bool  # a called module: whether this call started at all
    completed: list[str]
    open: list[str]
    cancelled: list[str]
    flows: list[str]
    calls: dict[str, dict[str, object]]  # call activity id -> {"module", "href", "ran"}

    def markers(self) -> dict[str, object]:
        """What the page's script reads (a JSON data block)."""
        return {"completed": self.completed, "open": self.open, "cancelled": self.cancelled,
                "flows": self.flows, "calls": self.calls}


def _in_scope(rows: list, parent: str | None, embedded: set[str]) -> list:
    """The rows of one process run: those directly inside `parent` (the call's task id; None at the top),
    and those inside its embedded sub-processes (drawn in the same diagram)."""
    found = [r for r in rows if r.parent_task_id == parent]
    inner = {r.task_id for r in found if r.element_id in embedded}
    while inner:
        more = [r for r in rows if r.parent_task_id in inner]
        found += more
        inner = {r.task_id for r in more if r.element_id in embedded}
    return found


def diagram(session: Session, instance, call: str | None = None) -> CaseDiagram:
    """The case's process (or, with `call` = "a/b", the module that call activity b of the module called by
    a ran) drawn with the case's markers. 404 naming `call` for a path that is not a call activity."""
    definition = session.get(Definition, instance.definition_id)
    files = definition.deployment.files
    rows = instances.history(session, instance.id)
    key, parent, ran = instance.definition_key, None, True
    path = [p for p in (call or "").split("/") if p]
    found = file_defining(files, key)
    if found is None:  # the instance's own definition: draw it as the definitions page does
        d = definition_diagram(session, key, instance.definition_version)
        found = (d.file, d.xml)
    for i, element_id in enumerate(path):
        graph = process_graph(found[1], key) or {"calls": {}, "subprocesses": []}
        module = graph["calls"].get(element_id)
        if module is None:
            raise NotFound(_("'%(call)s' is not a call activity of this case's process.") % {
                "call": "/".join(path[:i + 1])}, field="call")
        scope = _in_scope(rows, parent, set(graph["subprocesses"])) if ran else []
        runs = [r for r in scope if r.element_id == element_id]
        ran, parent = bool(runs), (runs[-1].task_id if runs else None)  # the latest run of that call
        key = module
        found = file_defining(files, key)
        if found is None:  # a module deployed apart from the case's process: its latest version
            d = definition_diagram(session, key)
            found = (d.file, d.xml)
    graph = process_graph(found[1], key) or {"flows": [], "calls": {}, "subprocesses": []}
    scope = _in_scope(rows, parent, set(graph["subprocesses"])) if ran else []
    by_element: dict[str, set[str]] = {}
    for r in scope:
        by_element.setdefault(r.element_id, set()).add(r.outcome)
    open_ = sorted(e for e, o in by_element.items() if o & {"open", "error"})
    completed = sorted(e for e, o in by_element.items() if "completed" in o and e not in open_)
    cancelled = sorted(e for e, o in by_element.items() if o == {"cancelled"})
    done = set(completed) | {e for e, o in by_element.items() if "completed" in o}
    flows = [f for f, src, dst in graph["flows"] if src in done and dst in by_element]
    prefix = "/".join(path)
    calls = {e: {"module": m, "ran": e in by_element,
                 "href": f"/cases/{instance.id}/diagram?call={prefix + '/' if prefix else ''}{e}"}
             for e, m in graph["calls"].items()}
    name = session.scalar(select(Definition.name).where(Definition.key == key)
                          .order_by(Definition.version.desc()).limit(1))
    xml = add_diagram(found[1].encode()).decode()  # a model written without a drawing is laid out to show
    return CaseDiagram(key=key, name=name, file=found[0], xml=xml, call=prefix, ran=ran,
                       completed=completed, open=open_, cancelled=cancelled, flows=flows, calls=calls)


# ---- notes and documents ------------------------------------------------------------------------------
MAX_NOTE = 4000
MAX_DOCUMENT = 10 * 1024 * 1024
# What a case document may be, found by its first bytes (a name can say anything): type, extensions.
SIGNATURES: list[tuple[bytes, str, tuple[str, ...]]] = [
    (b"%PDF-", "application/pdf", (".pdf",)),
    (b"\x89PNG\r\n\x1a\n", "image/png", (".png",)),
    (b"\xff\xd8\xff", "image/jpeg", (".jpg", ".jpeg")),
]


def add_note(session: Session, instance_id: uuid.UUID, *, author: str, text: str) -> CaseNote:
    body = (text or "").strip()
    if not body:
        raise Invalid(_("text: write the note first."), field="text")
    if len(body) > MAX_NOTE:
        raise Invalid(_("text: a note is at most %(limit)s characters (this one has %(length)s).") % {
            "limit": MAX_NOTE, "length": len(body)}, field="text")
    note = CaseNote(instance_id=instance_id, author=author, text=body)
    session.add(note)
    session.flush()
    return note


def notes(session: Session, instance_id: uuid.UUID) -> list[CaseNote]:
    """Newest first."""
    return list(session.scalars(select(CaseNote).where(CaseNote.instance_id == instance_id)
                                .order_by(CaseNote.created_at.desc(), CaseNote.id.desc())))


def content_type_of(filename: str, content: bytes) -> str:
    """The document's type from its first bytes, when its name's extension says the same; else 422
    naming the file and why."""
    name = filename or "?"
    if not content:
        raise Invalid(_("%(file)s: the file is empty.") % {"file": name}, field="file", file=name)
    if len(content) > MAX_DOCUMENT:
        raise Invalid(_("%(file)s: the file is larger than %(limit)s MB.") % {
            "file": name, "limit": MAX_DOCUMENT // (1024 * 1024)}, field="file", file=name)
    lower = name.lower()
    for magic, content_type, extensions in SIGNATURES:
        if content.startswith(magic):
            if not lower.endswith(extensions):
                raise Invalid(_("%(file)s: the content is %(kind)s but the name does not end in %(ext)s.") % {
                    "file": name, "kind": content_type, "ext": " / ".join(extensions)}, field="file", file=name)
            return content_type
    raise Invalid(_("%(file)s: only PDF, PNG and JPEG files can be added (the content is none of them).") % {
        "file": name}, field="file", file=name)


def add_document(session: Session, instance_id: uuid.UUID, *, filename: str, content: bytes,
                 uploaded_by: str) -> CaseDocument:
    content_type = content_type_of(filename, content)
    name = (filename or "document").replace("\\", "/").rsplit("/", 1)[-1][:255]
    document = CaseDocument(instance_id=instance_id, filename=name, content_type=content_type, size=len(content),
                            sha256=hashlib.sha256(content).hexdigest(), content=content, uploaded_by=uploaded_by)
    session.add(document)
    session.flush()
    return document


def documents(session: Session, instance_id: uuid.UUID) -> list[CaseDocument]:
    """Newest first, without their content."""
    return list(session.scalars(select(CaseDocument).where(CaseDocument.instance_id == instance_id)
                                .order_by(CaseDocument.uploaded_at.desc())))


def document(session: Session, instance_id: uuid.UUID, document_id: str) -> CaseDocument:
    """One document of this case with its content (404 naming `document_id` otherwise)."""
    found = get_or_404(session, CaseDocument, document_id, what="document", field="document_id")
    if found.instance_id != instance_id:
        raise NotFound(not_found("document", document_id), field="document_id")
    return found


# ---- the whole case file ------------------------------------------------------------------------------
@dataclass(frozen=True)
class CaseRef:
    instance_id: uuid.UUID
    service_code: str
    service_name: str
    status: str
    stage: str | None
    current: bool  # the case this page is about


@dataclass(frozen=True)
class CaseFile:
    application_number: str | None
    application_date: date | None
    applicant_name: str | None
    applicant_masked: str | None
    cases: list[CaseRef]
    evidence: list[dict[str, Any]]
    decision: dict[str, Any] | None
    notices: list[DecisionNotice]
    open_tasks: list[HumanTask]
    notes: list[CaseNote]
    documents: list[CaseDocument]


def _decision(data: dict[str, Any]) -> dict[str, Any] | None:
    """The rule's result and the decision taken on it, from the case's data (None before any)."""
    assessment = data.get("assessment") or {}
    if not (data.get("eligibility") or data.get("decision")):
        return None
    monthly, annual = data.get("monthly_amount"), data.get("annual_amount")
    return {"eligibility": data.get("eligibility"), "reason": data.get("reason"),
            "reason_message": (assessment.get("reasons") or [None])[0],
            "decision": data.get("decision"), "comment": data.get("decision_comment"),
            "amount": monthly if monthly is not None else annual,
            "period": "month" if monthly is not None else "year" if annual is not None else None,
            "calculation": assessment.get("calculation"), "trace": list(assessment.get("trace") or [])}


def case_file(session: Session, instance, who: Principal) -> CaseFile:
    """Everything the case page shows beside the timeline. The caller has checked scope at MASKED; the
    applicant's and the evidence's persons are read here, so each is logged with the case as purpose."""
    purpose = purposes.of_case(instance.business_key, instance.id)
    application = applications.of_instance(session, instance.id)
    cases: list[CaseRef] = []
    applicant = None
    if application is not None:
        applicant = session.get(Person, application.applicant_id)
        rows = session.execute(
            select(ApplicationCase, ProcessInstance, CatalogService.name_ko)
            .join(ProcessInstance, ProcessInstance.id == ApplicationCase.instance_id)
            .outerjoin(CatalogService, CatalogService.code == ApplicationCase.service_code)
            .where(ApplicationCase.application_id == application.id)
            .order_by(ApplicationCase.service_code)).all()
        cases = [CaseRef(c.instance_id, c.service_code, name or c.service_code, i.status, i.stage,
                         i.id == instance.id) for c, i, name in rows]
    used = evidence.used_by(session, instance.id)
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_({e.person_id for e in used})))}
    for person_id in {*people, *([applicant.id] if applicant else [])}:
        access_log.record(session, who.username, purpose=purpose, action="read_case_file", person_id=person_id,
                          instance_id=instance.id)
    data = instances.load_run(session, instance).latest_data() if instance.state else {}
    return CaseFile(
        application_number=application.number if application else None,
        application_date=application.application_date if application else None,
        applicant_name=applicant.name if applicant else None,
        applicant_masked=applicant.rrn_masked if applicant else None,
        cases=cases,
        evidence=[{"person": people[e.person_id].name if e.person_id in people else "",
                   "masked": people[e.person_id].rrn_masked if e.person_id in people else "",
                   "data_type": e.data_type, "value": e.value, "period": e.reference_period, "source": e.source,
                   "agency": e.source_agency, "reference": e.request_id, "retrieved_at": e.retrieved_at}
                  for e in used],
        decision=_decision(data),
        notices=list(session.scalars(select(DecisionNotice).where(DecisionNotice.instance_id == instance.id)
                                     .order_by(DecisionNotice.created_at))),
        open_tasks=list(session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                                HumanTask.status == TaskStatus.OPEN)
                                        .order_by(HumanTask.created_at))),
        notes=notes(session, instance.id),
        documents=documents(session, instance.id),
    )
