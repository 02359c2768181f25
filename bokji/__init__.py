"""bokji: welfare services run as BPMN processes.

Domain packages live here (identity, definitions, cases, tasks, jobs, privacy); `api/` and `workers/`
import them. Only `processes/` imports SpiffWorkflow.
"""
