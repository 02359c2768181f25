"""Every table, imported in one place for Alembic and for relationship resolution."""

from bokji.applications.models import Application, ApplicationCase
from bokji.calendar.models import Closure
from bokji.casefiles.models import CaseDocument, CaseNote
from bokji.catalog.models import CatalogService
from bokji.clocks.models import CaseClock, ClockEvent, Notification
from bokji.consents.models import Consent
from bokji.db import Base
from bokji.definitions.models import Definition, Deployment
from bokji.entitlements.models import Entitlement
from bokji.identity.models import LoginThrottle, RevokedToken, User
from bokji.instances.models import ElementHistory, Incident, OperatorAction, ProcessInstance
from bokji.jobs.models import Job
from bokji.linkage.models import Document, Evidence, EvidenceUse
from bokji.monitor.models import (
    MonitorApplication,
    MonitorCase,
    MonitorCaseElement,
    MonitorCaseload,
    MonitorCaseStage,
    MonitorDay,
    MonitorElement,
    MonitorStageP90,
    MonitorState,
)
from bokji.notices.models import DecisionNotice
from bokji.offices.models import Office
from bokji.payments.models import PaymentSchedule
from bokji.privacy.access_log import AccessLog
from bokji.queues.models import SavedFilter
from bokji.registry.models import Household, Membership, Person, Residence
from bokji.rules.models import RuleParameter
from bokji.scope.models import CounterGrant
from bokji.tasks.models import HumanTask, TaskDraft
from bokji.teams.models import Substitute, Team, TeamMember

__all__ = [
    "AccessLog", "Application", "ApplicationCase", "Base", "CaseClock", "CaseDocument", "CaseNote", "CatalogService",
    "ClockEvent", "Closure", "Consent", "CounterGrant", "DecisionNotice", "Definition", "Deployment", "Document",
    "ElementHistory", "Entitlement", "Evidence", "EvidenceUse", "Household", "HumanTask", "Incident", "Job",
    "LoginThrottle", "Membership", "MonitorApplication", "MonitorCase", "MonitorCaseElement", "MonitorCaseStage",
    "MonitorCaseload", "MonitorDay", "MonitorElement", "MonitorStageP90", "MonitorState", "Notification", "Office",
    "OperatorAction", "PaymentSchedule", "Person", "ProcessInstance", "Residence", "RevokedToken", "RuleParameter",
    "SavedFilter", "Substitute", "TaskDraft", "Team", "TeamMember", "User",
]
