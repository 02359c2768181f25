"""The allowlist every model expression and script must pass (processes/sandbox/policy.py).

Each known escape is refused naming the construct; what the library writes passes; the guards bound
integer sizes and repetition at run time (evaluated in a real sandbox child, never in this process).
"""

from __future__ import annotations

import pytest

from processes.sandbox import helpers, policy
from processes.sandbox.pool import Limits, Sandbox, SandboxFailure

# (source, the construct the refusal must name)
REFUSED_EXPRESSIONS = [
    ("().__class__.__base__.__subclasses__()", "attribute '__class__'"),
    ("[].__class__.__mro__[1]", "attribute '__class__'"),
    ("now.__globals__", "attribute '__globals__'"),
    ("len.__self__", "attribute '__self__'"),
    ("__builtins__", "name '__builtins__'"),
    ("__import__('os')", "name '__import__'"),
    ("(lambda: 0)()", "lambda"),
    ("(x for x in [1]).gi_frame", "generator expression"),
    ("items.gi_frame", "attribute '.gi_frame'"),
    ("x.f_back", "attribute '.f_back'"),
    ("x.tb_frame", "attribute '.tb_frame'"),
    ("'{0.__class__}'.format(x)", "attribute '.format'"),
    ("'{x}'.format_map(d)", "attribute '.format_map'"),
    ("str.format('{0}', x)", "attribute '.format'"),
    ("f'{x.__class__}'", "attribute '__class__'"),
    ("getattr(x, 'y')", "call of 'getattr'"),
    ("vars(x)", "call of 'vars'"),
    ("globals()", "call of 'globals'"),
    ("locals()", "call of 'locals'"),
    ("eval('1')", "call of 'eval'"),
    ("exec('1')", "call of 'exec'"),
    ("compile('1', '', 'eval')", "call of 'compile'"),
    ("open('/etc/passwd')", "call of 'open'"),
    ("type(x)", "call of 'type'"),
    ("breakpoint()", "call of 'breakpoint'"),
    ("__loader__.get_data('/etc/passwd')", "name '__loader__'"),
    ("__spec__.loader", "name '__spec__'"),
    ("os.system('id')", "attribute '.system'"),
    ("sys.modules", "attribute '.modules'"),
    ("(y := 1)", "assignment expression (:=)"),
    ("[x for x in items]", "comprehension"),
    ("range(10)", "call of 'range'"),
    ("x()", "call of 'x'"),
    ("items[0]()", "calling the result of an expression"),
    ("b'bytes'", "bytes literal"),
    ("'a' * 10**10", "constant product"),
    ("10**10**10", "constant power"),
    ("2**100000", "constant power"),
    ("f'{1:>1000000000}'", "format spec ':>1000000000'"),
    ("f'{x:{w}}'", "computed format spec in an f-string"),
]

REFUSED_SCRIPTS = [
    ("import os", "import"),
    ("from subprocess import run", "import"),
    ("class A:\n    pass", "class definition"),
    ("global x\nx = 1", "global"),
    ("def f():\n    nonlocal_ = 1\n    yield nonlocal_", "yield"),
    ("try:\n    x = 1\nexcept Exception:\n    pass", "try"),
    ("raise ValueError()", "raise"),
    ("with x:\n    pass", "with"),
    ("x.y = 1", "assignment to an attribute"),
    ("f = lambda: 0", "lambda"),
    ("@decorator\ndef f():\n    pass", "decorator or return annotation"),
    ("x: int = 1", "annotated assignment"),
    ("async def f():\n    pass", "async def"),
    ("def _hidden():\n    pass", "function '_hidden'"),
    ("g = (x for x in [1])\nframe = g.gi_frame.f_back", "attribute '.gi_frame'"),
    ("s = '%*d' % (10, 1)\nx = s.__len__()", "attribute '__len__'"),
]


@pytest.mark.parametrize(("source", "construct"), REFUSED_EXPRESSIONS)
def test_expression_escapes_are_refused_naming_the_construct(source, construct):
    with pytest.raises(policy.Refused) as refused:
        policy.check_expression(source)
    assert refused.value.construct == construct


@pytest.mark.parametrize(("source", "construct"), REFUSED_SCRIPTS)
def test_script_escapes_are_refused_naming_the_construct(source, construct):
    with pytest.raises(policy.Refused) as refused:
        policy.check_script(source)
    assert refused.value.construct == construct


@pytest.mark.parametrize("source", [
    "decision == 'approve'",
    "eligibility == \"eligible\" and max(monthly_amount or 0, annual_amount or 0) > approval_limit",
    "min(monthly_rent, [189000, 211000, 253000][min(household_size, 3) - 1])",
    "children_under_18 * 210000",
    "add_months(application_date, 6).isoformat()",
    "days_between(to_date(a), today()) >= 30",
    "round_half_up(income * 0.7)",
    "applicant.get('household', [])[0]['age'] >= 65",
    "f'{amount:,} won'",
    "type == 'livelihood' and property > 0 and id is not None",  # variables named like built-ins
    "'P' + str(months) + 'M'",
])
def test_what_models_write_passes(source):
    checked = policy.check_expression(source)
    assert checked.names  # every one reads some variable


def test_scripts_of_the_process_library_pass():
    script = (
        "if consent_reference:\n"
        "    consents = dict(consents or {}, **{t: consent_reference for t in consent_missing})\n"
        "    consent_missing = []\n"
        "obligor_requests = [{'person_id': o, 'data_type': t} for o in obligor_ids for t in ('a', 'b')]\n"
        "reason = f'{applicant_age} years'\n"
        "def twice(v):\n    return v * 2\n"
        "total = 0\nfor i in range(3):\n    total += twice(i)\n"
    )
    names = policy.check_script(script).names
    assert {"consent_reference", "consents", "consent_missing", "obligor_ids", "applicant_age"} <= names
    assert "o" in names and "total" in names  # loop variables and augmented targets are read too


def test_dmn_cells_read_as_comparisons_with_the_input():
    assert policy.unary_test('"seoul"') == 'dmninputexpr == ("seoul")'
    assert policy.unary_test(">= 65") == "dmninputexpr >= 65"
    assert policy.unary_test("1000 < ? <= 2000") == "1000 < dmninputexpr <= 2000"
    assert policy.unary_test('"what?"') == 'dmninputexpr == ("what?")'  # a ? inside quotes is text
    for cell in ('"seoul"', ">= 65", "1000 < ? <= 2000", 'in ["a", "b"]', "not None"):
        policy.check_expression(policy.unary_test(cell))


def test_source_size_and_nesting_are_bounded():
    with pytest.raises(policy.Refused, match="characters"):
        policy.check_expression("1 + " * 5000 + "1")
    with pytest.raises(policy.Refused, match="nesting"):
        policy.check_expression("-" * 300 + "1")
    with pytest.raises(policy.Refused, match="nesting"):
        policy.check_expression("+".join(["x"] * 1000))
    with pytest.raises(SyntaxError):
        policy.check_expression("x ==")
    with pytest.raises(SyntaxError):
        policy.check_expression("a\x00b")


NOW = "2026-12-01T00:00:00+00:00"


@pytest.fixture(scope="module")
def sandbox():
    box = Sandbox(Limits(cpu_seconds=1, wall_seconds=2, children=1))
    yield box
    box.close()


def test_guards_bound_integers_and_repetition_at_run_time(sandbox):
    for source, data in (("x * n", {"x": "a", "n": 10**7}), ("[0] * n", {"n": 10**7}),
                         ("n ** n", {"n": 10**6}), ("n << n", {"n": 10**6}), ("(n * n) * (n * n)", {"n": 10**700})):
        with pytest.raises(SandboxFailure) as failure:
            sandbox.evaluate(source, data, now=NOW)
        detail = failure.value.detail
        assert failure.value.kind == "limit" and ("larger than" in detail or "longer than" in detail), detail
    with pytest.raises(SandboxFailure) as failure:
        sandbox.evaluate("'%d' % n", {"n": 1}, now=NOW)
    assert failure.value.kind == "refused" and "%" in failure.value.detail
    assert sandbox.evaluate("x * 3 + str(n ** 2) + str(7 % 4)", {"x": "a", "n": 9}, now=NOW) == "aaa813"


def test_augmented_assignments_are_guarded_too(sandbox):
    assert sandbox.execute("s *= 3\nfor i in range(2):\n    s += 'c'", {"s": "ab"}, now=NOW)[0]["s"] == "abababcc"
    with pytest.raises(SandboxFailure) as failure:
        sandbox.execute("s *= n", {"s": "ab", "n": 10**7}, now=NOW)
    assert failure.value.kind == "limit"


def test_helpers_compute_dates_as_the_platform_does():
    helpers.set_instant(helpers.to_datetime("2026-12-01T16:30:00+00:00"))
    assert helpers.today().isoformat() == "2026-12-02"  # already the next day in Seoul
    assert helpers.add_months("2024-01-31", 1).isoformat() == "2024-02-29"
    assert helpers.add_years("2024-02-29", 1).isoformat() == "2025-02-28"
    assert helpers.days_between("2025-03-10", "2025-04-09") == 30
    assert helpers.round_half_up(2.5) == 3 and round(2.5) == 2
    assert str(helpers.round_half_up("1.005", 2)) == "1.01"
