"""Conditions in plain English, as sales and marketing people read them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alignctl.compiler.lower import BUILTINS
from alignctl.compiler.typecheck import Env, check
from alignctl.policy.english import (
    clauses,
    default_label,
    duration_in_words,
    event_to_english,
    number,
    to_english,
)
from alignctl.policy.expr import parse
from alignctl.policy.expr_ast import (
    BOOLEAN,
    DATE,
    INTEGER,
    NUMBER,
    STRING,
    BoolOp,
    Call,
    Compare,
    Name,
    Num,
    Ref,
    Type,
)

ENV = Env(
    fields={
        "employees": INTEGER, "industry": Type("enum", ("saas", "fintech", "retail")),
        "country": STRING, "email": STRING, "title": STRING, "budget_confirmed": BOOLEAN,
        "contract_renewal_date": DATE, "amount": NUMBER, "win_probability": NUMBER,
        "tags": Type("multi_enum", ("a", "b")),
    },
    events={
        "page_view": {"url": STRING}, "form_submit": {"form": Type("enum", ("demo_request", "newsletter", "trial"))},
        "webinar_attended": {}, "unsubscribe": {}, "trade_show_visit": {"booth": STRING},
    },
    models=("fit", "engagement"), grades=("A", "B", "C"), allow_scores=True, builtins=BUILTINS,
)

LABELS = {
    "industry": "Industry", "industry.saas": "SaaS", "industry.fintech": "FinTech",
    "industry.retail": "Retail", "contract_renewal_date": "Competitor contract renewal",
    "budget_confirmed": "Budget confirmed", "event:form_submit.form.demo_request": "Demo request",
    "event:form_submit.form.newsletter": "Newsletter", "unit:win_probability": "%",
    "unit:amount": "USD",
}


def typed(text: str):
    tree, _, problems = check(parse(text), ENV)
    assert not problems, problems
    return tree


def en(text: str, labels=LABELS) -> str:
    return to_english(typed(text), labels)


@pytest.mark.parametrize(("text", "expected"), [
    ("employees >= 200 and employees <= 5000", "Employees is between 200 and 5,000"),
    ('industry in ["saas", "fintech"]', "Industry is SaaS or FinTech"),
    ('count(page_view where url contains "/pricing" within 30d) >= 3',
     "visited a page whose URL contains /pricing at least 3 times in the last 30 days"),
    ('has(form_submit where form == "demo_request")', "submitted the Demo request form"),
    ("days_since(contract_renewal_date) > -90",
     "Competitor contract renewal is less than 90 days away"),
    ("not budget_confirmed", "Budget confirmed is not true"),
    ("accepted", "accepted by the owning team"),
    ('grade in ["A", "B"]', "Fit grade is A or B"),
])
def test_the_examples_of_the_brief(text: str, expected: str) -> None:
    assert en(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("employees > 10 and employees < 50", "Employees is more than 10 and less than 50"),
    ("5000 >= employees and employees >= 200", "Employees is between 200 and 5,000"),
    ("employees >= 1000000", "Employees is at least 1,000,000"),
    ("amount >= 5000 and win_probability >= 20",
     "Amount is at least 5,000 USD and Win probability is at least 20%"),
    ('country not in ["cuba", "iran"]', "Country is neither cuba nor iran"),
    ('country not in ["a", "b", "c"]', "Country is none of a, b or c"),
    ('industry in ["saas", "fintech", "retail"]', "Industry is one of SaaS, FinTech or Retail"),
    ('industry == "saas"', "Industry is SaaS"),
    ('industry != "retail"', "Industry is not Retail"),
    ('email endswith "@gmail.com" or email endswith "@yahoo.com"',
     "Email ends with @gmail.com or @yahoo.com"),
    ('title contains "vp" or title matches "(?i)director|head of"',
     "either Title contains vp or Title matches the pattern director|head of (ignoring case)"),
    ('title startswith " "', "Title starts with “ ”"),
    ("budget_confirmed", "Budget confirmed is true"),
    ("budget_confirmed == false", "Budget confirmed is false"),
    ("fit >= 20 and engagement >= 40", "Fit score is at least 20 and Engagement score is at least 40"),
    ("score >= 60", "Total score is at least 60"),
    ("fit + engagement >= 60", "Fit score plus Engagement score is at least 60"),
    ("has(webinar_attended within 90d)", "attended a webinar in the last 90 days"),
    ("count(webinar_attended within 2w) >= 2", "attended a webinar at least twice in the last 2 weeks"),
    ("count(page_view) >= 1", "visited a page"),
    ("count(page_view within 4h) == 0", "never visited a page in the last 4 hours"),
    ("count(page_view) < 5", "visited a page fewer than 5 times"),
    ("count(page_view) > 1", "visited a page more than once"),
    ("not has(unsubscribe)", "never unsubscribed"),
    ('not has(form_submit where form in ["demo_request", "newsletter"] within 7d)',
     "never submitted the Demo request or Newsletter form in the last 7 days"),
    ('count(form_submit where form in ["demo_request", "newsletter", "trial"]) >= 2',
     "submitted one of the forms Demo request, Newsletter or trial at least twice"),
    ('has(form_submit where form != "newsletter")', "submitted a form (Form is not Newsletter)"),
    ('count(trade_show_visit where booth == "A1") >= 2',
     "Trade show visit (Booth is A1) at least twice"),
    ("has(trade_show_visit)", "Trade show visit at least once"),
    ("days_since(contract_renewal_date) >= 0", "Competitor contract renewal is today or in the past"),
    ("days_since(contract_renewal_date) > 30", "Competitor contract renewal is more than 30 days ago"),
    ("days_since(contract_renewal_date) <= -1", "Competitor contract renewal is at least 1 day away"),
    ("days_since(page_view) > 14", "the last page view is more than 14 days ago"),
    ("days_in_stage > 14", "has been in this stage for more than 14 days"),
    ("recycle_count >= 2", "has been recycled at least twice"),
    ("recycle_count == 0", "has never been recycled"),
    ("not accepted", "not accepted by the owning team"),
    ('not (industry in ["saas"])', "Industry is not SaaS"),
    ("not (fit > 1 and engagement > 2)",
     "it is not the case that (Fit score is more than 1 and Engagement score is more than 2)"),
])
def test_more_shapes(text: str, expected: str) -> None:
    assert en(text) == expected


def test_nested_and_or_reads_with_either_and_parentheses() -> None:
    text = 'budget_confirmed and (industry == "saas" or employees > 100) and score >= 50'
    assert en(text) == ("Budget confirmed is true and (either Industry is SaaS or Employees is "
                        "more than 100) and Total score is at least 50")
    assert en("(fit > 1 and engagement > 1) or score > 90") == (
        "either (Fit score is more than 1 and Engagement score is more than 1) or "
        "Total score is more than 90")


def test_labels_rename_fields_values_and_events() -> None:
    labels = {"employees": "Company size", "event:trade_show_visit": "Booth visit",
              "event:trade_show_visit.booth": "Booth number", "accepted": "accepted by an AE"}
    assert en("employees >= 1", labels) == "Company size is at least 1"
    assert en('has(trade_show_visit where booth == "A1")', labels) == \
        "Booth visit (Booth number is A1) at least once"
    assert en("accepted", labels) == "accepted by an AE"


def test_labels_that_read_as_lists_or_questions_are_quoted() -> None:
    labels = {"industry.saas": "Software and SaaS", "industry.fintech": "Banks, insurers",
              "country": "Where are you based?"}
    assert en('industry in ["saas", "fintech"]', labels) == \
        "Industry is “Software and SaaS” or “Banks, insurers”"
    assert en('country == "US"', labels) == "“Where are you based?” is US"


def test_clauses_split_a_top_level_and_with_bounds_merged() -> None:
    tree = typed('employees >= 200 and budget_confirmed and employees <= 5000 and '
                 '(score > 1 or fit > 2)')
    assert clauses(tree, LABELS) == [
        "Employees is between 200 and 5,000", "Budget confirmed is true",
        "(either Total score is more than 1 or Fit score is more than 2)"]
    assert clauses(typed("accepted")) == ["accepted by the owning team"]


def test_event_to_english_for_engagement_rules() -> None:
    where = check(parse('form == "demo_request"'), Env(
        fields={}, events=ENV.events, event="form_submit"))[0]
    assert event_to_english("form_submit", where, LABELS) == "submitted the Demo request form"
    assert event_to_english("unsubscribe") == "unsubscribed"
    assert event_to_english("email_click") == "clicked a link in an email"


@pytest.mark.parametrize(("text", "expected"), [
    ("30d", "30 days"), ("1d", "1 day"), ("2w", "2 weeks"), ("15m", "15 minutes"),
    ("4h", "4 hours"), ("1000d", "1,000 days"), ("odd", "odd"), ("", ""),
])
def test_durations_in_words(text: str, expected: str) -> None:
    assert duration_in_words(text) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (5000, "5,000"), (0.25, "0.25"), (2.0, "2"), (-30, "-30"), (1234567.5, "1,234,567.5"),
    (True, "true"),
])
def test_numbers(value, expected: str) -> None:
    assert number(value) == expected


@pytest.mark.parametrize(("ident", "expected"), [
    ("utm_source", "UTM source"), ("sdr", "SDR"), ("monthly_tracked_users", "Monthly tracked users"),
    ("url", "URL"), ("_", "_"),
])
def test_default_labels(ident: str, expected: str) -> None:
    assert default_label(ident) == expected


def test_unchecked_names_still_read() -> None:
    assert to_english(parse("employees >= 200 and employees <= 5000")) == \
        "Employees is between 200 and 5,000"
    assert to_english(parse("vip")) == "Vip is true"


def test_unknown_shapes_fall_back_to_the_condition_text() -> None:
    odd = Compare(0, 0, "~=", Ref(0, 0, "x", "field", NUMBER), Num(0, 0, 1))
    assert to_english(odd) == "x ~= 1"
    broken = BoolOp(0, 0, "and", (object(),))  # type: ignore[arg-type]
    assert isinstance(to_english(broken), str)
    assert to_english(Call(0, 0, "mystery", Name(0, 0, "e"), None, None)) == "mystery(e)"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='abcdefgilmnorstuwy_ ()[]",<>=!0123456789.-+', max_size=60))
def test_never_raises_on_anything_the_parser_accepts(text: str) -> None:
    tree = parse(text)
    if not hasattr(tree, "message"):
        assert isinstance(to_english(tree), str)
        assert isinstance(to_english(check(tree, ENV)[0], LABELS), str)


def test_deep_nesting_does_not_raise() -> None:
    text = " and ".join(f"(employees > {i} or fit > {i})" for i in range(60))
    assert to_english(typed(text)).startswith("(either Employees")
