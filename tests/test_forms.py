"""Form definitions: loading and checking, server-side validation of submissions, HTML rendering."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bokji import i18n
from bokji.errors import Invalid
from forms.schema import CSRF_FIELD, FormDefinition, errors_by_field, load_form, render_form

FORMS_DIR = Path(__file__).resolve().parent.parent / "forms"


@pytest.fixture(autouse=True)
def english():
    """The messages below are the catalog's ids (English); Korean, the default, is tested at the end."""
    with i18n.using("en"):
        yield


def everything() -> dict:
    """One component of every supported type, with every rule somewhere."""
    return {
        "id": "everything",
        "type": "default",
        "components": [
            {"type": "text", "text": "## 신청서\n\n첫 문단입니다.\n\n<b>굵게</b> & more"},
            {"type": "textfield", "key": "name", "label": "이름", "description": "실명을 적어 주세요",
             "validate": {"required": True, "minLength": 2, "maxLength": 10}},
            {"type": "textfield", "key": "postcode", "label": "우편번호",
             "validate": {"pattern": "^[0-9]{5}$"}},
            {"type": "textarea", "key": "story", "label": "사연", "validate": {"maxLength": 5}},
            {"type": "number", "key": "income", "label": "소득", "validate": {"min": 0, "max": 1000.5}},
            {"type": "checkbox", "key": "consent", "label": "동의", "validate": {"required": True}},
            {"type": "checkbox", "key": "newsletter", "label": "소식 받기", "defaultValue": True},
            {"type": "radio", "key": "household", "label": "가구원 수",
             "values": [{"label": "1명", "value": 1}, {"label": "2명", "value": 2}]},
            {"type": "select", "key": "region", "label": "지역",
             "values": [{"label": "서울", "value": "seoul"}, {"label": "부산", "value": "busan"}],
             "defaultValue": "busan"},
            {"type": "checklist", "key": "needs", "label": "필요한 지원",
             "values": [{"label": "주거", "value": "housing"}, {"label": "의료", "value": "medical"},
                        {"label": "교육", "value": "education"}]},
            {"type": "datetime", "key": "born", "label": "생년월일", "subtype": "date"},
            {"type": "datetime", "key": "visit", "label": "방문 일시", "subtype": "datetime"},
        ],
    }


VALID = {
    "name": "김민준",
    "postcode": "04524",
    "story": "도움",
    "income": "250.5",
    "consent": "on",
    "household": "2",
    "region": "seoul",
    "needs": ["housing", "education"],
    "born": "1990-01-31",
    "visit": "2025-03-04T10:30",
}


@pytest.fixture
def form() -> FormDefinition:
    return FormDefinition.from_dict(everything())


@pytest.fixture
def decision() -> FormDefinition:
    return load_form("caseworker_decision", FORMS_DIR)


def reasons(exc: pytest.ExceptionInfo[Invalid]) -> dict[str, str]:
    return {e["field"]: e["reason"] for e in exc.value.detail["errors"]}


def failing(form: FormDefinition, **changes) -> dict[str, str]:
    data = {**VALID, **changes}
    data = {k: v for k, v in data.items() if v is not ...}  # `...` removes a field from the submission
    with pytest.raises(Invalid) as exc:
        form.validate(data)
    return reasons(exc)


# --- loading -------------------------------------------------------------------------------------

def test_real_definition_loads(decision):
    assert decision.id == "caseworker_decision"
    assert [c.key for c in decision.fields] == ["decision", "monthly_amount", "comment"]
    assert [c.type for c in decision.components][0] == "text"
    assert decision.fields[0].rules.required and decision.fields[1].rules.min == 0


def test_load_form_uses_the_forms_dir_setting_by_default():
    assert load_form("caseworker_decision").id == "caseworker_decision"


def test_definition_from_dict_keeps_the_raw_definition(form):
    assert form.raw == everything()
    assert len(form.fields) == len(everything()["components"]) - 1  # static text has no key


@pytest.mark.parametrize("key", ["no_such_form", "../forms/caseworker_decision", "", "a/b"])
def test_unknown_form_key(key):
    with pytest.raises(Invalid) as exc:
        load_form(key, FORMS_DIR)
    assert exc.value.detail["field"] == "form"
    assert exc.value.detail["reason"] == "unknown form"


def test_form_file_that_is_not_json(tmp_path):
    (tmp_path / "broken.form").write_text("{not json", encoding="utf-8")
    with pytest.raises(Invalid) as exc:
        load_form("broken", tmp_path)
    assert "not valid JSON" in exc.value.message and exc.value.detail["field"] == "form"


def test_load_form_from_another_folder(tmp_path):
    (tmp_path / "tiny.form").write_text(json.dumps(
        {"id": "tiny", "components": [{"type": "textfield", "key": "x"}]}), encoding="utf-8")
    assert [c.key for c in load_form("tiny", tmp_path).fields] == ["x"]


def malformed(components: list) -> Invalid:
    with pytest.raises(Invalid) as exc:
        FormDefinition.from_dict({"id": "bad", "components": components})
    assert exc.value.detail["field"] == "form"
    return exc.value


def test_unknown_component_type_is_named():
    error = malformed([{"type": "textfield", "key": "a"}, {"type": "filepicker", "key": "upload"}])
    assert "filepicker" in error.message
    assert error.detail["component"] == "#1 ('upload')"
    assert "#1 ('upload')" in error.message


def test_component_without_key_is_named_by_index():
    error = malformed([{"type": "text", "text": "hi"}, {"type": "number", "label": "Amount"}])
    assert error.detail["component"] == "#1"
    assert "needs a 'key'" in error.message


def test_duplicate_key():
    error = malformed([{"type": "textfield", "key": "a"}, {"type": "textarea", "key": "a"}])
    assert "duplicate key 'a'" in error.message and error.detail["component"] == "#1 ('a')"


@pytest.mark.parametrize("kind", ["radio", "select", "checklist"])
@pytest.mark.parametrize("values", [None, [], [{"label": "no value"}]])
def test_choice_component_needs_values(kind, values):
    component = {"type": kind, "key": "pick"}
    if values is not None:
        component["values"] = values
    error = malformed([component])
    assert "'pick'" in error.message and "values" in error.message


@pytest.mark.parametrize(
    "component, words",
    [
        ({"type": "textfield", "key": "a", "validate": {"pattern": "("}}, "regular expression"),
        ({"type": "number", "key": "a", "validate": {"min": "zero"}}, "validate.min"),
        ({"type": "textfield", "key": "a", "validate": {"maxLength": -1}}, "validate.maxLength"),
        ({"type": "textfield", "key": "a", "validate": {"requird": True}}, "requird"),
        ({"type": "datetime", "key": "a", "subtype": "time"}, "subtype"),
        ({"type": "textfield", "key": "monthly-amount"}, "key must be"),
        ({"type": "textfield", "key": CSRF_FIELD}, "reserved"),
        ("not an object", "must be an object"),
    ],
)
def test_other_malformed_components(component, words):
    assert words in malformed([component]).message


@pytest.mark.parametrize("definition", [[], {"components": []}, {"id": "x", "components": {}}])
def test_malformed_definition(definition):
    with pytest.raises(Invalid) as exc:
        FormDefinition.from_dict(definition)
    assert exc.value.detail["field"] == "form"


# --- validating submissions ------------------------------------------------------------------------

def test_valid_submission_is_cleaned(form):
    assert form.validate({**VALID, CSRF_FIELD: "token"}) == {
        "name": "김민준",
        "postcode": "04524",
        "story": "도움",
        "income": 250.5,
        "consent": True,
        "newsletter": False,  # not posted: an unticked box
        "household": 2,  # the definition's value, not the posted string
        "region": "seoul",
        "needs": ["housing", "education"],
        "born": "1990-01-31",
        "visit": "2025-03-04T10:30",
    }


def test_real_form_submission_is_cleaned(decision):
    cleaned = decision.validate({"decision": "approve", "monthly_amount": "350000", "comment": "적격"})
    assert cleaned == {"decision": "approve", "monthly_amount": 350000, "comment": "적격"}
    assert type(cleaned["monthly_amount"]) is int


def test_optional_fields_left_empty_are_none(form):
    cleaned = form.validate({"name": "이서연", "consent": True, "postcode": "", "income": " ", "region": ""})
    assert cleaned["postcode"] is None and cleaned["income"] is None and cleaned["region"] is None
    assert cleaned["needs"] == [] and cleaned["born"] is None and cleaned["newsletter"] is False


@pytest.mark.parametrize(
    "posted, number",
    [("350", 350), ("350.0", 350), ("12.25", 12.25), ("1e2", 100), (" 7 ", 7), (42, 42), (3.0, 3),
     (0.5, 0.5), ("+8", 8), (".5", 0.5)],
)
def test_numbers_are_int_when_integral_else_float(form, posted, number):
    cleaned = form.validate({**VALID, "income": posted})["income"]
    assert cleaned == number and type(cleaned) is type(number)


@pytest.mark.parametrize("posted", ["on", "true", "1", "TRUE", True, 1])
def test_checkbox_true_values(form, posted):
    assert form.validate({**VALID, "newsletter": posted})["newsletter"] is True


@pytest.mark.parametrize("posted", ["off", "false", "0", "", False, None])
def test_checkbox_false_values(form, posted):
    assert form.validate({**VALID, "newsletter": posted})["newsletter"] is False


class MultiDict(dict):
    """The part of Starlette's FormData that matters: repeated names come back from getlist."""

    def __init__(self, pairs: list[tuple[str, str]]):
        super().__init__(pairs)  # like FormData, plain item access gives the last value
        self.pairs = pairs

    def getlist(self, key: str) -> list[str]:
        return [v for k, v in self.pairs if k == key]


def test_checklist_from_a_list_a_single_value_or_a_multidict(form):
    assert form.validate({**VALID, "needs": "medical"})["needs"] == ["medical"]
    assert form.validate({**VALID, "needs": ["medical", "medical", ""]})["needs"] == ["medical"]
    pairs = [(k, v) for k, v in VALID.items() if k != "needs"] + [("needs", "medical"), ("needs", "housing")]
    assert form.validate(MultiDict(pairs))["needs"] == ["medical", "housing"]


def test_textarea_line_breaks_count_once(form):
    assert form.validate({**VALID, "story": "가\r\n나다라"})["story"] == "가\n나다라"  # 5 characters


@pytest.mark.parametrize("empty", [..., "", "   ", None])
def test_required(form, empty):
    assert failing(form, name=empty) == {"name": "required"}


def test_required_checkbox_must_be_ticked(form):
    assert failing(form, consent=...) == {"consent": "required"}
    assert failing(form, consent="false") == {"consent": "required"}


def test_required_choice_and_checklist():
    form = FormDefinition.from_dict({"id": "f", "components": [
        {"type": "radio", "key": "r", "values": [{"label": "A", "value": "a"}],
         "validate": {"required": True}},
        {"type": "checklist", "key": "c", "values": [{"label": "A", "value": "a"}],
         "validate": {"required": True}},
    ]})
    with pytest.raises(Invalid) as exc:
        form.validate({"r": "", "c": [""]})
    assert reasons(exc) == {"r": "required", "c": "required"}


def test_below_min_and_above_max(form):
    assert failing(form, income="-1") == {"income": "must be at least 0"}
    assert failing(form, income="1000.6") == {"income": "must be at most 1000.5"}
    assert form.validate({**VALID, "income": "1000.5"})["income"] == 1000.5  # bounds are inclusive
    assert form.validate({**VALID, "income": "0"})["income"] == 0


def test_too_short_and_too_long(form):
    assert failing(form, name="김") == {"name": "must be at least 2 characters"}
    assert failing(form, name="가" * 11) == {"name": "must be at most 10 characters"}
    assert failing(form, story="여섯글자입니다") == {"story": "must be at most 5 characters"}


def test_pattern_mismatch(form):
    assert failing(form, postcode="0452") == {"postcode": "must match the pattern ^[0-9]{5}$"}


@pytest.mark.parametrize(
    "field, value",
    [("household", "3"), ("household", ["1"]), ("region", "daegu"), ("needs", ["housing", "food"])],
)
def test_value_not_among_the_choices(form, field, value):
    reason = failing(form, **{field: value})[field]
    assert reason.startswith("must be one of: ")


@pytest.mark.parametrize("value", ["abc", "1,000", "nan", "inf", "12a", True, [1]])
def test_not_a_number(form, value):
    assert failing(form, income=value) == {"income": "must be a number, like 1500000"}


@pytest.mark.parametrize(
    "field, value, reason",
    [
        ("born", "1990-02-30", "must be a date (YYYY-MM-DD)"),
        ("born", "31.01.1990", "must be a date (YYYY-MM-DD)"),
        ("born", "1990-01-31T10:00", "must be a date (YYYY-MM-DD)"),
        ("visit", "2025-03-04 25:00", "must be a date and time (YYYY-MM-DDTHH:MM)"),
        ("visit", 20250304, "must be a date and time (YYYY-MM-DDTHH:MM)"),
    ],
)
def test_bad_dates(form, field, value, reason):
    assert failing(form, **{field: value}) == {field: reason}


def test_bad_checkbox_and_text_types(form):
    assert failing(form, newsletter="maybe") == {"newsletter": "must be checked or unchecked"}
    assert failing(form, name=["김민준"]) == {"name": "must be text"}


def test_unknown_field_is_rejected(form):
    assert failing(form, is_admin="true") == {"is_admin": "unknown field"}


def test_every_error_is_listed_and_named_in_the_message(decision):
    with pytest.raises(Invalid) as exc:
        decision.validate({"decision": "", "monthly_amount": "-5", "comment": "x", "extra": "1"})
    assert exc.value.status_code == 422
    assert exc.value.detail["errors"] == [
        {"field": "decision", "reason": "required"},
        {"field": "monthly_amount", "reason": "must be at least 0"},
        {"field": "comment", "reason": "must be at least 2 characters"},
        {"field": "extra", "reason": "unknown field"},
    ]
    assert exc.value.message == (
        "Check the form: decision: required; monthly_amount: must be at least 0; "
        "comment: must be at least 2 characters; extra: unknown field"
    )


def test_submission_must_be_a_mapping(decision):
    with pytest.raises(Invalid):
        decision.validate(["decision", "approve"])


# --- rendering -----------------------------------------------------------------------------------

class Page(HTMLParser):
    """Records every form control and error message with the `data-key` field block it sits in."""

    def __init__(self, html: str):
        super().__init__()
        self.stack: list[str | None] = []
        self.controls: list[tuple[str | None, str, dict]] = []  # (enclosing key, tag, attrs)
        self.errors: dict[str, tuple[str | None, str]] = {}  # data-field -> (enclosing key, text)
        self._error_of: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        enclosing = next((k for k in reversed(self.stack) if k), None)
        if tag in ("input", "textarea", "select", "option"):
            self.controls.append((enclosing, tag, attrs))
        if "field-error" in (attrs.get("class") or "").split():
            self._error_of = attrs["data-field"]
            self.errors[self._error_of] = (enclosing, "")
        if tag not in ("input", "meta", "br"):  # void elements never close
            self.stack.append(attrs.get("data-key"))

    def handle_endtag(self, tag):
        if tag not in ("input", "meta", "br"):
            self.stack.pop()
        self._error_of = None

    def handle_data(self, data):
        if self._error_of:
            enclosing, text = self.errors[self._error_of]
            self.errors[self._error_of] = (enclosing, text + data)

    def named(self, name: str) -> list[dict]:
        return [attrs for _, tag, attrs in self.controls if attrs.get("name") == name]


def test_render_contains_every_field(form):
    html = render_form(form, action="/tasks/1/submit", title="신청")
    page = Page(html)
    for component in form.fields:
        assert page.named(component.key), component.key
        assert component.label in html
    assert '<html lang="en">' in html and ">bokji</a>" in html  # from base.html
    assert 'action="/tasks/1/submit"' in html and 'method="post"' in html
    assert '<title>신청 · bokji</title>' in html and "<h1>신청</h1>" in html
    assert 'id="submit"' in html
    assert [a["value"] for a in page.named("needs")] == ["housing", "medical", "education"]


def test_render_required_marks_and_descriptions(form):
    html = render_form(form, action="/x")
    page = Page(html)
    assert "required" in page.named("name")[0]
    assert "required" not in page.named("postcode")[0]
    assert "실명을 적어 주세요" in html and page.named("name")[0]["aria-describedby"] == "f-name-hint"


def test_render_uses_defaults_without_values(form):
    page = Page(render_form(form, action="/x"))
    assert "checked" in page.named("newsletter")[0]
    options = {a["value"]: "selected" in a for _, tag, a in page.controls if tag == "option"}
    assert options["busan"] and not options["seoul"]


def test_render_keeps_previous_values(form):
    values = {**VALID, "name": "박지우", "income": "-3", "needs": ["medical"], "household": "2"}
    html = render_form(form, action="/x", values=values)
    page = Page(html)
    assert page.named("name")[0]["value"] == "박지우"
    assert page.named("income")[0]["value"] == "-3"  # a rejected value is shown to be corrected
    assert page.named("born")[0]["value"] == "1990-01-31" and page.named("born")[0]["type"] == "date"
    assert page.named("visit")[0]["type"] == "datetime-local"
    assert ["checked" in a for a in page.named("household")] == [False, True]
    assert ["checked" in a for a in page.named("needs")] == [False, True, False]
    assert "checked" in page.named("consent")[0]
    assert ">\n도움</textarea>" in html
    selected = [a["value"] for _, tag, a in page.controls if tag == "option" and "selected" in a]
    assert selected == ["seoul"]


def test_render_shows_errors_next_to_the_failing_fields(decision):
    with pytest.raises(Invalid) as exc:
        decision.validate({"decision": "approve", "monthly_amount": "-1", "comment": ""})
    errors = errors_by_field(exc.value)
    html = render_form(decision, action="/x", values={"monthly_amount": "-1"}, errors=errors)
    page = Page(html)
    assert page.errors == {
        "monthly_amount": ("monthly_amount", "must be at least 0"),
        "comment": ("comment", "required"),
    }
    assert page.named("monthly_amount")[0]["aria-invalid"] == "true"
    assert page.named("comment")[0]["aria-describedby"] == "f-comment-error"
    assert all("aria-invalid" not in a for a in page.named("decision"))
    assert 'role="alert"' in html and 'href="#f-monthly_amount"' in html


def test_render_without_errors_has_no_error_markup(decision):
    html = render_form(decision, action="/x")
    page = Page(html)
    assert page.errors == {}
    assert all("aria-invalid" not in attrs for _, _, attrs in page.controls)
    assert 'role="alert"' not in html


def test_render_escapes_html(form):
    attack = '<script>alert("x")</script>'
    html = render_form(
        form, action='/x?a=1&b="2"', title=attack, values={"name": attack, "story": attack},
        errors={"name": attack}, csrf_token='"><script>',
    )
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    page = Page(html)
    assert page.named("name")[0]["value"] == attack  # the parser unescapes: the value survives intact
    assert page.errors["name"] == ("name", attack)
    assert page.named(CSRF_FIELD)[0]["value"] == '"><script>'


def test_render_text_component_as_escaped_paragraphs(form):
    html = render_form(form, action="/x")
    assert "<h2>신청서</h2>" in html
    assert "<p>첫 문단입니다.</p>" in html
    assert "<p>&lt;b&gt;굵게&lt;/b&gt; &amp; more</p>" in html


def test_rendered_csrf_field_is_accepted_on_submit(decision):
    html = render_form(decision, action="/x", csrf_token="tok")
    start = html.index('<form class="bokji-form"')  # the task's form, not the frame's language switch
    task_form = html[start:html.index("</form>", start) + len("</form>")]
    posted = {a["name"]: a["value"] for _, tag, a in Page(task_form).controls if a.get("type") == "hidden"}
    assert posted == {CSRF_FIELD: "tok"}
    assert decision.validate({**posted, "decision": "reject", "comment": "부적격"})["decision"] == "reject"
    assert Page(render_form(decision, action="/x")).named(CSRF_FIELD) == []  # no token, no field


def test_messages_are_korean_by_default(form):
    with i18n.using("ko"):
        with pytest.raises(Invalid) as exc:
            form.validate({"consent": "true", "income": "1,5,0"})
        html = render_form(form, action="/x", errors=errors_by_field(exc.value))
    reasons = {e["field"]: e["reason"] for e in exc.value.detail["errors"]}
    assert reasons["name"] == "필수" and reasons["income"].startswith("숫자로 입력해 주세요")
    assert '<html lang="ko">' in html and "입력 내용을 확인해 주세요" in html and ">복지</a>" in html


# --- amounts -------------------------------------------------------------------------------------

def amount_form(period: str = "case") -> FormDefinition:
    return FormDefinition.from_dict({"id": "amounts", "components": [
        {"type": "number", "key": "amount", "label": "Adjusted amount; empty = as computed",
         "amount": {"unit": "KRW", "period": period}, "validate": {"min": 0, "max": 100000000}},
        {"type": "number", "key": "plain", "label": "Count"}]})


@pytest.mark.parametrize("typed", ["1,500,000", "1500000원", "1 500 000", " 1,500,000 원 ", "1500000", 1500000,
                                   "1\u00a0500\u00a0000", "₩1,500,000"[1:] + "원"])
def test_an_amount_accepts_separators_and_the_unit(typed):
    assert amount_form().validate({"amount": typed})["amount"] == 1_500_000


@pytest.mark.parametrize("typed", ["일백만", "1.5", "1,5o0", "--1", "원", 1.5])
def test_an_amount_that_is_not_one_is_refused_beside_its_field(typed):
    with pytest.raises(Invalid) as exc:
        amount_form().validate({"amount": typed})
    assert reasons(exc) == {"amount": "must be a whole amount of won, like 1,500,000"}


def test_an_amount_keeps_its_rules_and_a_plain_number_stays_strict():
    with pytest.raises(Invalid) as exc:
        amount_form().validate({"amount": "200,000,000", "plain": "1,000"})
    assert reasons(exc) == {"amount": "must be at most 100000000", "plain": "must be a number, like 1500000"}


@pytest.mark.parametrize(("period", "case_period", "label"), [
    ("case", "month", "(원, 월액)"), ("case", "year", "(원, 연액)"), ("month", None, "(원, 월액)"),
    ("year", "month", "(원, 연액)"), ("case", None, "(원)")])
def test_an_amount_label_says_unit_and_period_in_korean(period, case_period, label):
    with i18n.using("ko"):
        html = render_form(amount_form(period), action="/x", amount_period=case_period,
                           values={"amount": 1500000})
    assert f'<span class="unit">{label}</span>' in html
    assert 'value="1,500,000"' in html  # shown with separators
    assert 'inputmode="numeric"' in html


def test_an_amount_typed_wrongly_is_shown_as_typed():
    html = render_form(amount_form(), action="/x", values={"amount": "일백만"},
                       errors={"amount": "must be a whole amount of won, like 1,500,000"})
    assert 'value="일백만"' in html and 'aria-invalid="true"' in html


@pytest.mark.parametrize("amount", [{"unit": "USD"}, {"period": "week"}, "KRW", {"unit": "KRW", "per": "x"}])
def test_a_malformed_amount_declaration_is_named(amount):
    with pytest.raises(Invalid, match="amount"):
        FormDefinition.from_dict({"id": "f", "components": [{"type": "number", "key": "a", "amount": amount}]})


def test_the_guarantee_decision_adjustment_is_an_amount_of_the_cases_period():
    form = load_form("guarantee_decision", FORMS_DIR)
    override = next(c for c in form.fields if c.key == "amount_override")
    assert override.amount is not None and override.amount.period == "case"
    assert form.validate({"decision": "approve", "amount_override": "1,200,000원",
                          "decision_comment": "조정"})["amount_override"] == 1_200_000
