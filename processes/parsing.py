"""Deploy validation and parsing: BPMN/DMN/form files in, checked bundle (or named rejections) out.

Every rejection names the file, the BPMN/DMN element (when there is one) and the reason, and is
raised before anything is stored. The order of checks goes from cheapest to most expensive:
file types, safe XML, XSD, our own vocabulary rules, then SpiffWorkflow's parser.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator, full_tag
from SpiffWorkflow.bpmn.parser.util import one
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
from SpiffWorkflow.bpmn.specs.defaults import (
    BoundaryEvent,
    EndEvent,
    IntermediateCatchEvent,
    IntermediateThrowEvent,
    StartEvent,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import (
    CamundaBoundaryEventParser,
    CamundaEndEventParser,
    CamundaIntermediateCatchEventParser,
    CamundaIntermediateThrowEventParser,
    CamundaStartEventParser,
)
from SpiffWorkflow.camunda.parser.task_spec import BusinessRuleTaskParser, CamundaTaskParser, UserTaskParser
from SpiffWorkflow.camunda.specs.business_rule_task import BusinessRuleTask as CamundaBusinessRuleTask
from SpiffWorkflow.camunda.specs.multiinstance_task import ParallelMultiInstanceTask, SequentialMultiInstanceTask
from SpiffWorkflow.camunda.specs.user_task import UserTask
from SpiffWorkflow.exceptions import SpiffWorkflowException

from bokji.errors import Invalid
from bokji.i18n import N_
from bokji.i18n import gettext as _
from processes.evaluator import SandboxedDecision
from processes.sandbox import policy
from processes.specs import AutomatedTask, CalculationTask
from processes.timing import parse_due

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
)
SUPPORTED_HIT_POLICIES = {"UNIQUE", "COLLECT"}

# Flow elements the platform runs. Anything else that is a task/event/gateway/sub-process is refused
# at deploy time rather than silently skipped or failing when an instance reaches it.
SUPPORTED_FLOW_NODES = {
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "manualTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask",
    "receiveTask", "callActivity", "subProcess", "transaction",
    "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
}
UNSUPPORTED_FLOW_NODES = {"complexGateway", "adHocSubProcess"}
FLOW_NODE_SUFFIXES = ("Task", "Event", "Gateway", "SubProcess", "Activity")

_SAFE_XML = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
)
_VALIDATOR: BpmnValidator | None = None


def _validator() -> BpmnValidator:
    global _VALIDATOR
    if _VALIDATOR is None:
        _VALIDATOR = BpmnValidator()
    return _VALIDATOR


def reject(file: str, reason: str, element: str | None = None, line: int | None = None, **detail: str) -> Invalid:
    """`reason` in the caller's language (a catalog text); the message names file, element and line."""
    where = file + (_(", element '%(element)s'") % {"element": element} if element else "") \
        + (_(", line %(line)s") % {"line": line} if line else "")
    return Invalid(_("%(where)s: %(reason)s") % {"where": where, "reason": reason}, file=file, element=element,
                   line=line, reason=reason, **detail)


# --------------------------------------------------------------------------------------------
# The extension vocabulary: Camunda 7 attributes, as Camunda Modeler and bpmn-js write them.
# --------------------------------------------------------------------------------------------
def _camunda_attributes(node, names: Iterable[str]) -> dict[str, str]:
    out = {}
    for name in names:
        value = node.get(f"{{{CAMUNDA_NS}}}{name}")
        if value is not None:
            out[name] = value
    return out


class HumanTaskParser(UserTaskParser):
    def parse_extensions(self, node=None):
        ext = super().parse_extensions(node)
        ext.update(
            _camunda_attributes(
                self.node, ("candidateGroups", "candidateUsers", "assignee", "formKey", "dueDate")
            )
        )
        return ext


class AutomatedTaskParser(CamundaTaskParser):
    def create_task(self):
        topic = self.node.get(f"{{{CAMUNDA_NS}}}topic") or self.bpmn_id
        return self.spec_class(self.spec, self.bpmn_id, topic=topic, **self.bpmn_attributes)

    def parse_extensions(self, node=None):
        ext = super().parse_extensions(node)
        ext.update(_camunda_attributes(self.node, ("type", "topic", "class", "delegateExpression", "resultVariable")))
        return ext


class _PlainMessages:
    """Message events whose payload (a JSON object) is merged into the task data, the same for
    catch events, receive tasks, boundary events and event sub-process starts (SpiffWorkflow's
    Camunda flavour would put it under `<element>_Response` instead)."""

    def parse_message_event(self, message_event):
        message_ref = message_event.get("messageRef")
        if message_ref:
            message = one(self.doc_xpath(f'.//bpmn:message[@id="{message_ref}"]'))
            return MessageEventDefinition(message.get("name"), self.get_message_correlations(message_ref))
        return MessageEventDefinition(message_event.getparent().get("name"), {})


class _Start(_PlainMessages, CamundaStartEventParser):
    pass


class _End(_PlainMessages, CamundaEndEventParser):
    pass


class _Catch(_PlainMessages, CamundaIntermediateCatchEventParser):
    pass


class _Throw(_PlainMessages, CamundaIntermediateThrowEventParser):
    pass


class _Boundary(_PlainMessages, CamundaBoundaryEventParser):
    pass


class RuleTaskParser(BusinessRuleTaskParser):
    """A business rule task runs a DMN decision (camunda:decisionRef) or a registered calculation."""

    @staticmethod
    def get_decision_ref(node):
        # The dependency scan asks every business rule task; a calculation task has no decision.
        return node.get(f"{{{CAMUNDA_NS}}}decisionRef")

    def create_task(self):
        calculation = _property(self.node, "calculation")
        if calculation:
            return CalculationTask(self.spec, self.bpmn_id, calculation=calculation, **self.bpmn_attributes)
        return super().create_task()


class BokjiParser(CamundaParser):
    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("userTask"): (HumanTaskParser, UserTask),
        full_tag("serviceTask"): (AutomatedTaskParser, AutomatedTask),
        full_tag("businessRuleTask"): (RuleTaskParser, CamundaBusinessRuleTask),
        full_tag("startEvent"): (_Start, StartEvent),
        full_tag("endEvent"): (_End, EndEvent),
        full_tag("intermediateCatchEvent"): (_Catch, IntermediateCatchEvent),
        full_tag("intermediateThrowEvent"): (_Throw, IntermediateThrowEvent),
        full_tag("boundaryEvent"): (_Boundary, BoundaryEvent),
    }

    def get_engine(self, decision_ref, node):
        """Business rule tasks evaluate their table in the sandbox, whole (processes/evaluator.py)."""
        return decision_engine(self, decision_ref, node)


def decision_engine(parser: CamundaParser, decision_ref: str, node=None) -> SandboxedDecision:
    if decision_ref not in parser.dmn_parsers:
        raise ValidationException(_("no decision '%(decision)s' (available: %(available)s)") % {
            "decision": decision_ref, "available": ", ".join(parser.dmn_parsers) or "–"}, node=node, file_name="")
    dmn_parser = parser.dmn_parsers[decision_ref]
    dmn_parser.parse()
    return SandboxedDecision(dmn_parser.decision.decisionTables[0], decision_ref)


# --------------------------------------------------------------------------------------------
# What a checked bundle knows about its elements (the runtime needs no XML afterwards).
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ElementInfo:
    id: str
    type: str  # the BPMN tag, e.g. "userTask"
    name: str | None
    stage: str | None  # stage of the standard process this element belongs to, if declared
    process_id: str
    interrupting_start: bool = False  # the start event of an interrupting event sub-process


PROCESS_KINDS = ("module", "variant", "process")


@dataclass(frozen=True)
class ProcessInfo:
    """What a process declares about how it is started (camunda:properties on bpmn:process, and
    Camunda's candidateStarterGroups/Users attributes)."""

    kind: str  # module: only ever called | variant: started by an application | process: stand-alone
    starter_groups: tuple[str, ...] = ()
    starter_users: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()  # the start variables it takes (anything else is refused)
    office: str | None = None  # the office its cases belong to when no applicant decides
    ministry: str | None = None  # the ministry that owns it (outside the service catalog)


@dataclass(frozen=True)
class MessageContract:
    """What a message may do, declared on the elements that catch it: `payload` maps payload keys to
    the variables they set (nothing else is set); `senders` are the roles or users that may send it."""

    payload: tuple[tuple[str, str], ...] = ()  # (payload key, variable)
    senders: tuple[str, ...] = ("integration",)
    element: str = ""  # the first element declaring it, for error messages


@dataclass
class Bundle:
    """A validated set of files. `files` includes the form definitions the models reference."""

    files: dict[str, bytes]
    processes: dict[str, str | None] = field(default_factory=dict)  # executable process id -> name
    collaborations: dict[str, str | None] = field(default_factory=dict)
    decisions: dict[str, str | None] = field(default_factory=dict)
    elements: dict[str, ElementInfo] = field(default_factory=dict)
    process_info: dict[str, ProcessInfo] = field(default_factory=dict)  # by process id
    messages: dict[str, MessageContract] = field(default_factory=dict)  # by message name
    forms: dict[str, dict] = field(default_factory=dict)  # formKey -> form definition
    topics: dict[str, str] = field(default_factory=dict)  # serviceTask element id -> topic
    timer_starts: set[str] = field(default_factory=set)  # processes started by a timer start event
    warnings: list[str] = field(default_factory=list)
    specs: dict[str, Specs] = field(default_factory=dict)  # parsed, by process or collaboration id


FormLookup = Callable[[str], bytes | None]
DeployedLookup = Callable[[str, str], dict[str, bytes] | None]  # (kind, key) -> files of its version


def _parse_xml(name: str, content: bytes) -> etree._ElementTree:
    if b"<!DOCTYPE" in content or b"<!ENTITY" in content:
        # Refuse DTDs outright: entity expansion (XXE, billion laughs) has no place in a model.
        raise reject(name, _("DOCTYPE/ENTITY declarations are not allowed (external entities are refused)"))
    try:
        tree = etree.ElementTree(etree.fromstring(content, parser=_SAFE_XML))
    except etree.XMLSyntaxError as exc:
        raise reject(name, _("malformed XML: %(error)s") % {"error": exc.msg}, line=exc.lineno) from None
    if tree.docinfo.internalDTD is not None:
        raise reject(name, _("DOCTYPE declarations are not allowed"))
    return tree


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _property(node, name: str) -> str | None:
    """A `<camunda:property name=... value=...>` of the element's extension elements."""
    for prop in node.findall(f"{{{BPMN_NS}}}extensionElements/{{{CAMUNDA_NS}}}properties/"
                             f"{{{CAMUNDA_NS}}}property"):
        if prop.get("name") == name:
            return prop.get("value")
    return None


def _stage_of(node) -> str | None:
    return _property(node, "stage")


def _names(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def _process_info(file: str, process) -> ProcessInfo:
    pid = process.get("id")
    kind = _property(process, "kind") or "process"
    if kind not in PROCESS_KINDS:
        raise reject(file, _("property kind='%(kind)s' must be one of %(choices)s") % {
            "kind": kind, "choices": ", ".join(PROCESS_KINDS)}, element=pid)
    inputs = _names(_property(process, "inputs"))
    for variable in inputs:
        if not variable.isidentifier() or variable.startswith("_"):
            raise reject(file, _("property inputs: '%(name)s' must be a variable name") % {"name": variable},
                         element=pid)
    return ProcessInfo(
        kind=kind,
        starter_groups=_names(process.get(f"{{{CAMUNDA_NS}}}candidateStarterGroups")),
        starter_users=_names(process.get(f"{{{CAMUNDA_NS}}}candidateStarterUsers")),
        inputs=inputs, office=_property(process, "office"), ministry=_property(process, "ministry"),
    )


def _collaboration_info(infos: list[ProcessInfo]) -> ProcessInfo:
    """A collaboration starts as its pools do: whoever may start one of them, with what they take."""
    def union(name: str) -> tuple[str, ...]:
        return tuple(sorted({v for i in infos for v in getattr(i, name)}))

    return ProcessInfo(kind="process", starter_groups=union("starter_groups"), starter_users=union("starter_users"),
                       inputs=union("inputs"), office=next((i.office for i in infos if i.office), None),
                       ministry=next((i.ministry for i in infos if i.ministry), None))


def _add_message_contract(file: str, node, message_names: dict[str, str], bundle: Bundle) -> None:
    """A message-catching element's payload mapping (property payload="key, key=variable") and senders
    (property senders="integration, supervisor"); two catchers of one message must agree."""
    if _local(node.tag) == "receiveTask":
        ref = node.get("messageRef")
    else:
        definition = node.find(f"{{{BPMN_NS}}}messageEventDefinition")
        ref = definition.get("messageRef") if definition is not None else None
    if ref is None:
        return
    eid = node.get("id")
    mapping = []
    for entry in _names(_property(node, "payload")):
        variable, _, key = entry.partition("=")
        variable, key = variable.strip(), (key.strip() or variable.strip())
        if not variable.isidentifier() or variable.startswith("_"):
            raise reject(file, _("property payload: '%(name)s' must be a variable name") % {"name": variable},
                         element=eid)
        mapping.append((key, variable))
    senders = _names(_property(node, "senders")) or ("integration",)
    contract = MessageContract(tuple(sorted(mapping)), tuple(sorted(senders)), eid)
    message = message_names.get(ref, ref)
    earlier = bundle.messages.get(message)
    if earlier is not None and (earlier.payload, earlier.senders) != (contract.payload, contract.senders):
        raise reject(file, _("message '%(message)s' is caught here with another payload or senders than at "
                             "'%(other)s'; declare them alike") % {"message": message, "other": earlier.element},
                     element=eid)
    bundle.messages.setdefault(message, contract)


def _check_timer(file: str, start_event) -> None:
    timer = start_event.find(f"{{{BPMN_NS}}}timerEventDefinition")
    if timer is not None and not any(_local(c.tag) in ("timeDuration", "timeDate", "timeCycle") for c in timer):
        raise reject(file, _("timer event has no timeDuration, timeDate or timeCycle"), element=start_event.get("id"))


def _check_bpmn(name: str, tree: etree._ElementTree, bundle: Bundle,
                calculations: Collection[str] | None = None) -> set[tuple[str, str, str]]:
    """Vocabulary rules; returns (kind, element id, key) references to resolve: called processes
    ("process") and decisions of business rule tasks ("decision")."""
    root = tree.getroot()
    if _local(root.tag) != "definitions" or etree.QName(root).namespace != BPMN_NS:
        raise reject(name, _("not a BPMN 2.0 file (root must be bpmn:definitions)"))
    calls: set[tuple[str, str, str]] = set()
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        pid = process.get("id")
        if pid:
            bundle.processes[pid] = process.get("name")
            bundle.process_info[pid] = _process_info(name, process)
        process_stage = _stage_of(process)
        message_names = {m.get("id"): m.get("name") or m.get("id") for m in root.iter(f"{{{BPMN_NS}}}message")}
        for node in process.iter(etree.Element):  # elements only: comments and PIs are not nodes
            tag = _local(node.tag)
            if etree.QName(node).namespace != BPMN_NS:
                continue
            eid = node.get("id")
            if tag in UNSUPPORTED_FLOW_NODES or (
                tag.endswith(FLOW_NODE_SUFFIXES) and tag not in SUPPORTED_FLOW_NODES
                and tag not in ("callActivity",)
            ):
                raise reject(name, _("bpmn:%(tag)s is not supported by this platform") % {"tag": tag}, element=eid)
            if tag in SUPPORTED_FLOW_NODES and eid:
                parent = node.getparent()
                interrupting = (
                    tag == "startEvent" and _local(parent.tag) == "subProcess"
                    and parent.get("triggeredByEvent") == "true" and node.get("isInterrupting", "true") == "true"
                )
                bundle.elements[eid] = ElementInfo(
                    eid, tag, node.get("name"), _stage_of(node) or process_stage, pid, interrupting
                )
            if tag in ("startEvent", "intermediateCatchEvent", "boundaryEvent", "receiveTask"):
                _add_message_contract(name, node, message_names, bundle)
            if tag == "sequenceFlow":
                cond = node.find(f"{{{BPMN_NS}}}conditionExpression")
                if cond is not None and (cond.text or "").strip():
                    check_code(name, eid, N_("condition"), cond.text.strip(), "eval")
            elif tag == "scriptTask":
                script = node.find(f"{{{BPMN_NS}}}script")
                if script is None or not (script.text or "").strip():
                    raise reject(name, _("script task has no script"), element=eid)
                fmt = node.get("scriptFormat", "python").lower()
                if fmt not in ("python", ""):
                    raise reject(name, _("script format '%(format)s' is not supported (use python)") % {"format": fmt},
                                 element=eid)
                check_code(name, eid, N_("script"), script.text, "exec")
            elif tag == "startEvent" and node.find(f"{{{BPMN_NS}}}timerEventDefinition") is not None:
                if node.getparent() is process:
                    bundle.timer_starts.add(pid)
                _check_timer(name, node)
            elif tag in ("timeDuration", "timeDate", "timeCycle"):
                owner = node.getparent().getparent()
                check_code(name, owner.get("id"), N_("timer expression"), (node.text or "").strip(), "eval")
            elif tag in ("condition", "completionCondition", "loopCardinality"):
                owner = next(a for a in node.iterancestors() if a.get("id"))
                what = {"condition": N_("conditional event"), "completionCondition": N_("completion condition"),
                        "loopCardinality": N_("loop cardinality")}[tag]
                check_code(name, owner.get("id"), what, (node.text or "").strip(), "eval")
            elif tag == "multiInstanceLoopCharacteristics":
                for attribute in ("collection", "elementVariable"):
                    value = node.get(f"{{{CAMUNDA_NS}}}{attribute}")
                    if value is not None and not (value.isidentifier() and not value.startswith("_")):
                        raise reject(name, _("camunda:%(attribute)s='%(value)s' must name a variable") % {
                            "attribute": attribute, "value": value}, element=eid
                                     or node.getparent().get("id"))
            elif tag == "callActivity":
                target = node.get("calledElement")
                if not target:
                    raise reject(name, _("call activity has no calledElement"), element=eid)
                calls.add(("process", eid, target))
            elif tag == "businessRuleTask":
                ref = node.get(f"{{{CAMUNDA_NS}}}decisionRef")
                calculation = _property(node, "calculation")
                if calculation:
                    if calculations is not None and calculation not in calculations:
                        raise reject(name, _("unknown calculation '%(name)s' (available: %(available)s)") % {
                            "name": calculation, "available": ", ".join(sorted(calculations)) or "–"}, element=eid)
                elif not ref:
                    raise reject(name, _("business rule task needs camunda:decisionRef or a calculation property"),
                                 element=eid)
                else:
                    calls.add(("decision", eid, ref))
            elif tag == "serviceTask":
                topic = node.get(f"{{{CAMUNDA_NS}}}topic")
                for foreign in ("class", "delegateExpression", "expression"):
                    if node.get(f"{{{CAMUNDA_NS}}}{foreign}") is not None:
                        bundle.warnings.append(
                            _("%(file)s, element '%(element)s': camunda:%(attribute)s is not evaluated; "
                              "the task runs under topic '%(topic)s'") % {
                                "file": name, "element": eid, "attribute": foreign, "topic": topic or eid})
                bundle.topics[eid] = topic or eid
                retries = _property(node, "retries")
                if retries is not None and not (retries.isdigit() and 1 <= int(retries) <= 100):
                    raise reject(name, _("property retries='%(value)s' must be a whole number 1-100") % {
                        "value": retries}, element=eid)
            elif tag == "userTask":
                other = _property(node, "four_eyes")
                if other is not None and not any(
                        _local(n.tag) == "userTask" and n.get("id") == other and n is not node
                        for n in process.iter(etree.Element)):
                    raise reject(name, _("property four_eyes='%(other)s' must name another user task of process "
                                         "'%(process)s'") % {"other": other, "process": pid}, element=eid)
                reason = _property(node, "return_reason")
                if reason is not None and not reason.isidentifier():
                    raise reject(name, _("property return_reason='%(value)s' must name a field of the task's form") % {
                        "value": reason}, element=eid)
                form_key = node.get(f"{{{CAMUNDA_NS}}}formKey")
                if form_key:
                    bundle.forms.setdefault(form_key, {"__element__": eid, "__file__": name})
                due = node.get(f"{{{CAMUNDA_NS}}}dueDate")
                if due:
                    try:
                        parse_due(due)
                    except ValueError as exc:
                        raise reject(name, _("camunda:dueDate: %(error)s") % {"error": exc}, element=eid) from None
    for collab in root.iter(f"{{{BPMN_NS}}}collaboration"):
        participants = [p.get("processRef") for p in collab.findall(f"{{{BPMN_NS}}}participant")]
        if participants:
            bundle.collaborations[collab.get("id")] = collab.get("name")
            bundle.process_info[collab.get("id")] = _collaboration_info(
                [bundle.process_info[p] for p in participants if p in bundle.process_info])
    return calls


def check_code(file: str, element: str | None, what: str, source: str, mode: str, *,
               checked: str | None = None) -> None:
    """Model code passes the sandbox's allowlist, or the deploy is refused naming file, element,
    the expression and the construct. `checked` is what runs when it differs from what was written
    (a DMN input entry runs as a comparison with the input)."""
    try:
        code = checked if checked is not None else source
        policy.check_expression(code) if mode == "eval" else policy.check_script(code)
    except SyntaxError as exc:
        raise reject(file, _("Python syntax error in %(what)s '%(source)s': %(error)s") % {
            "what": _(what), "source": policy.excerpt(source), "error": exc.msg}, element=element,
            expression=source) from None
    except policy.Refused as exc:
        at = _(" (line %(line)s)") % {"line": exc.line} if exc.line and mode == "exec" else ""
        # The construct stays as Python names it (attribute '__class__', call of 'open'): it is what to find.
        raise reject(file, _("%(what)s '%(source)s' is refused: %(construct)s — %(reason)s%(at)s") % {
            "what": _(what), "source": policy.excerpt(source), "construct": exc.construct, "reason": exc.said(),
            "at": at}, element=element, expression=source, construct=exc.construct) from None


def _check_dmn(name: str, tree: etree._ElementTree, bundle: Bundle) -> None:
    root = tree.getroot()
    ns = etree.QName(root).namespace
    if _local(root.tag) != "definitions" or ns not in DMN_NAMESPACES:
        raise reject(name, _("not a DMN 1.x file (root must be dmn:definitions)"))
    for decision in root.iter(f"{{{ns}}}decision"):
        did = decision.get("id")
        bundle.decisions[did] = decision.get("name")
        for table in decision.iter(f"{{{ns}}}decisionTable"):
            hit_policy = table.get("hitPolicy", "UNIQUE")
            if hit_policy not in SUPPORTED_HIT_POLICIES:
                raise reject(
                    name,
                    _("hit policy %(policy)s is not supported (supported: %(supported)s)") % {
                        "policy": hit_policy, "supported": ", ".join(sorted(SUPPORTED_HIT_POLICIES))},
                    element=table.get("id") or did,
                )
            for expr in table.iter(f"{{{ns}}}inputExpression"):
                text = expr.findtext(f"{{{ns}}}text") or ""
                if text.strip():
                    check_code(name, expr.get("id") or did, N_("input expression"), text.strip(), "eval")
            for entry in table.iter(f"{{{ns}}}inputEntry"):
                text = (entry.findtext(f"{{{ns}}}text") or "").strip()
                if text and text != "-":
                    check_code(name, entry.get("id") or did, N_("input entry"), text, "eval",
                               checked=policy.unary_test(text))
            for entry in table.iter(f"{{{ns}}}outputEntry"):
                text = (entry.findtext(f"{{{ns}}}text") or "").strip()
                if text and text != "-":
                    check_code(name, entry.get("id") or did, N_("output entry"), text, "eval")


def check_bundle(
    files: dict[str, bytes],
    known_topics: Iterable[str] = (),
    find_form: FormLookup = lambda key: None,
    find_deployed: DeployedLookup = lambda kind, key: None,
    calculations: Collection[str] | None = None,
) -> Bundle:
    """Validate `files` and return the bundle to store (with its parsed specs), or raise `Invalid`
    naming what is wrong.

    `find_form` resolves form keys not in the upload (the forms/ folder); `find_deployed` resolves
    called processes and decisions to already deployed versions, whose files join the bundle so the
    new version is self-contained and never changes under running instances. `calculations` are the
    names business rule tasks may call (None: a stored bundle, checked when it was deployed).
    """
    if not files:
        raise Invalid(_("No files were given."), field="files", reason="empty")
    bundle = Bundle(files=dict(files))
    trees: dict[str, etree._ElementTree] = {}
    calls: set[tuple[str, str, str, str]] = set()
    for name, content in files.items():
        if name.endswith(".form"):
            try:
                form = json.loads(content)
            except (ValueError, UnicodeDecodeError) as exc:
                raise reject(name, _("form definition is not valid JSON: %(error)s") % {"error": exc}) from None
            key = form.get("id") if isinstance(form, dict) else None
            if not key:
                raise reject(name, _("form definition needs an 'id' (the formKey models use)"))
            bundle.forms[key] = form
            continue
        if not name.endswith((".bpmn", ".dmn", ".bpmn20.xml")):
            raise reject(name, _("unsupported file type (expected .bpmn, .dmn or .form)"))
        tree = _parse_xml(name, content)
        trees[name] = tree
        if name.endswith(".dmn"):
            _check_dmn(name, tree, bundle)
        else:
            try:
                _validator().validate(tree.getroot(), name)
            except ValidationException as exc:
                raise reject(name, _("BPMN schema violation: %(error)s") % {"error": exc},
                             line=exc.line_number or None) from None
            calls |= {(name, kind, eid, key) for kind, eid, key in _check_bpmn(name, tree, bundle, calculations)}

    # Called processes and decisions: in this bundle, else the latest deployed version.
    for name, kind, eid, target in sorted(calls):
        have = bundle.processes if kind == "process" else bundle.decisions
        if target in have or target in _resolved(trees, kind):
            continue
        extra = find_deployed(kind, target)
        if not extra:
            what = _("called process") if kind == "process" else _("decision table")
            raise reject(name, _("%(what)s '%(target)s' is not in this deployment nor deployed") % {
                "what": what, "target": target}, element=eid)
        for dep_name, dep_content in extra.items():
            if dep_name in bundle.files:
                if bundle.files[dep_name] != dep_content:
                    raise reject(dep_name, _("needed for '%(target)s', but a different file of this name is in the "
                                             "upload") % {"target": target})
                continue
            bundle.files[dep_name] = dep_content
            if dep_name.endswith(".form"):
                continue
            trees[dep_name] = _parse_xml(dep_name, dep_content)
            sub = Bundle(files={})
            if dep_name.endswith(".dmn"):
                _check_dmn(dep_name, trees[dep_name], sub)
            else:
                _check_bpmn(dep_name, trees[dep_name], sub)
            bundle.elements.update(sub.elements)
            bundle.messages.update({k: v for k, v in sub.messages.items() if k not in bundle.messages})

    # Forms: every formKey must resolve; the definition is stored with the bundle.
    for key, ref in list(bundle.forms.items()):
        if "__element__" not in ref:
            continue
        content = find_form(key)
        if content is None:
            raise reject(ref["__file__"], _("unknown form '%(key)s' (no %(key)s.form in the upload or forms/)") % {
                "key": key}, element=ref["__element__"])
        form = json.loads(content)
        bundle.forms[key] = form
        bundle.files[f"{key}.form"] = content

    known = set(known_topics)
    for eid, topic in bundle.topics.items():
        if topic not in known:
            bundle.warnings.append(
                _("element '%(element)s': no handler is registered for topic '%(topic)s'; "
                  "it will wait as an external task") % {"element": eid, "topic": topic})

    bundle.specs = build_specs(bundle, trees)  # SpiffWorkflow's own checks; raises Invalid naming the element
    return bundle


def _resolved(trees: dict[str, etree._ElementTree], kind: str) -> set[str]:
    """Ids of processes or decisions defined in the files gathered so far."""
    ids = set()
    for name, tree in trees.items():
        if kind == "process" and not name.endswith(".dmn"):
            ids |= {p.get("id") for p in tree.getroot().iter(f"{{{BPMN_NS}}}process")}
        elif kind == "decision" and name.endswith(".dmn"):
            ids |= {d.get("id") for d in tree.getroot().iter() if _local(d.tag) == "decision"}
    return ids


@dataclass
class Specs:
    """Parsed, cached specs of one stored version. Never serialized per instance."""

    key: str
    spec: object
    subprocess_specs: dict
    elements: dict[str, ElementInfo]
    messages: dict[str, MessageContract] = field(default_factory=dict)


def _check_collection(element: str, variable: str, data: dict) -> None:
    """The list a multi-instance element runs over (camunda:collection) must be in the process data.

    The library iterates whatever is there: a missing variable is a TypeError nobody can place, and a
    string runs once per character. Missing input is bad input, like a calculation refusing its own:
    the step that reaches the element fails whole, with a 422 naming the element and the variable."""
    value = data.get(variable)
    if not isinstance(value, list | tuple | dict):
        found = _("the process data has no such variable") if value is None else \
            _("it is a %(type)s, not a list") % {"type": type(value).__name__}
        raise Invalid(_("Multi-instance element '%(element)s' runs once per item of the list variable "
                        "'%(variable)s': %(found)s") % {"element": element, "variable": variable, "found": found},
                      element=element, field=variable,
                      reason="missing collection" if value is None else "collection is not a list")


def _checking_collection(task_spec) -> None:
    """Check the collection where the library first reads it, once the element has its data: when a
    parallel element creates its children, when a sequential one counts its items. Once per spec."""
    if getattr(task_spec, "_bokji_checked", False):
        return
    name = "create_children" if isinstance(task_spec, ParallelMultiInstanceTask) else "init_remaining_items"
    original = getattr(task_spec, name)
    element, variable = task_spec.bpmn_id, task_spec.data_output.bpmn_id

    def checked(my_task):
        _check_collection(element, variable, my_task.data)
        return original(my_task)

    setattr(task_spec, name, checked)
    task_spec._bokji_checked = True


def _settle_multi_instance(spec) -> None:
    """SpiffWorkflow's multi-instance tasks finish configuring their spec when an instance first
    reaches them (Camunda's update_task_spec, and the child-completion wiring in create_child).
    Specs are parsed once per process and shared, and a worker restores instances it never started,
    so that has to happen here, once, for every process that loads the spec."""
    for task_spec in list(spec.task_specs.values()):
        if not isinstance(task_spec, ParallelMultiInstanceTask | SequentialMultiInstanceTask):
            continue
        # Children report back through an event the library wires only when it creates a child; a
        # process restoring an instance it did not start would never hear a child finish.
        child_spec = spec.task_specs[task_spec.task_spec]
        if not child_spec.completed_event.is_connected(task_spec.merge_child):
            child_spec.completed_event.connect(task_spec.merge_child)
        if task_spec.cardinality is None:
            task_spec.data_input = TaskDataReference(task_spec.data_output.bpmn_id)
            _checking_collection(task_spec)
            task_spec.input_item = TaskDataReference(task_spec.output_item.bpmn_id)
        elif str(task_spec.cardinality).strip().isdigit():
            task_spec.input_item = (TaskDataReference(task_spec.output_item.bpmn_id)
                                    if task_spec.output_item is not None else None)
        else:
            raise ValidationException(
                _("multi-instance '%(element)s': loopCardinality must be a whole number; to run once per item "
                  "of a list use camunda:collection and camunda:elementVariable") % {"element": task_spec.bpmn_id},
                file_name=None, id=task_spec.bpmn_id)


def build_specs(bundle: Bundle, trees: dict[str, etree._ElementTree] | None = None) -> dict[str, Specs]:
    """Parse the bundle with SpiffWorkflow; one Specs per process and collaboration id."""
    parser = BokjiParser()
    if trees is None:
        trees = {n: _parse_xml(n, c) for n, c in bundle.files.items() if not n.endswith(".form")}
    current = None
    try:
        for name, tree in trees.items():
            current = name
            if name.endswith(".dmn"):
                parser.add_dmn_xml(tree.getroot(), filename=name)
            else:
                parser.add_bpmn_xml(tree, filename=name)
        settled: set[str] = set()
        while pending := [k for k in parser.process_parsers if k not in settled]:
            for key in pending:  # parsing one process can add others (its event sub-processes)
                settled.add(key)
                _settle_multi_instance(parser.process_parsers[key].get_spec())
        out: dict[str, Specs] = {}
        for pid in bundle.processes:
            current = None
            out[pid] = Specs(pid, parser.get_spec(pid), parser.get_subprocess_specs(pid), bundle.elements,
                             bundle.messages)
        for cid in bundle.collaborations:
            spec, subs = parser.get_collaboration(cid)
            out[cid] = Specs(cid, spec, subs, bundle.elements, bundle.messages)
        return out
    except ValidationException as exc:
        raise reject(exc.file_name or current or "?", str(exc), element=exc.id or None,
                     line=exc.line_number or None) from None
    except SpiffWorkflowException as exc:
        raise reject(current or "?", str(exc)) from None
    except (KeyError, AttributeError, TypeError, ValueError, IndexError) as exc:
        # The library reports some model errors as raw Python errors; never show those as-is.
        raise reject(current or "?", _("the model could not be parsed (%(error)s)") % {
            "error": f"{type(exc).__name__}: {exc}"}) from None
