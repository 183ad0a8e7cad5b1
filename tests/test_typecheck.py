"""The type checker: name resolution, types, and one problem per cause."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alignctl.compiler.typecheck import Env, Problem, check
from alignctl.policy.expr import SyntaxProblem, children, parse
from alignctl.policy.expr_ast import (
    BOOLEAN,
    DATE,
    INTEGER,
    NUMBER,
    STRING,
    Call,
    Name,
    Ref,
    Type,
    field_type,
)

FIELDS = {
    "employees": field_type("integer"),
    "industry": field_type("enum", ("saas", "fintech", "retail", "healthcare", "other")),
    "country": field_type("string"),
    "email": field_type("email"),
    "budget_confirmed": field_type("boolean"),
    "contract_renewal_date": field_type("date"),
    "title": field_type("string"),
    "tags": field_type("multi_enum", ("partner", "beta")),
}
EVENTS = {
    "page_view": {"url": STRING},
    "form_submit": {"form": field_type("enum", ("demo_request", "whitepaper", "newsletter"))},
    "email_click": {},
    "webinar_attended": {},
    "unsubscribe": {},
}
BUILTINS = {"accepted": BOOLEAN, "days_in_stage": NUMBER, "recycle_count": INTEGER}
STAGE = Env(FIELDS, EVENTS, models=("fit", "engagement"), grades=("A", "B", "C", "D"),
            allow_scores=True, builtins=BUILTINS, stages=("inquiry", "mql", "sal", "sql"))
RULE = Env(FIELDS, EVENTS, models=("fit", "engagement"))

STAGE_EXAMPLES = [
    "employees >= 200 and employees <= 5000",
    'industry in ["saas", "fintech"] and country not in ["cuba", "iran"]',
    'email endswith "@gmail.com" or email endswith "@yahoo.com"',
    'title contains "vp" or title matches "(?i)director|head of"',
    "not budget_confirmed",
    "fit >= 20 and engagement >= 40",
    "score >= 60",
    'grade in ["A", "B"]',
    'count(page_view where url contains "/pricing" within 30d) >= 3',
    'has(form_submit where form == "demo_request")',
    "has(webinar_attended within 90d)",
    "days_since(contract_renewal_date) > -90",
    "days_in_stage > 14",
    "accepted",
    'grade in ["A", "B"] and engagement >= 40',
    'budget_confirmed and has(form_submit where form == "demo_request")',
    'tags contains "beta"',
    "recycle_count + 1 < 3 and days_since(email_click) <= 7",
]


def run(text: str, env: Env = STAGE, **kw):
    expr = parse(text)
    assert not isinstance(expr, SyntaxProblem), expr
    return check(expr, env, **kw)


def problems(text: str, env: Env = STAGE, **kw) -> list[Problem]:
    return run(text, env, **kw)[2]


def only(text: str, env: Env = STAGE, **kw) -> Problem:
    found = problems(text, env, **kw)
    assert len(found) == 1, found
    return found[0]


def walk(expr):
    out, todo = [], [expr]
    while todo:
        node = todo.pop()
        out.append(node)
        todo.extend(children(node))
    return out


@pytest.mark.parametrize("text", STAGE_EXAMPLES)
def test_policy_examples_check(text):
    tree, typ, found = run(text)
    assert found == []
    assert typ == BOOLEAN
    event_targets = {id(n.target) for n in walk(tree) if isinstance(n, Call)
                     and n.target_kind == "event"}
    assert all(id(n) in event_targets for n in walk(tree) if isinstance(n, Name))


@pytest.mark.parametrize("text", ['url contains "/pricing"', 'form == "demo_request"'])
def test_rule_where_examples(text):
    event = "page_view" if "url" in text else "form_submit"
    tree, typ, found = run(text, Env({}, EVENTS, event=event))
    assert found == [] and typ == BOOLEAN
    assert tree.left.kind == "property"


def test_refs_carry_kind_and_type():
    tree, _, _ = run("fit + score > employees and grade == \"A\" and accepted")
    cmp, grade_eq, accepted = tree.operands
    assert cmp.left.left == Ref(0, 3, "fit", "model", NUMBER)
    assert cmp.left.right == Ref(6, 11, "score", "score", NUMBER)
    assert cmp.right == Ref(14, 23, "employees", "field", INTEGER)
    assert grade_eq.left == Ref(28, 33, "grade", "grade", Type("grade", ("A", "B", "C", "D")))
    assert accepted == Ref(45, 53, "accepted", "builtin", BOOLEAN)


def test_calls_get_target_kind():
    tree, _, _ = run("days_since(contract_renewal_date) > days_since(email_click)")
    assert tree.left.target_kind == "field"
    assert tree.left.target == Ref(11, 32, "contract_renewal_date", "field", DATE)
    assert tree.right.target_kind == "event" and tree.right.target == Name(47, 58, "email_click")
    has = run('has(page_view where url == "/x")')[0]
    assert has.target_kind == "event" and has.where.left.kind == "property"


@pytest.mark.parametrize(("text", "typ"), [
    ("count(page_view)", INTEGER), ("days_since(email_click)", NUMBER), ("employees + 1", INTEGER),
    ("employees + 1.5", NUMBER), ("-employees", INTEGER), ("fit - 1", NUMBER),
    ("industry", FIELDS["industry"]), ("has(unsubscribe)", BOOLEAN),
])
def test_types_without_want_bool(text, typ):
    _, got, found = run(text, want_bool=False)
    assert (got, found) == (typ, [])


# --- ALN101 --------------------------------------------------------------------------------------

def test_unknown_name_with_did_you_mean():
    p = only("emploees >= 200")
    assert (p.code, p.start, p.end, p.name) == ("ALN101", 0, 8, "emploees")
    assert p.message == "unknown name `emploees`" and p.help == "did you mean `employees`?"


def test_event_used_as_a_name():
    p = only("page_view > 3")
    assert (p.code, p.help) == ("ALN101", "`page_view` is an event: use count(page_view) or has(page_view)")


def test_unknown_name_repeats_are_reported_per_use_with_the_name():
    found = problems("emploees > 1 and emploees < 9")
    assert [(p.code, p.start, p.name) for p in found] == [("ALN101", 0, "emploees"),
                                                          ("ALN101", 17, "emploees")]


def test_unknown_event_and_property():
    p = only("count(pageview) > 1")
    assert (p.code, p.start, p.end, p.help) == ("ALN101", 6, 14, "did you mean `page_view`?")
    p = only('has(page_view where urll == "x")')
    assert (p.code, p.start, p.message) == ("ALN101", 20,
                                            "unknown property `urll` of event `page_view`")
    assert p.help == "did you mean `url`?"
    p = only('has(page_view where industry == "saas")')
    assert "lead field" in p.help


def test_unknown_event_does_not_cascade_into_where():
    p = only('has(pageview where url == "x")')
    assert p.start == 4


def test_days_since_unknown_target():
    p = only("days_since(contract_renewal) > 1")
    assert (p.code, p.start, p.name) == ("ALN101", 11, "contract_renewal")
    assert p.help == "did you mean `contract_renewal_date`?"


def test_scores_are_not_allowed_in_scoring_rules():
    for text, start in [("fit > 10", 0), ("employees > 1 and score > 1", 18), ('grade == "A"', 0)]:
        p = only(text, RULE)
        assert (p.code, p.start) == ("ALN101", start)
        assert "scores cannot be used inside scoring rules" in p.message


def test_grade_without_grades():
    env = Env(FIELDS, EVENTS, models=("fit",), allow_scores=True)
    p = only('grade == "A"', env)
    assert (p.code, p.start, p.name) == ("ALN101", 0, "grade")


def test_event_scope_only_sees_properties():
    env = Env(FIELDS, EVENTS, event="page_view")
    p = only('employees > 5 and url == "x"', env)
    assert (p.code, p.start, p.name) == ("ALN101", 0, "employees")
    assert problems("anything > 1", Env(FIELDS, EVENTS, event="nope")) == []


# --- ALN201 --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "start", "end", "words"), [
    ("industry > 5", 0, 12, "`industry` is an enum; compare it with one of its values"),
    ('employees contains "x"', 0, 9, "`contains` works on strings; `employees` is an integer"),
    ("not employees", 4, 13, "`not` needs a true/false value; `employees` is an integer"),
    ("budget_confirmed and employees", 21, 30, "`and` needs true/false values"),
    ("contract_renewal_date > 5", 0, 21, "`contract_renewal_date` is a date"),
    ("days_since(employees) > 1", 11, 20, "`days_since()` needs an event or a date field"),
    ('country < "x"', 0, 13, "strings can only be compared with == or !="),
    ("budget_confirmed > true", 0, 23, "true/false values can only be compared"),
    ('employees == "5"', 0, 16, "cannot compare `employees` (an integer) with `\"5\"`"),
    ("country + 1 > 2", 0, 7, "`+` works on numbers; `country` is a string"),
    ("-country > 1", 1, 8, "`-` works on numbers"),
    ('tags == "beta"', 0, 4, "`tags` is a multi-enum"),
    ('tags startswith "b"', 0, 4, "only `contains` works on it"),
    ('industry contains "s"', 0, 8, "`industry` is an enum"),
    ("title endswith country", 15, 22, "`endswith` needs a string in double quotes"),
    ("employees in [1, \"2\"]", 17, 20, "so the list must hold numbers"),
    ('industry in ["saas", 5]', 21, 22, "so the list must hold strings"),
    ("budget_confirmed in [true]", 0, 16, "`in` needs an enum, a string or a number"),
    ("contract_renewal_date in [1]", 0, 21, "dates cannot be compared directly"),
    ("has(page_view where count(email_click) > 1)", 20, 38, "`count()` cannot be used inside"),
    ('grade > "A"', 0, 11, "`grade` is a grade; compare it with one of its values"),
])
def test_type_mismatches(text, start, end, words):
    p = only(text)
    assert (p.code, p.start, p.end) == ("ALN201", start, end), p
    assert words in p.message, p.message


def test_date_comparison_suggests_days_since():
    assert only("contract_renewal_date > 5").help == "use days_since(contract_renewal_date)"


def test_errors_do_not_cascade():
    assert len(problems("not (emploees + 1 > 2)")) == 1
    assert len(problems("(country + 1) > 1")) == 1
    assert len(problems("days_since(employees) + 1 > 3")) == 1
    assert len(problems("-(nope) > 1 and nope2")) == 2


# --- ALN202 --------------------------------------------------------------------------------------

def test_enum_value_not_among_values():
    p = only('industry == "sass"')
    assert (p.code, p.start, p.end) == ("ALN202", 12, 18)
    assert p.message == "`sass` is not a value of `industry`"
    assert p.help == "did you mean `saas`?"
    assert p.notes == ("`industry` is one of: saas, fintech, retail, healthcare, other",)


def test_enum_values_in_lists_events_grades_and_multi_enums():
    found = problems('industry not in ["saas", "retial", "nope"]')
    assert [(p.code, p.start) for p in found] == [("ALN202", 25), ("ALN202", 35)]
    assert found[0].help == "did you mean `retail`?"
    assert only('has(form_submit where form == "demo")').start == 30
    assert only('grade in ["A", "E"]').start == 15
    assert only('tags contains "bta"').code == "ALN202"
    assert only('"sass" == industry').start == 0


# --- ALN203 --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "help"), [
    ("employees + 5", "compare it, e.g. `employees + 5 > 0`"),
    ("industry", 'compare it with a value, e.g. `industry == "saas"`'),
    ("count(page_view)", "compare it, e.g. `count(page_view) > 0`"),
])
def test_not_boolean(text, help):
    p = only(text)
    assert (p.code, p.start, p.end, p.help) == ("ALN203", 0, len(text), help)


def test_where_must_be_boolean():
    p = only("has(page_view where url)")
    assert (p.code, p.start, p.end) == ("ALN203", 20, 23)


def test_want_bool_false_skips_aln203():
    assert problems("employees + 5", want_bool=False) == []


# --- ALN003 --------------------------------------------------------------------------------------

def test_bad_regex_points_at_the_literal():
    p = only('title matches "(?i)director|(head of"')
    assert (p.code, p.start, p.end) == ("ALN003", 14, 37)
    assert p.message.startswith("invalid regular expression")


def test_bad_regex_is_reported_even_on_a_wrong_left_side():
    found = problems('employees matches "("')
    assert sorted(p.code for p in found) == ["ALN003", "ALN201"]


# --- properties ----------------------------------------------------------------------------------

names = st.sampled_from(["employees", "industry", "country", "budget_confirmed", "fit", "grade",
                         "contract_renewal_date", "tags", "nope", "accepted", "url"])
values = st.sampled_from(['"saas"', '"sass"', "5", "2.5", "true", "30d", '"("', '"A"', '"beta"'])
ops = st.sampled_from([" == ", " > ", " + ", " - ", " and ", " or ", " contains ", " matches ",
                       " in [\"saas\", 1] and ", " not in [] or "])


def _compound(inner):
    return st.one_of(
        st.tuples(inner, ops, inner).map(lambda t: f"({t[0]}){t[1]}({t[2]})"),
        inner.map(lambda x: f"not ({x})"),
        inner.map(lambda x: f"-({x})"),
        st.tuples(st.sampled_from(["count", "has", "days_since"]),
                  st.sampled_from(["page_view", "form_submit", "pageview", "contract_renewal_date",
                                   "employees"])).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(["count", "has"]), st.sampled_from(["page_view", "nope"]),
                  inner).map(lambda t: f"{t[0]}({t[1]} where {t[2]})"),
    )


conditions = st.recursive(st.one_of(names, values), _compound, max_leaves=10)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions, st.sampled_from([STAGE, RULE, Env(FIELDS, EVENTS, event="page_view")]),
       st.booleans())
def test_check_never_raises_and_spans_are_inside(text, env, want_bool):
    expr = parse(text)
    if isinstance(expr, SyntaxProblem):
        return
    tree, typ, found = check(expr, env, want_bool=want_bool)
    assert isinstance(typ, Type)
    for p in found:
        assert p.code in {"ALN003", "ALN101", "ALN201", "ALN202", "ALN203"}
        assert 0 <= p.start < p.end <= len(text)
        assert p.message and "\n" not in p.message
    assert check(tree, env, want_bool=want_bool)[2] == found
