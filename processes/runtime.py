"""Running one process instance: create or restore, advance to the next wait state, save.

The rest of the platform sees `Run` and plain dataclasses (waits, element events); SpiffWorkflow's
task tree stays inside. State is saved without the spec: the spec is parsed once per stored
version and cached (`processes.cache`), the instance keeps only a reference.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import DEFAULT_CONFIG as BPMN_DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.camunda.specs.user_task import UserTask
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.util.task import TaskState

from bokji.errors import BokjiError, Conflict, Invalid
from bokji.i18n import gettext as _
from processes.calculations import Calculations
from processes.evaluator import ENGINE, ElementFailure
from processes.parsing import MessageContract, Specs
from processes.specs import AutomatedTask

_restoring = threading.local()


class _StateOnlyConverter(BpmnWorkflowConverter):
    """Writes instance state only; the spec comes from the cache when restoring."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct):
        specs: Specs = _restoring.specs
        workflow = self.target_class(specs.spec, specs.subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _serializer() -> BpmnWorkflowSerializer:
    config = dict(CAMUNDA_CONFIG)
    config[BpmnWorkflow] = _StateOnlyConverter
    # Our parser uses the plain message definition (payload merged into data); Camunda's config drops it.
    config[MessageEventDefinition] = BPMN_DEFAULT_CONFIG[MessageEventDefinition]
    registry = BpmnWorkflowSerializer.configure(config)
    # Task data may hold the dates and decimals model code makes (`add_days(...)`, `decimal(...)`);
    # the library knows only date-times and durations.
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda d: date.fromisoformat(d["value"]))
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda d: Decimal(d["value"]))
    return BpmnWorkflowSerializer(registry)


SERIALIZER = _serializer()

MAX_INCIDENTS_PER_ADVANCE = 50
EMPTY: Calculations = {}

# Task states as the platform names them.
_OPEN = TaskState.READY | TaskState.STARTED | TaskState.WAITING
_ENDED = TaskState.COMPLETED | TaskState.CANCELLED | TaskState.ERROR


@dataclass(frozen=True)
class ElementEvent:
    """One element of the model started and/or ended during an advance."""

    task_id: str
    element_id: str
    element_type: str
    name: str | None
    stage: str | None
    started: bool
    ended: bool
    outcome: str  # completed | cancelled | error | open
    # The task id of the call activity or sub-process this element ran inside; None at the top level.
    parent_task_id: str | None = None


def _parent_task_id(task: Any) -> str | None:
    parent = getattr(task.workflow, "parent_task_id", None)
    return str(parent) if parent is not None else None


@dataclass(frozen=True)
class HumanWait:
    task_id: str
    element_id: str
    name: str | None
    candidate_groups: list[str]
    candidate_users: list[str]
    assignee: str | None
    form_key: str | None
    due: str | None
    stage: str | None
    lane: str | None
    four_eyes: str | None = None  # a user task of the same process whose completer may not complete this one


@dataclass(frozen=True)
class AutomatedWait:
    task_id: str
    element_id: str
    name: str | None
    topic: str
    input: dict[str, Any]
    retries: int | None = None  # the task's `retries` property, else the platform default


@dataclass(frozen=True)
class ElementIncident:
    """An element that failed while the engine ran it; the instance waits there for a retry.

    `message` names the element, what was evaluated and the kind of failure; never a value.
    """

    task_id: str
    element_id: str
    name: str | None  # the element's name in the model
    kind: str  # limit | timeout | refused | error | crash | busy | model
    message: str


@dataclass
class AdvanceResult:
    events: list[ElementEvent] = field(default_factory=list)
    human: list[HumanWait] = field(default_factory=list)
    automated: list[AutomatedWait] = field(default_factory=list)
    completed: bool = False
    next_timer_at: datetime | None = None  # earliest due timer of the instance
    waiting_messages: list[str] = field(default_factory=list)  # message names it can catch now
    incidents: list[ElementIncident] = field(default_factory=list)


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


class Run:
    """One instance in memory between load and save."""

    def __init__(self, specs: Specs, workflow: BpmnWorkflow, calculations: Calculations) -> None:
        self.specs = specs
        self.wf = workflow
        # Never serialized: re-attached after every load.
        self.wf.script_engine = ENGINE
        self.wf.bokji_calculations = calculations  # what CalculationTask may call (processes/specs.py)
        self._before = self._snapshot()

    # ---- life cycle --------------------------------------------------------------------
    @classmethod
    def start(cls, specs: Specs, data: dict[str, Any], *, calculations: Calculations = EMPTY) -> Run:
        wf = BpmnWorkflow(specs.spec, specs.subprocess_specs, script_engine=ENGINE)
        run = cls(specs, wf, calculations)
        run._before = {}
        start = wf.get_next_task(state=TaskState.READY)
        start.set_data(**data)
        return run

    @classmethod
    def restore(cls, specs: Specs, state: str, *, calculations: Calculations = EMPTY) -> Run:
        """`calculations` may be left out only to read a run, never to advance one that calls any."""
        _restoring.specs = specs
        try:
            wf = SERIALIZER.deserialize_json(state)
        finally:
            _restoring.specs = None
        return cls(specs, wf, calculations)

    def save(self) -> str:
        return SERIALIZER.serialize_json(self.wf)

    @property
    def completed(self) -> bool:
        return self.wf.is_completed()

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.wf.data)

    # ---- advancing -------------------------------------------------------------------
    def advance(self) -> AdvanceResult:
        """Run every engine step that needs no person and no worker; report what changed.

        The one failure rule: an element whose model code fails (a script, condition, timer
        expression, decision table) stops there in ERROR and becomes an incident; the rest of the
        instance runs on as far as it can, and what happened up to the failure is kept. Nothing the
        failure says carries a value. A registered calculation that refuses its input (`Invalid`,
        naming the field) still fails the whole step: that is bad input, and it changes nothing.
        """
        incidents: list[ElementIncident] = []
        for _step in range(MAX_INCIDENTS_PER_ADVANCE):
            try:
                self.wf.do_engine_steps()
                self.wf.refresh_timers()
                self.wf.do_engine_steps()
                if self._interrupt_for_event_subprocesses():
                    self.wf.do_engine_steps()
                break
            except BokjiError:
                raise  # a calculation refused its input (naming the field): the caller's step fails whole
            except Exception as exc:  # whatever the model's code did, it stops at its element
                incidents.append(self._incident(exc, {i.task_id for i in incidents}))
        result = AdvanceResult(completed=self.completed, incidents=incidents)
        after = self._snapshot()
        for task_id, (task, state) in after.items():
            previous = self._before.get(task_id, (None, TaskState.FUTURE))[1]
            was_started = previous & (_OPEN | _ENDED)
            started = bool(state & (_OPEN | _ENDED)) and not was_started
            ended = bool(state & _ENDED) and not previous & _ENDED
            if not (started or ended):
                continue
            info = self.specs.elements.get(task.task_spec.bpmn_id)
            result.events.append(
                ElementEvent(
                    task_id=task_id,
                    element_id=task.task_spec.bpmn_id,
                    element_type=info.type if info else type(task.task_spec).__name__,
                    name=info.name if info else task.task_spec.bpmn_name,
                    stage=info.stage if info else None,
                    started=started,
                    ended=ended,
                    outcome=_outcome(state),
                    parent_task_id=_parent_task_id(task),
                )
            )
        # Tasks the engine dropped from its tree while open (the children of an interrupted
        # multi-instance task, say) ended too: cancelled.
        for task_id, (task, state) in self._before.items():
            if task_id not in after and state & _OPEN:
                info = self.specs.elements.get(task.task_spec.bpmn_id)
                result.events.append(ElementEvent(
                    task_id=task_id, element_id=task.task_spec.bpmn_id,
                    element_type=info.type if info else type(task.task_spec).__name__,
                    name=info.name if info else task.task_spec.bpmn_name, stage=info.stage if info else None,
                    started=False, ended=True, outcome="cancelled", parent_task_id=_parent_task_id(task)))
        for task_id, (task, state) in after.items():
            if state != TaskState.READY and state != TaskState.STARTED:
                continue
            spec = task.task_spec
            if isinstance(spec, UserTask) and state == TaskState.READY:
                ext = spec.extensions or {}
                info = self.specs.elements.get(spec.bpmn_id)
                result.human.append(
                    HumanWait(
                        task_id=task_id,
                        element_id=spec.bpmn_id,
                        name=spec.bpmn_name,
                        candidate_groups=_csv(ext.get("candidateGroups")) or _csv(spec.lane),
                        candidate_users=_csv(ext.get("candidateUsers")),
                        assignee=ext.get("assignee"),
                        form_key=ext.get("formKey") or (spec.form.key if spec.form else None),
                        due=ext.get("dueDate"),
                        stage=info.stage if info else None,
                        lane=spec.lane,
                        four_eyes=ext.get("four_eyes"),
                    )
                )
            elif isinstance(spec, AutomatedTask) and state == TaskState.STARTED:
                retries = (spec.extensions or {}).get("retries")
                result.automated.append(
                    AutomatedWait(task_id, spec.bpmn_id, spec.bpmn_name, spec.topic, _plain(task.data),
                                  int(retries) if retries else None)
                )
        result.next_timer_at, result.waiting_messages = self._waiting_events()
        # Messages thrown that no task of this instance caught. Routing them between instances is
        # not built yet; drop them rather than let the saved state grow with each one.
        self.wf.get_events()
        self._before = after
        return result

    def _incident(self, exc: Exception, known: set[str]) -> ElementIncident:
        """Mark the element that raised `exc` as failed (ERROR) and describe it safely."""
        task = getattr(exc, "task", None)
        if task is None or not hasattr(task, "task_spec"):
            task = next((t for t in self._tasks() if t.state == TaskState.ERROR and str(t.id) not in known
                         and not (self._before.get(str(t.id), (None, TaskState.FUTURE))[1] & TaskState.ERROR)),
                        None)
        if task is None:
            raise ModelError(exc) from exc  # no element to stop at: refuse the whole step
        if task.state != TaskState.ERROR:
            task._set_state(TaskState.ERROR)  # e.g. a timer event whose expression failed while waiting
        element = task.task_spec.bpmn_id
        if isinstance(exc, ElementFailure):
            kind, message = exc.kind, exc.message
        elif isinstance(exc, WorkflowException):
            # The library's own text, in English: it is all there is to say.
            kind, message = "model", _("element '%(element)s': %(error)s") % {
                "element": element, "error": exc.args[0] if exc.args else type(exc).__name__}
        else:
            kind, message = "error", _("element '%(element)s': %(error)s") % {
                "element": element, "error": type(exc).__name__}
        info = self.specs.elements.get(element)
        return ElementIncident(str(task.id), element, info.name if info else None, kind, message[:2000])

    def retry(self, task_id: str, variables: dict[str, Any] | None = None) -> None:
        """Run a failed element again at the next advance (an operator fixed the cause, perhaps by
        setting `variables` in the data the element runs on)."""
        task = self.wf.get_task_from_id(UUID(task_id))
        if task is None or task.state != TaskState.ERROR:
            raise Conflict(_("Element task %(id)s has not failed.") % {"id": task_id}, task_id=task_id)
        task.data.update(variables or {})
        if isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition):
            # A waiting event takes its parent's data again whenever it is updated, so the fix goes
            # there too; registered as waiting, the next advance evaluates the timer expression again.
            task.parent.data.update(variables or {})
            task.internal_data.pop("event_value", None)
            task._set_state(TaskState.WAITING)
            self.wf.event_manager.add_task(task)
        else:
            task._set_state(TaskState.READY)
        self._before[str(task.id)] = (task, task.state)

    def _waiting_events(self) -> tuple[datetime | None, list[str]]:
        timers: list[datetime] = []
        messages: set[str] = set()
        for event in self.wf.waiting_events():
            if "Timer" in event.event_type or event.event_type == "TimeDateEventDefinition":
                if event.value:
                    due = datetime.fromisoformat(event.value)
                    timers.append(due if due.tzinfo else due.replace(tzinfo=UTC))
            elif event.event_type == "MessageEventDefinition":
                messages.add(event.name)
        # Event sub-processes started by a message listen for as long as their process runs; they are
        # not waiting tasks yet, so read them from the specs of the running (sub-)workflows.
        if not self.completed:
            for workflow in [self.wf, *self.wf.subprocesses.values()]:
                if workflow.is_completed():
                    continue
                for name in getattr(workflow.spec.start, "trigger_specs", []):
                    sub_spec = self.wf.subprocess_specs.get(name)
                    for start in getattr(sub_spec, "bpmn_start_events", []):
                        if isinstance(start.event_definition, MessageEventDefinition):
                            messages.add(start.event_definition.name)
        return (min(timers) if timers else None), sorted(messages)

    def message_contract(self, message: str) -> MessageContract:
        """What the model declares the message may set and who may send it (default: nothing, and
        integration systems)."""
        return self.specs.messages.get(message) or MessageContract()

    def correlate(self, message: str, payload: dict[str, Any]) -> int:
        """Deliver a message to whatever waits for it; returns how many tasks caught it."""
        event = BpmnEvent(MessageEventDefinition(message), payload=dict(payload))
        caught = self.wf.event_manager.catch(event, internal=False)
        return caught

    def _interrupt_for_event_subprocesses(self) -> bool:
        """SpiffWorkflow 3.2 runs every event sub-process as non-interrupting. For one whose start
        event is interrupting (the BPMN default), cancel the rest of the enclosing process."""
        interrupted = False
        for task in list(self._tasks()):
            spec = task.task_spec
            info = self.specs.elements.get(getattr(spec, "bpmn_id", None) or "")
            if not (info and info.interrupting_start and task.state & (_OPEN | TaskState.COMPLETED)):
                continue
            if str(task.id) in self._before and self._before[str(task.id)][1] & (_OPEN | _ENDED):
                continue  # it started in an earlier advance and interrupted then
            sub = task.workflow
            parent_task = self.wf.get_task_from_id(sub.parent_task_id) if hasattr(sub, "parent_task_id") else None
            if parent_task is None:
                continue
            for other in list(parent_task.workflow.get_tasks(state=_OPEN)):
                if other.id != parent_task.id and not other.state & _ENDED:
                    other.cancel()
                    interrupted = True
        return interrupted

    def _tasks(self):
        yield from self.wf.tasks.values()
        for sub in self.wf.subprocesses.values():
            yield from sub.tasks.values()

    def _snapshot(self) -> dict[str, tuple[Any, TaskState]]:
        return {
            str(t.id): (t, t.state)
            for t in self._tasks()
            if getattr(t.task_spec, "bpmn_id", None) and t.state & (_OPEN | _ENDED)
        }

    # ---- completing waits -------------------------------------------------------------
    def _open_task(self, task_id: str, kind: type):
        try:
            task = self.wf.get_task_from_id(UUID(task_id))
        except (ValueError, TypeError, KeyError, WorkflowException):
            task = None
        if task is None or not isinstance(task.task_spec, kind):
            raise Conflict(_("Task %(id)s is not waiting in this case.") % {"id": task_id}, task_id=task_id)
        return task

    def latest_data(self) -> dict[str, Any]:
        """The case's data as it stands: the workflow's once it ended, else that of the element that changed
        last (open or completed), which carries what the steps before it produced."""
        if self.completed:
            return self.data
        tasks = [t for t in self._tasks() if getattr(t.task_spec, "bpmn_id", None)
                 and t.state & (_OPEN | TaskState.COMPLETED)]
        return _plain(max(tasks, key=lambda t: t.last_state_change).data) if tasks else {}

    def human_task_data(self, task_id: str) -> dict[str, Any]:
        """What a person sees the case as when working on this task (the data the task holds)."""
        return _plain(self._open_task(task_id, UserTask).data)

    def human_task_property(self, task_id: str, name: str) -> str | None:
        """A property the open user task declares (camunda:property), e.g. `return_reason`."""
        value = (self._open_task(task_id, UserTask).task_spec.extensions or {}).get(name)
        return value if isinstance(value, str) and value else None

    def complete_human_task(self, task_id: str, data: dict[str, Any]) -> None:
        task = self._open_task(task_id, UserTask)
        if task.state != TaskState.READY:
            raise Conflict(_("Task %(id)s is not open (state %(state)s).") % {"id": task_id, "state": task.state.name},
                           task_id=task_id)
        task.set_data(**data)
        try:
            task.run()
        except SpiffWorkflowException as exc:
            raise ModelError(exc) from exc

    def complete_automated_task(self, task_id: str, result: dict[str, Any]) -> None:
        task = self._open_task(task_id, AutomatedTask)
        if task.state != TaskState.STARTED:
            raise Conflict(_("Task %(id)s is not running (state %(state)s).") % {
                "id": task_id, "state": task.state.name}, task_id=task_id)
        variable = (task.task_spec.extensions or {}).get("resultVariable")
        task.set_data(**({variable: result or {}} if variable else (result or {})))
        task.complete()

    def cancel(self) -> None:
        self.wf.cancel()


def _outcome(state: TaskState) -> str:
    if state == TaskState.COMPLETED:
        return "completed"
    if state == TaskState.CANCELLED:
        return "cancelled"
    if state == TaskState.ERROR:
        return "error"
    return "open"


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """Task data as JSON-safe values (the handler input is stored on the job row)."""
    import json

    return json.loads(json.dumps(data, default=str))


class ModelError(Invalid):
    """The model failed outside any element the engine could stop at (its start, a waiting task's
    completion). Names the element and the error type; the library's text only for its own errors."""

    def __init__(self, exc: Exception) -> None:
        element = getattr(getattr(exc, "task_spec", None), "bpmn_id", None) or getattr(exc, "id", None)
        if isinstance(exc, ElementFailure):
            reason = exc.message
        elif isinstance(exc, SpiffWorkflowException):
            reason = exc.args[0] if exc.args else type(exc).__name__
        else:
            reason = type(exc).__name__
        super().__init__(_("Process model error at element '%(element)s': %(reason)s") % {
            "element": element, "reason": reason}, element=element, reason=reason)
