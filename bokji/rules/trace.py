"""What a benefit rule returns: a status, an amount with its unit and period, reasons and a trace.

Reasons and trace steps are message ids with parameters (bokji/rules/messages.py holds their
texts), so pages can show them in the reader's language. Every step names the parameters it used;
a step using a figure whose confidence is not high is `unverified`, and so is the assessment.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bokji.rules.messages import render
from bokji.rules.parameters import ParameterSet

ELIGIBLE, NOT_ELIGIBLE, NEEDS_INFORMATION = "eligible", "not_eligible", "needs_information"


def won(value: Decimal | int | float | str) -> int:
    """Whole won, half up, as the published tables round."""
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass
class Message:
    id: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return render(self.id, self.params)


@dataclass
class Step:
    id: str
    params: dict[str, Any]
    result: int | None
    parameters: list[str] = field(default_factory=list)  # name@year of every figure used
    unverified: bool = False

    @property
    def text(self) -> str:
        return render(self.id, self.params)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "params": self.params, "result": self.result, "parameters": self.parameters,
                "unverified": self.unverified, "text": self.text}


@dataclass
class Assessment:
    calculation: str  # name@version of the rule
    status: str = NEEDS_INFORMATION
    amount: int | None = None  # whole won per period
    period: str | None = None  # month | year
    payment: str = "cash"  # cash | in_kind | qualification
    duration_months: int | None = None  # None: until a review or a change ends it
    tested_income: int | None = None  # the income the rule compares with its line
    threshold: int | None = None
    parameter_year: int | None = None
    reasons: list[Message] = field(default_factory=list)
    trace: list[Step] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # what is needed to decide: a parameter or a field
    unverified: list[str] = field(default_factory=list)  # parameters and assumptions not confirmed

    def to_dict(self) -> dict[str, Any]:
        # By hand, not dataclasses.asdict: screening turns hundreds of these into JSON per request.
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["reasons"] = [{"id": r.id, "params": r.params, "text": r.text} for r in self.reasons]
        out["trace"] = [s.to_dict() for s in self.trace]
        return out


class Tracer:
    """Builds an assessment: reads parameters (recording which, and whether verified), adds steps."""

    def __init__(self, calculation: str, params: ParameterSet) -> None:
        self.params = params
        self.result = Assessment(calculation, parameter_year=params.year)
        self._used: list[str] = []

    def value(self, name: str) -> Any:
        parameter = self.params.get(name)  # MissingParameter propagates to `run`
        tag = f"{name}@{parameter.year}"
        if tag not in self._used:
            self._used.append(tag)
        if parameter.unverified and tag not in self.result.unverified:
            self.result.unverified.append(tag)
        return parameter.value

    def step(self, message: str, result: int | None = None, *, assumption: str | None = None,
             **params: Any) -> int | None:
        """A trace step using the parameters read since the last step; `assumption` marks a rule of
        ours the reference does not confirm (it makes the step and the assessment unverified)."""
        used, self._used = self._used, []
        unverified = any(u in self.result.unverified for u in used)
        if assumption:
            unverified = True
            if assumption not in self.result.unverified:
                self.result.unverified.append(assumption)
        self.result.trace.append(Step(message, params, result, used, unverified))
        return result

    def reason(self, message: str, **params: Any) -> None:
        self.result.reasons.append(Message(message, params))

    def needs(self, what: str, message: str = "needs.field", **params: Any) -> Assessment:
        """Stop: the rule cannot decide without `what` (a field path or a parameter name@year)."""
        self.result.status = NEEDS_INFORMATION
        self.result.amount = self.result.period = None
        if what not in self.result.missing:
            self.result.missing.append(what)
        self.reason(message, what=what, **params)
        return self.result

