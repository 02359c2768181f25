"""The roles of the platform. Every API endpoint declares which of them may call it; what each
role may see of one case or person is bokji/scope/policy.py's."""

from enum import StrEnum


class Role(StrEnum):
    DESIGNER = "designer"  # edits and deploys BPMN/DMN/forms
    CASEWORKER = "caseworker"  # takes applications, works queues, completes tasks
    SUPERVISOR = "supervisor"  # approves above limits, reassigns work in an office
    MINISTRY_OFFICER = "ministry_officer"  # follows the cases of their ministry's services, any office
    MANAGER = "manager"  # watches turnaround and SLA compliance
    AUDITOR = "auditor"  # reads the access and operator logs
    ADMIN = "admin"  # manages users and operates the platform
    INTEGRATION = "integration"  # another system: correlates messages, works external tasks


ALL_ROLES = tuple(Role)
