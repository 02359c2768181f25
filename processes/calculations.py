"""Registered, versioned calculations that business rule tasks call by name.

Procedural rules (like recognised income, where the order of deductions matters) are Python
functions over task data, registered here by the domain (bokji/rules/registry.py) with a version.
A business rule task names one with `<camunda:property name="calculation" value="NAME"/>`; the
engine runs it inline — it must be deterministic and do no I/O — and merges what it returns into
the task data, including the version that produced it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Calculation = Callable[[dict[str, Any]], dict[str, Any]]
_REGISTRY: dict[str, tuple[str, Calculation]] = {}


def register(name: str, version: str, fn: Calculation) -> None:
    current = _REGISTRY.get(name)
    if current is not None and current[1] is not fn:
        raise ValueError(f"calculation '{name}' is already registered")
    _REGISTRY[name] = (version, fn)


def get(name: str) -> tuple[str, Calculation] | None:
    return _REGISTRY.get(name)


def registered() -> list[str]:
    return sorted(_REGISTRY)
