"""The one evaluator: every gateway condition, script, timer and DMN cell goes through here.

SpiffWorkflow's default environment is plain eval/exec over task data. Keeping the single entry
point here is what lets the roadmap's sandbox (AST-checked expressions, scripts in a child process)
replace it in one place. Until then, process models are trusted code: only designers deploy them.
"""

from __future__ import annotations

import datetime
import json
import math
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

# Names a model may use besides its task data. Kept small on purpose.
SAFE_GLOBALS: dict[str, Any] = {
    "datetime": datetime,
    "json": json,
    "math": math,
    "round": round,
    "min": min,
    "max": max,
    "sum": sum,
    "len": len,
    "abs": abs,
}


class Environment(TaskDataEnvironment):
    def __init__(self) -> None:
        super().__init__(dict(SAFE_GLOBALS))


def compile_expression(source: str) -> None:
    """Raise SyntaxError if `source` is not a Python expression."""
    compile(source, "<expression>", "eval")


def compile_script(source: str) -> None:
    compile(source, "<script>", "exec")


def make_engine() -> PythonScriptEngine:
    return PythonScriptEngine(environment=Environment())


ENGINE = make_engine()
