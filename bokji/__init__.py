"""bokji: welfare services run as BPMN processes.

`steps/` is the step coordinator (every change to a running instance); the other packages here are
row-level domain services (definitions, instances, tasks, jobs, identity, privacy, rules, catalog,
screening, registry, linkage, applications, payments, notices) that `steps`, `api/` and `workers/`
import. Handlers and calculations are listed in `registrations.py`. Only `processes/` imports
SpiffWorkflow.
"""
