"""The translation catalog: complete in Korean, current with the code, and the only way text reaches a page.

- every message id has a Korean text (not empty, not fuzzy) with the same placeholders;
- `pybabel update --check` passes: the committed catalog holds every message id the code, the
  templates and the library's forms use (`make i18n` refreshes it);
- no template shows literal words outside `_()`: text between tags and in the attributes people
  read (title, aria-label, placeholder, alt) goes through the catalog;
- every error kind the API answers has a Korean title;
- pages render in Korean by default and in English after the switch.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from babel.messages.pofile import read_po

from bokji import i18n
from bokji.config import ROOT

PO = {lang: ROOT / "locale" / lang / "LC_MESSAGES" / "messages.po" for lang in i18n.LOCALES}
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}")
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _catalog(lang: str):
    with PO[lang].open("rb") as po:
        return read_po(po, locale=lang)


def test_every_message_has_a_korean_text_with_the_same_placeholders():
    catalog = _catalog("ko")
    entries = [m for m in catalog if m.id]
    assert len(entries) > 250
    problems = []
    for message in entries:
        if not message.string or message.fuzzy:
            problems.append(f"untranslated: {message.id!r}")
        elif sorted(PLACEHOLDER.findall(message.id)) != sorted(PLACEHOLDER.findall(message.string)):
            problems.append(f"placeholders differ: {message.id!r} -> {message.string!r}")
        elif not HANGUL.search(message.string):
            problems.append(f"not Korean: {message.id!r} -> {message.string!r}")
    assert not problems, "\n".join(problems)


def test_the_catalog_is_current(tmp_path):
    pot = tmp_path / "messages.pot"
    pybabel = [sys.executable, "-m", "babel.messages.frontend"]
    extract = subprocess.run([*pybabel, "extract", "-F", "babel.cfg", "-k", "N_", "--no-location", "--sort-output",
                              "--omit-header", "-o", str(pot), "."], cwd=ROOT, capture_output=True, text=True)
    assert extract.returncode == 0, extract.stderr
    check = subprocess.run([*pybabel, "update", "-i", str(pot), "-d", "locale", "--no-fuzzy-matching",
                            "--ignore-obsolete", "--ignore-pot-creation-date", "--check"],
                           cwd=ROOT, capture_output=True, text=True)
    assert check.returncode == 0, f"the catalog is stale: run `make i18n`\n{check.stdout}{check.stderr}"


READ_ATTRIBUTES = re.compile(r'\b(?:title|aria-label|placeholder|alt)="([^"{]*)"')
WORDS = re.compile(r"[A-Za-z]{2,}|[\uac00-\ud7a3]+")
TAG = re.compile(r"<[^>]*>")
# Not words a reader sees: HTML attributes a macro writes into a tag it does not close itself.
ALLOWED = {"nbsp", "required", "aria", "invalid", "true", "describedby"}


def _literal_text(template: str) -> list[str]:
    """Words a reader would see that are not produced by an expression: the template with every
    `{{ }}`, `{% %}` and `{# #}` blanked, its scripts and styles removed, then the text between tags and
    the attributes people read."""
    source = (ROOT / "forms" / "templates" / template).read_text()
    text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", "\x00", source, flags=re.S)
    text = re.sub(r"<script\b.*?</script>|<style\b.*?</style>", "", text, flags=re.S | re.I)
    found = [w for value in READ_ATTRIBUTES.findall(text) for w in WORDS.findall(value)]
    return found + [w for w in WORDS.findall(TAG.sub(" ", text)) if w not in ALLOWED]


@pytest.mark.parametrize("template", sorted(p.name for p in (ROOT / "forms" / "templates").glob("*.html")))
def test_no_template_shows_literal_words(template):
    assert _literal_text(template) == []


def test_every_error_kind_has_a_korean_title():
    from api.deps import BadCredentials, NotAuthenticated
    from bokji import errors

    kinds = [errors.BokjiError, NotAuthenticated, BadCredentials]
    seen = set()
    while kinds:
        kind = kinds.pop()
        if kind in seen:
            continue
        seen.add(kind)
        kinds += kind.__subclasses__()
    assert len(seen) >= 10
    with i18n.using("ko"):
        for kind in seen:
            title = i18n.gettext(kind.title)
            assert HANGUL.search(title), f"{kind.__name__}: {title!r}"
    with i18n.using("en"):
        assert i18n.gettext(errors.NotFound.title) == "Not found"


def test_api_errors_carry_the_code_and_the_title_in_the_callers_language(client, login):
    cw = login("caseworker")
    missing = client.get("/instances/00000000-0000-4000-8000-000000000000", headers=cw)
    assert missing.status_code == 404
    assert missing.json()["error"] == "NotFound" and missing.json()["title"] == "찾을 수 없습니다"
    english = client.get("/instances/00000000-0000-4000-8000-000000000000",
                         headers={**cw, "Accept-Language": "en-GB,en;q=0.8"})
    assert english.json()["title"] == "Not found" and english.json()["error"] == "NotFound"
    nowhere = client.get("/no/such/route", headers=cw)
    assert nowhere.status_code == 404 and nowhere.json()["title"] == "찾을 수 없습니다"


def test_pages_are_korean_by_default_and_english_after_the_switch(client):
    page = client.get("/login", headers={"Accept": "text/html", "Accept-Language": "en-US,en;q=0.9"})
    assert page.status_code == 200 and "로그인" in page.text and 'lang="ko"' in page.text  # a browser's own: no
    switched = client.post("/language", data={"lang": "en", "next": "/login"}, follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/login"
    assert client.cookies.get(i18n.COOKIE) == "en"
    english = client.get("/login", headers={"Accept": "text/html"})
    assert "Sign in" in english.text and 'lang="en"' in english.text and "로그인" not in english.text
    outside = client.post("/language", data={"lang": "ko", "next": "https://evil.example/"}, follow_redirects=False)
    assert outside.headers["location"] == "/"  # never a redirect to another site


def test_browser_errors_are_pages_in_the_frame(client, login):
    cw = login("caseworker")
    unknown = client.get("/no/such/page", headers={**cw, "Accept": "text/html"})
    assert unknown.status_code == 404 and "text/html" in unknown.headers["content-type"]
    assert "그런 페이지가 없습니다" in unknown.text and 'class="site-header"' in unknown.text
    gone = client.get("/tasks/00000000-0000-4000-8000-000000000000/form", headers={**cw, "Accept": "text/html"})
    assert gone.status_code == 404 and "조회 권한 범위 밖" in gone.text


@pytest.mark.parametrize(("lang", "monthly", "yearly"), [("ko", "538,451원/월", "768,000원/년"),
                                                        ("en", "538,451 won a month", "768,000 won a year")])
def test_amounts_carry_their_unit_and_period(lang, monthly, yearly):
    from forms.labels import seoul_time, won

    with i18n.using(lang):
        assert won(538_451, "month") == monthly and won(768_000, "year") == yearly
    with i18n.using("ko"):  # stored in UTC, shown in Korean time and said so
        assert seoul_time("2026-12-01T19:05:00+00:00") == "2026-12-02 04:05 (한국 시간)"


def test_evidence_reads_as_words_not_json():
    from forms.labels import evidence_value

    with i18n.using("ko"):
        assert evidence_value("earned_income", {"monthly": 400_000}) == "월 400,000원"
        assert evidence_value("household", {"members": 2, "address": "목포시 1"}) == "가구원 수 2, 주소: 목포시 1"
        assert evidence_value("vehicles", {"cars": [{"value": 4_000_000}]}) == "차량 1대 · 4,000,000원"
        assert evidence_value("insured_wage", {"insured": True}) == "가입 여부: 예"


# --- no literal user-facing text in Python -------------------------------------------------------------

PYTHON_ROOTS = ("api", "bokji", "forms", "processes")
ERROR_BASES = {"BokjiError"}
# Helpers that build a user-facing error from a message (argument index of the message).
# A refusal's construct (attribute '__class__', call of 'open') is named as Python names it; its reason is a text.
MESSAGE_HELPERS = {"reject": 1, "message_page": 1, "Refused": 1, "_FieldError": 0, "_malformed": 1, "fail": 0}
GETTEXT = {"_", "gettext", "N_"}


def _python_files() -> list:
    return sorted(p for root in PYTHON_ROOTS for p in (ROOT / root).rglob("*.py"))


def _trees():
    import ast

    return [(path, ast.parse(path.read_text(), str(path))) for path in _python_files()]


def _error_classes(trees) -> set[str]:
    """Every class that derives, here, from BokjiError (the errors a person reads)."""
    import ast

    bases: dict[str, set[str]] = {}
    for _path, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
    known = set(ERROR_BASES) | {"NotFound", "Conflict", "Invalid", "Forbidden", "Unavailable", "TooManyAttempts"}
    while True:
        more = {name for name, of in bases.items() if of & known} - known
        if not more:
            return known
        known |= more


def _callee(node) -> str:
    import ast

    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _literal(node) -> bool:
    """A text written in place: a str constant with a word, an f-string, or one formatted or joined."""
    import ast

    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(re.search(r"[A-Za-z\uac00-\ud7a3]{2,}", node.value))
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return _literal(node.left) or _literal(node.right)
    return False


def test_python_messages_go_through_the_catalog():
    """Every error a person reads (a BokjiError and its kinds, a rejected model, a refused expression, a
    message page) gets its message from `_()`: a literal, an f-string or a formatted literal fails, and so
    does `_()` of an f-string or a formatted text (Babel could not extract it). Texts marked with `N_()`
    where they are defined are translated by variable, as `gettext(kind.title)`."""
    import ast

    trees = _trees()
    errors = _error_classes(trees)
    problems = []
    for path, tree in trees:
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _callee(node)
            index = 0 if name in errors else MESSAGE_HELPERS.get(name)
            if index is not None and len(node.args) > index and _literal(node.args[index]):
                problems.append(f"{where}:{node.lineno}: {name}() is given a literal message")
            if name in GETTEXT and node.args and isinstance(node.args[0], ast.JoinedStr | ast.BinOp):
                problems.append(f"{where}:{node.lineno}: {name}() of a text built at run time (Babel cannot "
                                "extract it: format after translating)")
    assert not problems, "\n".join(problems)


def test_the_literal_check_fails_on_a_literal(tmp_path):
    """The walk above would catch each way of writing a message in place."""
    import ast

    source = ('raise Invalid("a literal", field="x")\nraise Conflict(f"case {i} is done")\n'
              'raise NotFound("person %s" % pid)\nraise Invalid(_("ok %(x)s") % {"x": 1})\n')
    calls = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call) and _callee(n) != "_"]
    flagged = [_literal(c.args[0]) for c in calls]
    assert flagged == [True, True, True, False]
