"""Task data across the process boundary: JSON, plus the dates, date-times, decimals and durations
the platform puts into task data, each as a tagged object `{"$t": "date", "v": "2025-03-10"}`.

Anything else (a function, a module, a set, an object) cannot cross: `Unencodable` names the variable
and the type, never the value. Both sides use this module; it imports only the standard library.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from processes.sandbox import N_

TAG = "$t"


class Unencodable(Exception):
    """A value that is not JSON-like; `path` names where it is (`x`, `x.items[2]`). `text` and `params`
    are the message as a catalog text, for the host to word in the reader's language."""

    def __init__(self, path: str, type_name: str,
                 text: str = N_("'%(path)s' holds a %(type)s, which a model cannot read or write")) -> None:
        self.text, self.params = text, {"path": path, "type": type_name}
        super().__init__(text % self.params)
        self.path = path
        self.type_name = type_name


def encode(value: Any, path: str = "value", depth: int = 0) -> Any:
    if depth > 100:
        raise Unencodable(path, "structure", N_("'%(path)s' holds a structure nested more than 100 levels, "
                                               "which a model cannot read or write"))
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else \
            {TAG: "float", "v": repr(value)}
    if isinstance(value, list | tuple):
        return [encode(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise Unencodable(f"{path} key", type(key).__name__)
            out[key] = encode(item, f"{path}.{key}", depth + 1)
        return {TAG: "dict", "v": out} if TAG in out else out
    if isinstance(value, datetime):
        return {TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, date):
        return {TAG: "date", "v": value.isoformat()}
    if isinstance(value, Decimal):
        return {TAG: "decimal", "v": str(value)}
    if isinstance(value, timedelta):
        return {TAG: "timedelta", "v": [value.days, value.seconds, value.microseconds]}
    raise Unencodable(path, type(value).__name__)


_DECODERS = {
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
    "decimal": Decimal,
    "timedelta": lambda v: timedelta(days=v[0], seconds=v[1], microseconds=v[2]),
    "float": float,
}


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        tag = value.get(TAG)
        if tag is None:
            return {k: decode(v) for k, v in value.items()}
        if tag == "dict":
            return {k: decode(v) for k, v in value["v"].items()}
        return _DECODERS[tag](value["v"])
    return value


def encode_names(names: dict[str, Any]) -> dict[str, Any]:
    return {name: encode(value, name) for name, value in names.items()}
