"""Form definitions: load, check, validate submissions and render them as plain HTML.

The definition format is the @bpmn-io/form-js JSON schema, restricted to the component types
below, so the same `.form` file can be edited in the form-js editor, stored with a deployment and
enforced here. The server is the only validator: the rendered form sets `novalidate`, and every
rule the browser could check is checked again by `FormDefinition.validate`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import re2
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bokji import i18n
from bokji.config import get_settings
from bokji.errors import Invalid
from bokji.i18n import N_
from bokji.i18n import gettext as _
from forms import labels

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

COMPONENT_TYPES = frozenset(
    {"textfield", "textarea", "number", "checkbox", "radio", "select", "datetime", "text", "checklist"}
)
CHOICE_TYPES = frozenset({"radio", "select", "checklist"})
TEXT_TYPES = frozenset({"textfield", "textarea"})
DATETIME_SUBTYPES = frozenset({"date", "datetime"})
RULE_NAMES = frozenset({"required", "min", "max", "minLength", "maxLength", "pattern"})
# An amount field (a `number` with `"amount": {"unit": "KRW", "period": ...}`): the units and periods it
# may declare. Period "case" is the case's own: monthly or yearly, as the case's amount is (render_form's
# `amount_period`); the label says which ("원, 월액").
AMOUNT_UNITS = frozenset({"KRW"})
AMOUNT_PERIODS = frozenset({"month", "year", "once", "case"})
AMOUNT_PERIOD_NAMES = {"month": N_("won, monthly amount"), "year": N_("won, yearly amount"),
                       "once": N_("won, one-off amount")}
# What people type between the digits of an amount: separators and the unit ("1,500,000원", "1 500 000").
_AMOUNT_NOISE = re.compile(r"[,\s\u00a0\u2009\u202f_]")
_AMOUNT_UNIT_SUFFIX = re.compile(r"(원|KRW|krw|₩)$")

# The hidden field `render_form` adds: part of every post of a rendered form, never form data.
CSRF_FIELD = "csrf_token"

# Keys become process variables that gateway conditions refer to, so they must be identifiers.
_FIELD_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Form keys name files under forms_dir; this also keeps "../" out of the path.
_FORM_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_HEADING = re.compile(r"(#{1,6})\s+(.+)")

# Patterns are written by designers and run on caseworkers' input: RE2 runs in time linear in the
# input, so no pattern (like `(a+)+$`) can hold a request thread. Python's `re` is never used for them.
MAX_PATTERN_CHARS = 1000
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # RE2 would print every refused pattern to stderr
_RE2_OPTIONS.max_mem = 1 << 20  # compiled program size, bytes


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> Any:
    return re2.compile(pattern, _RE2_OPTIONS)


_TRUE = frozenset({"on", "true", "1"})
_FALSE = frozenset({"off", "false", "0", ""})


@dataclass(frozen=True)
class Choice:
    label: str
    value: Any


@dataclass(frozen=True)
class Rules:
    required: bool = False
    min: float | None = None
    max: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None


@dataclass(frozen=True)
class Amount:
    unit: str = "KRW"
    period: str | None = None  # month | year | once | case (the case's period, known when rendering)


@dataclass(frozen=True)
class Component:
    type: str
    key: str | None = None  # None only for `text`
    label: str = ""
    description: str = ""
    values: tuple[Choice, ...] = ()
    rules: Rules = Rules()
    default: Any = None
    subtype: str | None = None  # datetime: "date" | "datetime"
    text: str = ""  # `text` components only
    amount: Amount | None = None  # number components that are amounts of money


class _FieldError(Exception):
    """One field's failure; `validate` collects them so the user sees every problem at once."""


# --- loading -------------------------------------------------------------------------------------


def _malformed(form_id: str, reason: str, component: str | int | None = None) -> Invalid:
    """`reason` in the designer's language (a catalog text)."""
    where = _("form '%(form)s'") % {"form": form_id} if component is None else \
        _("form '%(form)s', component %(component)s") % {"form": form_id, "component": component}
    detail: dict[str, Any] = {"field": "form", "form": form_id, "reason": reason}
    if component is not None:
        detail["component"] = component
    return Invalid(_("%(where)s: %(reason)s") % {"where": where, "reason": reason}, **detail)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse_rules(raw: Any, fail: Any) -> Rules:
    if raw is None:
        return Rules()
    if not isinstance(raw, dict):
        raise fail(_("'validate' must be an object"))
    unknown = sorted(set(raw) - RULE_NAMES)
    if unknown:
        raise fail(_("unsupported validation rule(s): %(rules)s") % {"rules": ", ".join(unknown)})
    for name in ("min", "max"):
        if raw.get(name) is not None and not _number(raw[name]):
            raise fail(_("validate.%(rule)s must be a number") % {"rule": name})
    for name in ("minLength", "maxLength"):
        if raw.get(name) is not None and (not isinstance(raw[name], int) or isinstance(raw[name], bool)
                                          or raw[name] < 0):
            raise fail(_("validate.%(rule)s must be a non-negative integer") % {"rule": name})
    pattern = raw.get("pattern")
    if pattern is not None:
        if not isinstance(pattern, str) or len(pattern) > MAX_PATTERN_CHARS:
            raise fail(_("validate.pattern must be text of at most %(count)s characters") % {
                "count": MAX_PATTERN_CHARS})
        try:
            compile_pattern(pattern)
        except re2.error as exc:
            reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else exc
            raise fail(_("validate.pattern is refused: not a regular expression the linear-time engine (RE2) "
                         "can run (%(reason)s); backreferences and lookaround are not supported") % {
                "reason": reason}) from None
    return Rules(
        required=bool(raw.get("required", False)),
        min=raw.get("min"),
        max=raw.get("max"),
        min_length=raw.get("minLength"),
        max_length=raw.get("maxLength"),
        pattern=pattern or None,
    )


def _parse_amount(raw: Any, fail: Any) -> Amount | None:
    if raw is None or raw is False:
        return None
    if raw is True:
        return Amount()
    if not isinstance(raw, dict) or set(raw) - {"unit", "period"}:
        raise fail(_("'amount' must be an object with 'unit' and 'period'"))
    unit, period = raw.get("unit", "KRW"), raw.get("period")
    if unit not in AMOUNT_UNITS:
        raise fail(_("amount.unit must be one of: %(units)s") % {"units": ", ".join(sorted(AMOUNT_UNITS))})
    if period is not None and period not in AMOUNT_PERIODS:
        raise fail(_("amount.period must be one of: %(periods)s") % {"periods": ", ".join(sorted(AMOUNT_PERIODS))})
    return Amount(unit=unit, period=period)


def _parse_choices(raw: Any, fail: Any) -> tuple[Choice, ...]:
    if not isinstance(raw, list) or not raw:
        raise fail(_("a choice component needs a non-empty 'values' list ('valuesKey' is not supported)"))
    choices = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("value"), str | int | float):
            raise fail(_("values[%(index)s] needs a 'value' (text or number) and a 'label'") % {"index": i})
        choices.append(Choice(label=str(item.get("label", item["value"])), value=item["value"]))
    if len({str(c.value) for c in choices}) != len(choices):
        raise fail(_("'values' has the same value twice"))
    return tuple(choices)


def _parse_component(form_id: str, index: int, raw: Any) -> Component:
    key = raw.get("key") if isinstance(raw, dict) else None
    where = f"#{index}" + (f" ('{key}')" if isinstance(key, str) and key else "")

    def fail(reason: str) -> Invalid:
        return _malformed(form_id, reason, where)

    if not isinstance(raw, dict):
        raise fail(_("must be an object"))
    kind = raw.get("type")
    if kind not in COMPONENT_TYPES:
        raise fail(_("unknown component type '%(type)s' (supported: %(supported)s)") % {
            "type": kind, "supported": ", ".join(sorted(COMPONENT_TYPES))})
    if kind == "text":
        if not isinstance(raw.get("text", ""), str):
            raise fail(_("'text' must be a string"))
        return Component(type="text", text=raw.get("text", ""))
    if not isinstance(key, str) or not key:
        raise fail(_("a %(type)s component needs a 'key'") % {"type": kind})
    if not _FIELD_KEY.fullmatch(key):
        raise fail(_("key must be a letter or '_' followed by letters, digits or '_' (it becomes a variable)"))
    if key == CSRF_FIELD:
        raise fail(_("key '%(key)s' is reserved for the form's CSRF token") % {"key": CSRF_FIELD})
    subtype = None
    if kind == "datetime":
        subtype = raw.get("subtype", "date")
        if subtype not in DATETIME_SUBTYPES:
            raise fail(_("datetime subtype must be 'date' or 'datetime', not '%(subtype)s'") % {"subtype": subtype})
    return Component(
        amount=_parse_amount(raw.get("amount"), fail) if kind == "number" else None,
        type=kind,
        key=key,
        label=str(raw.get("label") or key),
        description=str(raw.get("description") or ""),
        values=_parse_choices(raw.get("values"), fail) if kind in CHOICE_TYPES else (),
        rules=_parse_rules(raw.get("validate"), fail),
        default=raw.get("defaultValue"),
        subtype=subtype,
    )


@dataclass(frozen=True)
class FormDefinition:
    id: str
    components: tuple[Component, ...]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # as stored

    @classmethod
    def from_dict(cls, definition: Any) -> FormDefinition:
        """Check a form-js definition (e.g. one stored with a deployment) or raise `Invalid` naming
        the component (index and key) and what is wrong with it."""
        if not isinstance(definition, dict):
            raise Invalid(_("The form definition must be a JSON object."), field="form", reason="not an object")
        form_id = definition.get("id")
        if not isinstance(form_id, str) or not form_id:
            raise Invalid(_("The form definition needs an 'id'."), field="form", reason="missing id")
        raw_components = definition.get("components")
        if not isinstance(raw_components, list):
            raise _malformed(form_id, _("'components' must be a list"))
        components = tuple(_parse_component(form_id, i, c) for i, c in enumerate(raw_components))
        seen: set[str] = set()
        for i, component in enumerate(components):
            if component.key is None:
                continue
            if component.key in seen:
                raise _malformed(form_id, _("duplicate key '%(key)s'") % {"key": component.key},
                                 f"#{i} ('{component.key}')")
            seen.add(component.key)
        return cls(id=form_id, components=components, raw=definition)

    @property
    def fields(self) -> tuple[Component, ...]:
        """The components that carry a value (everything but static text)."""
        return tuple(c for c in self.components if c.key is not None)

    def validate(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Cleaned values for every field, or `Invalid` listing every failing field.

        Optional fields left empty come back as None (checkbox False, checklist []) so that
        gateway conditions can always refer to them.
        """
        if not isinstance(data, Mapping):
            raise Invalid(_("A form submission must be an object of field values."), form=self.id,
                          errors=[{"field": "", "reason": "not an object"}])
        cleaned: dict[str, Any] = {}
        errors: list[dict[str, str]] = []
        for component in self.fields:
            try:
                cleaned[component.key] = _clean(component, _submitted(data, component))
            except _FieldError as exc:
                errors.append({"field": component.key, "reason": str(exc)})
        known = {c.key for c in self.fields} | {CSRF_FIELD}
        errors += [{"field": str(k), "reason": _("unknown field")} for k in data if k not in known]
        if errors:
            summary = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
            raise Invalid(_("Check the form: %(summary)s") % {"summary": summary}, form=self.id, errors=errors)
        return cleaned


def load_form(key: str, forms_dir: Path | None = None) -> FormDefinition:
    """Read and check `<forms_dir>/<key>.form` (forms_dir defaults to the `forms_dir` setting)."""
    folder = forms_dir if forms_dir is not None else get_settings().forms_dir
    path = folder / f"{key}.form"
    if not isinstance(key, str) or not _FORM_KEY.fullmatch(key) or not path.is_file():
        # The folder stays out of the message: it is an API response, not a place for server paths.
        raise Invalid(_("Unknown form '%(key)s' (no such .form definition).") % {"key": key}, field="form",
                      form=str(key), reason="unknown form")
    try:
        definition = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise _malformed(key, _("%(file)s is not valid JSON: %(error)s") % {"file": path.name, "error": exc}) from None
    return FormDefinition.from_dict(definition)


# --- validating submissions ----------------------------------------------------------------------


def _submitted(data: Mapping[str, Any], component: Component) -> Any:
    # HTML posts repeat a checklist's name once per ticked box; multi-dicts (Starlette's FormData)
    # give all of them with getlist, a plain dict holds the list (JSON) or a single value.
    if component.type == "checklist" and hasattr(data, "getlist") and component.key in data:
        return data.getlist(component.key)
    return data.get(component.key)


def _missing(value: Any) -> bool:
    # Browsers post untouched inputs as "" (and "   " is no answer either).
    return value is None or (isinstance(value, str) and not value.strip())


def _clean(component: Component, value: Any) -> Any:
    if component.type == "checkbox":
        checked = _clean_checkbox(value)
        if component.rules.required and not checked:
            raise _FieldError(_("required"))
        return checked
    if component.type == "checklist":
        chosen = _clean_checklist(component, value)
        if component.rules.required and not chosen:
            raise _FieldError(_("required"))
        return chosen
    if _missing(value):
        if component.rules.required:
            raise _FieldError(_("required"))
        return None
    return _CLEANERS[component.type](component, value)


def _clean_checkbox(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)  # an unticked box is not posted at all
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise _FieldError(_("must be checked or unchecked"))


def _choose(component: Component, value: Any) -> Any:
    # Compare as text: HTML posts strings even when the definition's values are numbers.
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        for choice in component.values:
            if str(choice.value) == str(value).strip():
                return choice.value
    raise _FieldError(_("must be one of: %(choices)s") % {"choices": ", ".join(str(c.value) for c in component.values)})


def _clean_checklist(component: Component, value: Any) -> list[Any]:
    if _missing(value):
        return []
    items = [value] if isinstance(value, str | int | float) else value
    if not isinstance(items, list | tuple):
        raise _FieldError(_("must be a list of choices"))
    chosen: list[Any] = []
    for item in items:
        if _missing(item):
            continue
        picked = _choose(component, item)
        if picked not in chosen:
            chosen.append(picked)
    return chosen


def _clean_text(component: Component, value: Any) -> str:
    if not isinstance(value, str):
        raise _FieldError(_("must be text"))
    if component.type == "textarea":
        value = value.replace("\r\n", "\n")  # browsers post CRLF; count a line break as one character
    rules = component.rules
    if rules.min_length is not None and len(value) < rules.min_length:
        raise _FieldError(_("must be at least %(count)s characters") % {"count": rules.min_length})
    if rules.max_length is not None and len(value) > rules.max_length:
        raise _FieldError(_("must be at most %(count)s characters") % {"count": rules.max_length})
    # form-js tests patterns with RegExp.test, i.e. a search anywhere, so we do the same.
    if rules.pattern and not compile_pattern(rules.pattern).search(value):
        raise _FieldError(_("must match the pattern %(pattern)s") % {"pattern": rules.pattern})
    return value


def _format_number(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _parse_number(value: Any) -> int | float:
    if _number(value):
        number: int | float = value
    elif isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    elif isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        number = float(value.strip())
    else:
        raise _FieldError(_("must be a number, like 1500000"))
    if isinstance(number, float):
        if not math.isfinite(number):
            raise _FieldError(_("must be a number, like 1500000"))
        if number.is_integer():
            return int(number)
    return number


def parse_amount(value: Any) -> int:
    """A whole amount of won as people type it: "1,500,000", "1500000원", "1 500 000" -> 1500000."""
    if _number(value):
        if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
            raise _FieldError(_("must be a whole amount of won, like 1,500,000"))
        return int(value)
    if not isinstance(value, str):
        raise _FieldError(_("must be a whole amount of won, like 1,500,000"))
    text = _AMOUNT_UNIT_SUFFIX.sub("", _AMOUNT_NOISE.sub("", value))
    if not _INTEGER.fullmatch(text):
        raise _FieldError(_("must be a whole amount of won, like 1,500,000"))
    return int(text)


def _clean_number(component: Component, value: Any) -> int | float:
    number = parse_amount(value) if component.amount is not None else _parse_number(value)
    rules = component.rules
    if rules.min is not None and number < rules.min:
        raise _FieldError(_("must be at least %(number)s") % {"number": _format_number(rules.min)})
    if rules.max is not None and number > rules.max:
        raise _FieldError(_("must be at most %(number)s") % {"number": _format_number(rules.max)})
    return number


def _clean_choice(component: Component, value: Any) -> Any:
    return _choose(component, value)


def _clean_datetime(component: Component, value: Any) -> str:
    if component.subtype == "date":
        if isinstance(value, date) and not isinstance(value, datetime):
            return value.isoformat()
        parse, reason = date.fromisoformat, _("must be a date (YYYY-MM-DD)")
    else:
        if isinstance(value, datetime):
            return value.isoformat()
        parse, reason = datetime.fromisoformat, _("must be a date and time (YYYY-MM-DDTHH:MM)")
    if not isinstance(value, str):
        raise _FieldError(reason)
    try:
        parse(value.strip())
    except ValueError:
        raise _FieldError(reason) from None
    return value.strip()


_CLEANERS = {
    "textfield": _clean_text,
    "textarea": _clean_text,
    "number": _clean_number,
    "radio": _clean_choice,
    "select": _clean_choice,
    "datetime": _clean_datetime,
}


def errors_by_field(exc: Invalid) -> dict[str, str]:
    """The `errors` of a failed `validate` as `render_form` wants them: field key -> message."""
    messages: dict[str, str] = {}
    for error in exc.detail.get("errors", []):
        key = error["field"]
        messages[key] = f"{messages[key]}; {error['reason']}" if key in messages else error["reason"]
    return messages


# --- rendering -----------------------------------------------------------------------------------


@lru_cache
def template_environment() -> Environment:
    """The one Jinja2 environment over forms/templates, for every page: the translation catalog (new-style
    `_()`, the request's language) and the labels and formats of forms/labels.py."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every value shown may come from a user; never trust it as markup
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    labels.install(env)
    return env


def split_text(text: str) -> list[dict[str, Any]]:
    """Split a text component into headings ('# ...') and paragraphs, as written (each one message id
    of the catalog: forms/extract.py finds them the same way)."""
    blocks: list[dict[str, Any]] = []
    for chunk in re.split(r"\n\s*\n", text.strip()):
        first, _newline, rest = chunk.strip().partition("\n")
        heading = _HEADING.fullmatch(first.strip())
        if heading:  # a heading line may have its paragraph right under it
            level = max(2, len(heading.group(1)))  # the page title is the only h1
            blocks.append({"kind": "heading", "level": level, "text": heading.group(2)})
            chunk = rest
        if chunk.strip():
            blocks.append({"kind": "paragraph", "text": chunk.strip()})
    return blocks


def _text_blocks(text: str) -> list[dict[str, Any]]:
    """The blocks in the reader's language; the template escapes them."""
    return [{**block, "text": i18n.gettext(block["text"])} for block in split_text(text)]


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _selected(value: Any) -> set[str]:
    if _missing(value):
        return set()
    items = value if isinstance(value, list | tuple | set) else [value]
    return {str(item) for item in items}


def _amount_label(component: Component, case_period: str | None) -> str:
    """What the label adds for an amount: its unit and (if known) its period, e.g. "원, 월액"."""
    assert component.amount is not None
    period = case_period if component.amount.period == "case" else component.amount.period
    name = AMOUNT_PERIOD_NAMES.get(period or "")
    return _(name) if name else _("won")


def _amount_text(value: Any) -> str:
    """An amount shown with separators (a value typed wrongly is shown as typed)."""
    try:
        return f"{parse_amount(value):,}"
    except _FieldError:
        return _as_text(value)


def _view(
    component: Component, values: Mapping[str, Any] | None, errors: Mapping[str, str],
    amount_period: str | None = None,
) -> dict[str, Any]:
    if component.key is None:
        return {"type": "text", "blocks": _text_blocks(component.text)}
    key = component.key
    # Values given (a re-shown submission or prefilled variables) win; otherwise the definition's default.
    if values is not None and key in values:
        value = values[key]
        if component.type == "checklist" and hasattr(values, "getlist"):
            value = values.getlist(key)
    else:
        value = component.default
    element_id = f"f-{key}"
    error = errors.get(key)
    hint_id = f"{element_id}-hint" if component.description else None
    error_id = f"{element_id}-error" if error else None
    try:
        checked = _clean_checkbox(value) if component.type == "checkbox" else False
    except _FieldError:
        checked = False
    return {
        "type": component.type,
        "key": key,
        "id": element_id,
        # A form's texts go through the catalog: the library's forms are written in its message ids; a
        # designer's own text not in the catalog is shown as written.
        "label": i18n.gettext(component.label) if component.label else component.label,
        "description": i18n.gettext(component.description) if component.description else component.description,
        "required": component.rules.required,
        "value": _amount_text(value) if component.amount is not None and not _missing(value) else _as_text(value),
        "unit": _amount_label(component, amount_period) if component.amount is not None else None,
        "checked": checked,
        "selected": _selected(value),
        "choices": [
            {"id": f"{element_id}-{i}", "label": i18n.gettext(c.label) if c.label else c.label, "value": str(c.value)}
            for i, c in enumerate(component.values)
        ],
        "input_type": "date" if component.subtype == "date" else "datetime-local",
        "error": error,
        "hint_id": hint_id,
        "error_id": error_id,
        "describedby": " ".join(i for i in (hint_id, error_id) if i),
    }


def render_form(
    form: FormDefinition,
    *,
    action: str,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    title: str = "",
    csrf_token: str | None = None,
    case: Any = None,
    frame: Mapping[str, Any] | None = None,
    submit_label: str | None = None,
    amount_period: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """A complete HTML page with `form` posting to `action`; `errors` (field key -> message) are
    shown next to their fields and summarised at the top. `amount_period` (month | year) is the case's,
    for amount fields whose period is the case's; `extra` goes to the template as it is (the task page's
    state: claim, return reason, conflict, draft URL)."""
    errors = errors or {}
    components = [_view(c, values, errors, amount_period) for c in form.components]
    names = {c.key: i18n.gettext(c.label) if c.label else c.key for c in form.fields}
    summary = [
        {"label": names.get(key, key), "href": f"#f-{key}" if key in names else None, "message": message}
        for key, message in sorted(errors.items(), key=lambda item: _field_order(form, item[0]))
    ]
    return template_environment().get_template("form.html").render(
        form_id=form.id,
        action=action,
        title=title,
        components=components,
        summary=summary,
        csrf_field=CSRF_FIELD,
        submit_label=submit_label,  # the button's words (default: "Submit")
        case=case,  # the case the task belongs to (bokji.applications.summary), shown beside the form
        task_page={"draft_url": None, "claim": None, "returned": None, "conflict": None, "case_url": None,
                   "readonly": False, "draft_at": None, **(extra or {})},
        # the page frame: who is signed in, their menu, the language (api/pages.py)
        **{"csrf_token": csrf_token, "who": None, "menu": [], **labels.language_switch(), "current_path": action,
           "office_name": None, "csp_nonce": "", **(frame or {})},
    )


def _field_order(form: FormDefinition, key: str) -> int:
    keys = [c.key for c in form.fields]
    return keys.index(key) if key in keys else len(keys)
