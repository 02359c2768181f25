"""The functions a model may call, and the guards the policy inserts; they run in the sandbox child.

All are pure functions of their arguments: no I/O and no clock of their own. `now()` and `today()`
return the instant the host sent with the request (read from `bokji/clock.py`), so a model sees the
platform's time, never the child's. Only the standard library is used: the child imports this
module before it locks itself down and can import nothing afterwards.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from processes.sandbox import N_

# Bounds no OS limit enforces in time: one C-level multiplication of two huge integers holds the
# GIL for minutes, and `"x" * 10**10` allocates before any Python code runs again.
MAX_INT_BITS = 4096  # ~1,233 decimal digits; the largest amount in won needs 60 bits
MAX_SEQUENCE = 1_000_000  # items or characters one repetition may produce

SEOUL = timezone(timedelta(hours=9), "Asia/Seoul")  # Korea has kept +09:00 all year since 1988


class Said(Exception):
    """An error whose message is a catalog text (`N_`) with named parameters. `str()` is the English
    text; the child sends `text` and `params` across and the host words them in the reader's language."""

    error_type: str | None = None  # the Python error a designer is told of (TypeError, ValueError)

    def __init__(self, text: str, **params: Any) -> None:
        super().__init__(text % params if params else text)
        self.text, self.params = text, params


class LimitExceeded(Said):
    """A model asked for more than a bound allows (integer size, repetition)."""


class NotAllowed(Said):
    """A construct the allowlist cannot see statically (string % formatting on a value)."""


class HelperTypeError(Said, TypeError):
    """A helper was given a value of a type it does not take (names the type, never the value)."""

    error_type = "TypeError"


class HelperValueError(Said, ValueError):
    """A helper was given a value it cannot use (never says the value)."""

    error_type = "ValueError"


# ---- the platform's instant, set by the child for each request -----------------------------------
_instant: list[datetime] = [datetime(1970, 1, 1, tzinfo=UTC)]


def set_instant(instant: datetime) -> None:
    _instant[0] = instant


def now() -> datetime:
    """The platform's current instant (UTC), as the host's clock gave it for this evaluation."""
    return _instant[0]


def today() -> date:
    """Today's date in Korea (Asia/Seoul) at the platform's instant."""
    return _instant[0].astimezone(SEOUL).date()


# ---- dates ---------------------------------------------------------------------------------------------
def to_date(value: Any) -> date:
    """A date from a date, a date-time or an ISO-8601 string (`2025-03-10`, `2025-03-10T09:00+09:00`)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text).date()
    raise HelperTypeError(N_("to_date() takes a date or an ISO-8601 string, not %(type)s"), type=type(value).__name__)


def to_datetime(value: Any) -> datetime:
    """A date-time from an ISO-8601 string or a date (midnight in Seoul); naive values are taken as UTC."""
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, date):
        result = datetime(value.year, value.month, value.day, tzinfo=SEOUL)
    elif isinstance(value, str):
        result = datetime.fromisoformat(value.strip())
    else:
        raise HelperTypeError(N_("to_datetime() takes a date-time or an ISO-8601 string, not %(type)s"),
                              type=type(value).__name__)
    return result if result.tzinfo else result.replace(tzinfo=UTC)


def add_days(value: Any, days: int) -> date:
    return to_date(value) + timedelta(days=int(days))


def add_months(value: Any, months: int) -> date:
    """Calendar months later (or earlier); the day is clamped to the month's last (Jan 31 + 1 → Feb 28)."""
    start = to_date(value)
    index = start.month - 1 + int(months)
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def add_years(value: Any, years: int) -> date:
    return add_months(value, 12 * int(years))


def days_between(start: Any, end: Any) -> int:
    """Calendar days from `start` to `end` (negative if `end` is earlier)."""
    return (to_date(end) - to_date(start)).days


# ---- numbers --------------------------------------------------------------------------------------------
def round_half_up(value: Any, ndigits: int = 0) -> int | Decimal:
    """Rounding as the benefit rules do it (0.5 up), unlike Python's round (0.5 to even)."""
    try:
        exact = Decimal(str(value)).quantize(Decimal(1).scaleb(-int(ndigits)), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise HelperValueError(N_("round_half_up() takes a number")) from None
    return int(exact) if int(ndigits) <= 0 else exact


def floor(value: Any) -> int:
    return math.floor(value)


def ceil(value: Any) -> int:
    return math.ceil(value)


def decimal(value: Any) -> Decimal:
    """An exact decimal number from a number or a string (`decimal("0.7")`)."""
    if isinstance(value, float):
        value = repr(value)
    try:
        return Decimal(value)
    except (InvalidOperation, TypeError):
        raise HelperValueError(N_("decimal() takes a number or a numeric string")) from None


# ---- the guards the policy puts in place of *, **, << and % --------------------------------------------
def _int_bits(value: Any) -> int:
    return abs(value).bit_length() if isinstance(value, int) else 0


def guard_mul(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int):
        if _int_bits(left) + _int_bits(right) > MAX_INT_BITS:
            raise LimitExceeded(N_("integer result larger than %(bits)s bits"), bits=MAX_INT_BITS)
    else:
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, str | list | tuple | bytes) and isinstance(times, int):
                if len(seq) * times > MAX_SEQUENCE:
                    raise LimitExceeded(N_("sequence repetition longer than %(count)s items"), count=f"{MAX_SEQUENCE:,}")
    return left * right


def guard_pow(base: Any, exponent: Any) -> Any:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        if exponent * (_int_bits(base) - 1) > MAX_INT_BITS:
            raise LimitExceeded(N_("integer result larger than %(bits)s bits"), bits=MAX_INT_BITS)
    return base**exponent


def guard_lshift(value: Any, shift: Any) -> Any:
    if isinstance(value, int) and isinstance(shift, int) and value and _int_bits(value) + shift > MAX_INT_BITS:
        raise LimitExceeded(N_("integer result larger than %(bits)s bits"), bits=MAX_INT_BITS)
    return value << shift


def guard_mod(left: Any, right: Any) -> Any:
    if isinstance(left, str | bytes):
        # '%*d' % (10**9, 1) builds a gigabyte; f-strings are checked statically instead.
        raise NotAllowed(N_("string formatting with % (use an f-string)"))
    return left % right


# The policy rewrites `a * b` to `_bokji_mul(a, b)` and so on. The names start with an underscore,
# which no model may write, so a model can neither call nor shadow them.
GUARDS: dict[str, Callable[..., Any]] = {
    "_bokji_mul": guard_mul,
    "_bokji_pow": guard_pow,
    "_bokji_lshift": guard_lshift,
    "_bokji_mod": guard_mod,
}

# What a model can call. Scripts also get `range`; expressions have no loops, so no range.
EXPRESSION_HELPERS: dict[str, Callable[..., Any]] = {
    "now": now, "today": today, "to_date": to_date, "to_datetime": to_datetime,
    "add_days": add_days, "add_months": add_months, "add_years": add_years, "days_between": days_between,
    "round_half_up": round_half_up, "floor": floor, "ceil": ceil, "decimal": decimal,
    "abs": abs, "all": all, "any": any, "bool": bool, "dict": dict, "enumerate": enumerate, "filter": filter,
    "float": float, "int": int, "isinstance": isinstance, "len": len, "list": list, "map": map, "max": max,
    "min": min, "reversed": reversed, "round": round, "set": set, "sorted": sorted, "str": str, "sum": sum,
    "tuple": tuple, "zip": zip,
}
SCRIPT_HELPERS: dict[str, Callable[..., Any]] = {**EXPRESSION_HELPERS, "range": range}
