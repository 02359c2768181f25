"""What a model may write: the AST allowlist for expressions and scripts, and the guards it inserts.

Checked at deploy (a refusal names the construct, and the deploy names the file, the element and
the expression) and again in the sandbox child before it compiles anything, so a model stored
before a rule existed is refused at run time too. The allowlist is not the security boundary — the
child process is — but it turns the known escapes into messages a designer can act on:

- names, literals, arithmetic, comparisons, boolean logic, subscripts, f-strings with plain format
  specs, and calls of the helpers (`processes.sandbox.helpers`) or of a few methods of JSON-like
  values (`x.get(...)`, `s.startswith(...)`, `d.year`); scripts add statements, loops, comprehensions
  and functions of their own;
- no name or attribute starting with `_` (every dunder walk to classes, globals and builtins), none
  of the introspection attributes (`gi_frame`, `f_back`, `tb_frame`, `format`, …), no lambdas,
  generators' `yield`, imports, classes, `global`, `try`, `with`;
- `*`, `**`, `<<` and `%` become calls of guards that bound integer sizes and sequence repetition
  (a constant bomb such as `10**10**10` is refused here already).
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable
from dataclasses import dataclass
from types import CodeType
from typing import Any

from bokji.i18n import N_
from processes.sandbox.helpers import (
    EXPRESSION_HELPERS,
    SCRIPT_HELPERS,
    LimitExceeded,
    guard_lshift,
    guard_mul,
    guard_pow,
)

MAX_EXPRESSION_CHARS = 10_000
MAX_SCRIPT_CHARS = 100_000
MAX_NODES = 20_000
MAX_DEPTH = 200


class Refused(Exception):
    """A construct the allowlist does not admit; `construct` names it, `reason` says why."""

    def __init__(self, construct: str, reason: str, line: int | None = None, **params: object) -> None:
        # `reason` is a catalog id (N_): kept in English here (the sandbox's child has no catalog to read),
        # worded in the designer's language by `said()` where a deploy is refused.
        self.reason = reason % params if params else reason
        super().__init__(f"{construct}: {self.reason}" + (f" (line {line})" if line else ""))
        self.construct = construct
        self.reason_id, self.params = reason, params
        self.line = line

    def said(self) -> str:
        from bokji.i18n import gettext

        return gettext(self.reason_id) % self.params if self.params else gettext(self.reason_id)


@dataclass(frozen=True)
class Checked:
    """Source that passed the allowlist: guarded and compiled, with the names it reads."""

    code: CodeType
    names: frozenset[str]  # the variables it may read: what the host sends from the task data


# Methods and attributes of JSON-like values (dict, list, str, set, numbers, dates, decimals). Only
# these can follow a dot. None of them exists on functions, generators, frames or types in a way
# that leads anywhere else.
ATTRIBUTES = frozenset({
    # dict
    "get", "keys", "values", "items", "update", "setdefault", "pop", "popitem", "copy", "clear",
    # list
    "append", "extend", "insert", "remove", "index", "count", "sort", "reverse",
    # str
    "lower", "upper", "strip", "lstrip", "rstrip", "startswith", "endswith", "split", "rsplit",
    "splitlines", "join", "replace", "find", "rfind", "isdigit", "isdecimal", "isnumeric", "isalpha",
    "isalnum", "isspace", "islower", "isupper", "title", "capitalize", "casefold", "removeprefix",
    "removesuffix", "partition", "rpartition",
    # set
    "add", "discard", "union", "intersection", "difference", "symmetric_difference", "issubset",
    "issuperset", "isdisjoint",
    # numbers, dates and durations
    "is_integer", "bit_length", "year", "month", "day", "hour", "minute", "second", "microsecond",
    "weekday", "isoweekday", "isoformat", "date", "days", "seconds", "total_seconds",
})

# Built-ins whose call would be a NameError in the child anyway (its builtins are empty), refused here
# by name so the designer learns why. Reading a task-data variable of such a name (`type`, `id`,
# `property`) is fine: only calling one is refused.
FORBIDDEN_CALLS = frozenset({
    "eval", "exec", "compile", "open", "getattr", "setattr", "delattr", "hasattr", "globals", "locals",
    "vars", "dir", "type", "object", "super", "breakpoint", "input", "print", "help", "memoryview",
    "bytearray", "bytes", "classmethod", "staticmethod", "property", "id", "hash", "iter", "next", "aiter",
    "anext", "format", "exit", "quit", "callable", "issubclass", "copyright", "credits", "license",
})

_CONTEXT_AND_OPERATORS = {
    ast.Load, ast.Store, ast.Del, ast.And, ast.Or, ast.Not, ast.UAdd, ast.USub, ast.Invert,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.LShift, ast.RShift,
    ast.BitAnd, ast.BitOr, ast.BitXor, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is,
    ast.IsNot, ast.In, ast.NotIn,
}
EXPRESSION_NODES = frozenset(_CONTEXT_AND_OPERATORS | {
    ast.Expression, ast.Constant, ast.Name, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp,
    ast.Subscript, ast.Slice, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.Call, ast.keyword, ast.Starred,
    ast.Attribute, ast.JoinedStr, ast.FormattedValue,
})
SCRIPT_NODES = frozenset(EXPRESSION_NODES | {
    ast.Module, ast.Expr, ast.Assign, ast.AugAssign, ast.If, ast.For, ast.While, ast.Break, ast.Continue,
    ast.Pass, ast.Delete, ast.Assert, ast.FunctionDef, ast.arguments, ast.arg, ast.Return,
    ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.comprehension,
})

# How refusals name what they refuse (the class name otherwise).
_CONSTRUCTS = {
    ast.Lambda: "lambda", ast.Yield: "yield", ast.YieldFrom: "yield from", ast.Await: "await",
    ast.Import: "import", ast.ImportFrom: "import", ast.ClassDef: "class definition",
    ast.Global: "global", ast.Nonlocal: "nonlocal", ast.Try: "try", ast.TryStar: "try", ast.Raise: "raise",
    ast.With: "with", ast.AsyncWith: "async with", ast.AsyncFor: "async for",
    ast.AsyncFunctionDef: "async def", ast.NamedExpr: "assignment expression (:=)", ast.Match: "match",
    ast.AnnAssign: "annotated assignment", ast.ListComp: "comprehension", ast.SetComp: "comprehension",
    ast.DictComp: "comprehension", ast.GeneratorExp: "generator expression", ast.FunctionDef: "def",
    ast.Assign: "assignment", ast.AugAssign: "assignment", ast.For: "for loop", ast.While: "while loop",
    ast.Delete: "del", ast.MatMult: "operator @",
}

# f-string format specs: fill, align, sign, width and precision of at most three digits each.
_SPEC_CHARS = set("<>^=+- #0,_.%bcdeEfFgGnosxX0123456789")

_GUARDED = {ast.Mult: "_bokji_mul", ast.Pow: "_bokji_pow", ast.LShift: "_bokji_lshift", ast.Mod: "_bokji_mod"}
_STATIC_GUARDS: dict[type, Callable[[Any, Any], Any]] = {ast.Mult: guard_mul, ast.Pow: guard_pow,
                                                         ast.LShift: guard_lshift}


def check_expression(source: str) -> Checked:
    """An expression (condition, timer expression, DMN cell, completion condition) or `Refused`."""
    return _check(source, "eval")


def check_script(source: str) -> Checked:
    """A script task's script or `Refused`; a syntax error raises SyntaxError."""
    return _check(source, "exec")


def excerpt(source: str, width: int = 120) -> str:
    """Model code on one line, shortened, for a message that names it."""
    text = " ".join(source.split())
    return text if len(text) <= width else text[:width - 3] + "..."


def unary_test(text: str) -> str:
    """A DMN input entry as a boolean expression over `dmninputexpr` (the input's value).

    As SpiffWorkflow reads cells: `?` outside quotes stands for the input (`1000 < ? <= 2000`); a cell
    that is an expression by itself is compared for equality (`"seoul"`); otherwise it is an
    operator and its right side (`>= 65`, `in ["a", "b"]`).
    """
    replaced, quote = [], None
    for char in text:
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "?":
            replaced.append("dmninputexpr")
            continue
        replaced.append(char)
    joined = "".join(replaced)
    if joined != text:
        return joined
    try:
        ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return f"dmninputexpr {text.strip()}"
    return f"dmninputexpr == ({text.strip()})"


# ------------------------------------------------------------------------------------------------------
def _check(source: str, mode: str) -> Checked:
    if not isinstance(source, str):
        raise Refused("non-text source", N_("a model's expression or script must be text"))
    limit = MAX_EXPRESSION_CHARS if mode == "eval" else MAX_SCRIPT_CHARS
    if len(source) > limit:
        raise Refused(f"{'an expression' if mode == 'eval' else 'a script'} of {len(source):,} characters",
                      N_("the limit is %(limit)s characters"), limit=f"{limit:,}")
    text = source.strip() if mode == "eval" else source
    try:
        tree = ast.parse(text, mode=mode)
    except (RecursionError, MemoryError):
        raise Refused("nesting this deep", N_("at most %(depth)s levels"), depth=MAX_DEPTH) from None
    except ValueError as exc:  # a NUL byte
        raise SyntaxError(str(exc)) from None
    checker = _Checker(mode)
    checker.visit(tree, 0)
    guarded = ast.fix_missing_locations(_Guard().visit(tree))
    code = compile(guarded, "<expression>" if mode == "eval" else "<script>", mode, dont_inherit=True)
    return Checked(code, frozenset(checker.names))


class _Checker:
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.allowed = EXPRESSION_NODES if mode == "eval" else SCRIPT_NODES
        self.helpers = EXPRESSION_HELPERS if mode == "eval" else SCRIPT_HELPERS
        self.count = 0
        self.names: set[str] = set()
        self.defined: set[str] = set()

    def visit(self, node: ast.AST, depth: int) -> None:
        if depth == 0 and isinstance(node, ast.Module):
            self.defined = {n.name for n in ast.walk(node) if isinstance(n, ast.FunctionDef)}
        self.count += 1
        line = getattr(node, "lineno", None)
        if self.count > MAX_NODES:
            raise Refused(f"a model of more than {MAX_NODES:,} syntax nodes", N_("split it up"), line)
        if depth > MAX_DEPTH:
            raise Refused("nesting this deep", N_("at most %(depth)s levels"), line, depth=MAX_DEPTH)
        kind = type(node)
        if kind not in self.allowed:
            name = _CONSTRUCTS.get(kind, kind.__name__)
            raise Refused(name, N_("not allowed in an expression (use a script task)") if kind in SCRIPT_NODES
                          else N_("not allowed in a model"), line)
        for child in ast.iter_child_nodes(node):
            self.visit(child, depth + 1)
        # After the children, so a chain reports its first refused link (`().__class__.__base__`).
        check = getattr(self, f"_{kind.__name__}", None)
        if check is not None:
            check(node, line)

    # --- one check per node kind that needs more than the allowlist -----------------------------------
    def _identifier(self, name: str, what: str, line: int | None) -> None:
        if name.startswith("_"):
            raise Refused(f"{what} '{name}'", N_("names starting with '_' reach the interpreter's internals"), line)

    def _Name(self, node: ast.Name, line: int | None) -> None:
        self._identifier(node.id, "name", line)
        if isinstance(node.ctx, ast.Load):
            self.names.add(node.id)

    def _arg(self, node: ast.arg, line: int | None) -> None:
        self._identifier(node.arg, "argument", line)
        if node.annotation is not None:
            raise Refused("annotation", N_("not allowed in a model"), line)

    def _FunctionDef(self, node: ast.FunctionDef, line: int | None) -> None:
        self._identifier(node.name, "function", line)
        if node.decorator_list or node.returns is not None:
            raise Refused("decorator or return annotation", N_("not allowed in a model"), line)

    def _keyword(self, node: ast.keyword, line: int | None) -> None:
        if node.arg is not None:
            self._identifier(node.arg, "keyword", line)

    def _Attribute(self, node: ast.Attribute, line: int | None) -> None:
        if not isinstance(node.ctx, ast.Load):
            raise Refused("assignment to an attribute", N_("assign to a variable or a key instead"), line)
        if node.attr.startswith("_"):
            raise Refused(f"attribute '{node.attr}'", N_("names starting with '_' reach the interpreter's internals"),
                          line)
        if node.attr not in ATTRIBUTES:
            raise Refused(f"attribute '.{node.attr}'", N_("only methods of plain values are allowed (get, keys, items, "
                                                            "startswith, year, isoformat, …; see processes/README.md)"),
                          line)

    def _Call(self, node: ast.Call, line: int | None) -> None:
        func = node.func
        if isinstance(func, ast.Name):
            if func.id in FORBIDDEN_CALLS and func.id not in self.defined:
                raise Refused(f"call of '{func.id}'", N_("not available to models"), line)
            if func.id not in self.helpers and func.id not in self.defined:
                raise Refused(f"call of '{func.id}'", N_("only the helpers can be called") if self.mode == "eval"
                              else N_("only the helpers and functions this script defines can be called"), line)
        elif not isinstance(func, ast.Attribute):
            raise Refused("calling the result of an expression", N_("call a helper or a method by name"), line)

    def _Constant(self, node: ast.Constant, line: int | None) -> None:
        if not isinstance(node.value, bool | int | float | str | type(None)):
            raise Refused(f"{type(node.value).__name__} literal", N_("only numbers, text, True, False and None"), line)

    def _FormattedValue(self, node: ast.FormattedValue, line: int | None) -> None:
        if node.format_spec is None:
            return
        parts = node.format_spec.values if isinstance(node.format_spec, ast.JoinedStr) else [node.format_spec]
        if not all(isinstance(p, ast.Constant) and isinstance(p.value, str) for p in parts):
            raise Refused("computed format spec in an f-string", N_("write the spec literally (like :,.0f)"), line)
        text = "".join(p.value for p in parts)
        widest = max((len(run) for run in "".join(c if c.isdigit() else " " for c in text).split()), default=0)
        if not set(text) <= _SPEC_CHARS or widest > 3:
            raise Refused(f"format spec ':{text}'", N_("at most three digits of width or precision"), line)

    def _AugAssign(self, node: ast.AugAssign, line: int | None) -> None:
        if isinstance(node.target, ast.Name):  # `x += 1` reads x too
            self.names.add(node.target.id)

    def _BinOp(self, node: ast.BinOp, line: int | None) -> None:
        guard = _STATIC_GUARDS.get(type(node.op))
        if guard is None:
            return
        try:
            left, right = _constant(node.left), _constant(node.right)
        except _NotConstant:
            return
        try:
            guard(left, right)
        except LimitExceeded as exc:
            raise Refused("constant " + ("power" if isinstance(node.op, ast.Pow) else "product"),
                          N_("the constant would be too large: %(limit)s"), line, limit=str(exc)) from None
        except (TypeError, ValueError, ArithmeticError):
            return  # the run-time error is the designer's to see; nothing large was built


class _NotConstant(Exception):
    pass


def _constant(node: ast.AST) -> Any:
    """The value of a constant sub-expression built only of literals and guarded arithmetic."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _constant(node.operand)
        if isinstance(value, int | float):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _STATIC_GUARDS:
        try:
            return _STATIC_GUARDS[type(node.op)](_constant(node.left), _constant(node.right))
        except (TypeError, ValueError, ArithmeticError):
            raise _NotConstant from None
    raise _NotConstant


class _Guard(ast.NodeTransformer):
    """`a * b` → `_bokji_mul(a, b)` (and **, <<, %), augmented assignments included."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        name = _GUARDED.get(type(node.op))
        if name is None:
            return node
        return ast.copy_location(ast.Call(ast.Name(name, ast.Load()), [node.left, node.right], []), node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        name = _GUARDED.get(type(node.op))
        if name is None:
            return node
        current = _as_load(copy.deepcopy(node.target))
        call = ast.Call(ast.Name(name, ast.Load()), [current, node.value], [])
        return ast.copy_location(ast.Assign([node.target], call), node)


def _as_load(node: ast.AST) -> ast.AST:
    for sub in ast.walk(node):
        if hasattr(sub, "ctx"):
            sub.ctx = ast.Load()
    return node
