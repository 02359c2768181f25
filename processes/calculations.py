"""Calculations: versioned Python functions over task data that business rule tasks call by name.

Procedural rules (like recognised income, where the order of deductions matters) are plain functions
of the domain (bokji/rules/calculations.py), listed with their name and version in one place
(bokji/registrations.py). A business rule task names one with
`<camunda:property name="calculation" value="NAME"/>`; deploy refuses a name that is not listed, and
the runtime is handed the list for each run (`Run.start/restore(..., calculations=)`), so nothing
registers itself by being imported. The engine runs it inline — it must be deterministic and do no
I/O — and merges what it returns into the task data, with the version that produced it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Calculation:
    name: str
    version: str
    run: Callable[[dict[str, Any]], dict[str, Any]]


Calculations = Mapping[str, Calculation]
