"""The condition solver: known answers, soundness on random conditions, and score bounds that
contain the score of every random lead evaluated directly."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alignctl.compiler import bounds, ir, solver
from alignctl.compiler.solver import NO, UNKNOWN, YES, Context
from alignctl.compiler.typecheck import Env, check
from alignctl.policy.diagnostics import Span
from alignctl.policy.expr import parse, to_text
from alignctl.policy.expr_ast import (
    BOOLEAN,
    INTEGER,
    NUMBER,
    STRING,
    Arith,
    Bool,
    BoolOp,
    Call,
    Compare,
    Duration,
    Member,
    Neg,
    Not,
    Num,
    Ref,
    Str,
    StrMatch,
    Type,
)

INDUSTRIES = ("saas", "fintech", "retail")
TOOLS = ("ga", "mixpanel", "heap")
FORMS = ("demo", "paper")
EMAILS = ("ann@acme.com", "bob@gmail.com", "vp@corp.io", "", "a")
URLS = ("/pricing", "/docs/sdk", "/", "/pricing/enterprise")
FIELDS = {
    "employees": INTEGER, "revenue": NUMBER, "email": STRING, "ok": BOOLEAN,
    "industry": Type("enum", INDUSTRIES), "tools": Type("multi_enum", TOOLS),
    "renewal": Type("date"),
}
EVENTS = {"page_view": {"url": STRING}, "form_submit": {"form": Type("enum", FORMS)},
          "webinar": {}}
GRADES = (("A", 35), ("B", 20), ("C", 0))
CTX = Context("fit", GRADES)
BUILTINS = {"accepted": BOOLEAN, "days_in_stage": NUMBER, "recycle_count": INTEGER}
ENV = Env(FIELDS, EVENTS, models=("fit", "engagement"), grades=("A", "B", "C"),
          allow_scores=True, builtins=BUILTINS)
CALLS = ("count(page_view)", 'count(page_view where url contains "/pricing")',
         "count(page_view within 30d)", 'count(form_submit where form == "demo")')
SPAN = Span("t.yaml", 1, 1, 1, 2)
FAST = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def typed(text: str, env: Env = ENV):
    tree, _, problems = check(parse(text), env)
    assert not problems, problems
    return tree


# --- known answers ----------------------------------------------------------------------------

SATISFIABLE = [
    ("employees >= 500 and employees <= 500", YES),
    ("employees > 500 and employees < 100", NO),
    ("employees > 5 and employees < 6", NO),
    ("revenue > 5 and revenue < 6", YES),
    ("employees > 2.5 and employees < 3", NO),
    ("employees != 3 and employees >= 3 and employees <= 3", NO),
    ("employees in [1, 2] and employees not in [1, 2]", NO),
    ("employees + 5 > 10 and employees < 3", NO),
    ("-employees > 3 and employees > 0", NO),
    ("employees - revenue > 3", UNKNOWN),
    ('industry == "saas" and industry == "retail"', NO),
    ('industry != "saas" and industry != "fintech" and industry != "retail"', NO),
    ('industry not in ["saas", "fintech"]', YES),
    ('email == "a" and email == "b"', NO),
    ('email in ["a", "b"] and email != "a" and email != "b"', NO),
    ('email endswith "@gmail.com" and not email contains "gmail"', NO),
    ('email startswith "ab" and email startswith "ac"', NO),
    ('email startswith "ab" and email endswith "z" and not email contains "q"', YES),
    ('email == "x@gmail.com" and not email endswith "@gmail.com"', NO),
    ('email matches "x" and not email matches "x"', NO),
    ('email matches "x"', UNKNOWN),
    ("ok and not ok", NO),
    ("not (employees > 5 or employees <= 5)", NO),
    ("has(page_view) and count(page_view) < 1", NO),
    ("count(page_view) < 0", NO),
    ('has(form_submit where form == "demo" and form == "paper")', NO),
    ('tools contains "ga" and not tools contains "ga"', NO),
    ('tools contains "ga" and not tools contains "heap"', YES),
    ("days_since(renewal) > 3 and days_since(renewal) < 2", NO),
    ("1 > 2", NO),
    ("fit >= 10 or 1 > 2", YES),
]


@pytest.mark.parametrize(("text", "expected"), SATISFIABLE)
def test_satisfiable(text: str, expected: solver.Verdict) -> None:
    assert solver.satisfiable(typed(text)) is expected


def test_grades_are_bands_of_the_graded_model() -> None:
    both = typed('grade == "A" and fit < 30')
    assert solver.satisfiable(both) is YES          # without the grade scale: no link
    assert solver.satisfiable(both, CTX) is NO
    assert solver.satisfiable(typed('grade in ["A", "B"] and fit >= 10'), CTX) is YES


IMPLIES = [
    ("employees > 10", "employees > 5", YES),
    ("employees > 5", "employees > 10", NO),
    ("ok", "ok and (employees > 5 or employees <= 5)", NO),          # employees may be missing
    ("ok and employees > 3", "ok and (employees > 5 or employees <= 5)", YES),
    ('industry == "saas"', 'industry != "retail"', YES),
    ('grade == "A"', "fit >= 20", YES),
    ("has(page_view)", "count(page_view) >= 1", YES),
    ("not has(webinar)", "count(webinar) == 0", YES),
]


@pytest.mark.parametrize(("a", "b", "expected"), IMPLIES)
def test_implies(a: str, b: str, expected: solver.Verdict) -> None:
    assert solver.implies(typed(a), typed(b), CTX) is expected


def test_accepted_belongs_to_its_stage() -> None:
    a, b = typed("accepted and ok"), typed("accepted")
    assert solver.implies(a, b, Context(stage="sal")) is YES
    assert solver.implies(a, b, Context(stage="sal"), Context(stage="sql")) is NO


def test_conflict_names_the_clashing_parts() -> None:
    text = "ok and employees > 500 and employees < 100"
    spans = solver.conflict(typed(text))
    assert [text[a:b] for a, b in spans] == ["employees > 500", "employees < 100"]


def test_a_huge_condition_is_unknown_not_slow() -> None:
    clauses = [f"(count(page_view within {i}d) == 0 or count(page_view within {i}d) == 1)"
               for i in range(1, 40)]
    text = " and ".join(["employees > 5 and employees < 3", *clauses])
    assert solver.satisfiable(typed(text)) is UNKNOWN
    assert solver.satisfiable(typed(" and ".join([*clauses, "employees > 5 and employees < 3"]))) is NO


# --- a direct evaluator, three-valued ---------------------------------------------------------

def value(e, lead: dict):
    """The value of a term for `lead`; None when missing."""
    if isinstance(e, Num | Str | Bool):
        return e.value
    if isinstance(e, Duration):
        return e.seconds
    if isinstance(e, Ref):
        return lead.get(e.name)
    if isinstance(e, Call):
        return _call(e, lead)
    if isinstance(e, Neg):
        v = value(e.operand, lead)
        return None if v is None else -v
    if isinstance(e, Arith):
        a, b = value(e.left, lead), value(e.right, lead)
        return None if a is None or b is None else a + b if e.op == "+" else a - b
    return truth(e, lead)


def _call(e: Call, lead: dict):
    if e.func == "days_since":
        return lead.get(f"days_since({e.target.name})")
    n = lead.get(to_text(Call(0, 0, "count", e.target, e.where, e.within)), 0)
    return n if e.func == "count" else n > 0


def truth(e, lead: dict) -> bool | None:
    """SQL's three-valued logic: True, False or None (unknown)."""
    if isinstance(e, BoolOp):
        vals = [truth(x, lead) for x in e.operands]
        stop = e.op == "or"
        if stop in vals:
            return stop
        return None if None in vals else not stop
    if isinstance(e, Not):
        v = truth(e.operand, lead)
        return None if v is None else not v
    if isinstance(e, Compare | Member | StrMatch):
        return _atom(e, lead)
    return value(e, lead)


OPS = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
       "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def _atom(e, lead: dict) -> bool | None:
    left = value(e.left, lead)
    if left is None:
        return None
    if isinstance(e, Member):
        return (left in [value(x, lead) for x in e.items.items]) != e.negated
    right = value(e.right, lead)
    if right is None:
        return None
    if isinstance(e, Compare):
        return OPS[e.op](left, right)
    if e.op == "matches":
        return re.search(right, left) is not None
    return {"contains": lambda: right in left, "startswith": lambda: left.startswith(right),
            "endswith": lambda: left.endswith(right)}[e.op]()


# --- random leads and conditions true for them ------------------------------------------------

def grade_of(fit: int) -> str:
    return next((g for g, t in GRADES if fit >= t), "D")


@st.composite
def leads(draw) -> dict:
    lead = {
        "employees": draw(st.none() | st.integers(-5, 3000)),
        "revenue": draw(st.none() | st.integers(-100, 100).map(lambda x: x / 10)),
        "email": draw(st.none() | st.sampled_from(EMAILS)),
        "ok": draw(st.none() | st.booleans()),
        "industry": draw(st.none() | st.sampled_from(INDUSTRIES)),
        "tools": draw(st.none() | st.frozensets(st.sampled_from(TOOLS))),
        "days_since(renewal)": draw(st.none() | st.integers(-100, 100)),
        "fit": draw(st.integers(-40, 80)), "engagement": draw(st.integers(-20, 120)),
        "score": draw(st.integers(-60, 200)), "accepted": draw(st.none() | st.booleans()),
    }
    lead["grade"] = grade_of(lead["fit"])
    lead.update({c: draw(st.integers(0, 4)) for c in CALLS})
    return lead


def _number_text(x: float) -> str:
    return f"({x})" if x < 0 else str(x)


@st.composite
def numeric_atom(draw, lead: dict) -> str:
    common = st.sampled_from(["employees", "revenue"])
    name = draw(common | common | st.sampled_from(["fit", "score", "days_since(renewal)", *CALLS]))
    base = lead.get(name) if lead.get(name) is not None else draw(st.integers(-10, 3000))
    const = base + draw(st.integers(-1, 1)) if isinstance(base, int) else \
        round(base + draw(st.integers(-10, 10)) / 10, 1)
    op = draw(st.sampled_from(list(OPS)))
    shape = draw(st.integers(0, 4))
    if shape == 1:
        return f"{_number_text(const)} {solver.MIRROR[op]} {name}"
    if shape == 2:
        return f"{name} + 7 {op} {_number_text(const + 7)}"
    if shape == 3:
        consts = ", ".join(str(const + d) for d in draw(st.lists(st.integers(-2, 2))))
        return f"{name} {draw(st.sampled_from(['in', 'not in']))} [{consts}]"
    return f"{name} {op} {_number_text(const)}"


@st.composite
def other_atom(draw, lead: dict) -> str:
    kind = draw(st.integers(0, 5))
    if kind == 0:
        values = draw(st.lists(st.sampled_from(INDUSTRIES), min_size=1, max_size=3))
        op = draw(st.sampled_from(["in", "not in"]))
        return f"industry {op} [{', '.join(f'{v!r}' for v in values)}]".replace("'", '"')
    if kind == 1:
        return f'industry {draw(st.sampled_from(["==", "!="]))} "{draw(st.sampled_from(INDUSTRIES))}"'
    if kind == 2:
        return draw(st.sampled_from(["ok", "ok == true", "ok != false", "accepted", "has(webinar)",
                                     "has(page_view)", 'has(form_submit where form == "demo")']))
    if kind == 3:
        return f'tools contains "{draw(st.sampled_from(TOOLS))}"'
    if kind == 4:
        return f'grade {draw(st.sampled_from(["==", "!="]))} "{draw(st.sampled_from("ABC"))}"'
    return draw(string_atom(lead))


@st.composite
def string_atom(draw, lead: dict) -> str:
    email = lead.get("email") or draw(st.sampled_from(EMAILS))
    i, j = sorted(draw(st.tuples(st.integers(0, len(email)), st.integers(0, len(email)))))
    piece = draw(st.sampled_from([email[i:j], email[:j], email[i:], "gmail", "@", "x"]))
    op = draw(st.sampled_from(["contains", "startswith", "endswith", "matches", "==", "!="]))
    if op == "matches":
        piece = re.escape(piece).replace("\\", "")
        piece = re.sub(r"[^a-z@]", "", piece)
    return f'email {op} "{piece}"'


def conditions(lead: dict, depth: int = 3, scores: bool = True):
    """A random condition over `lead`'s names (`scores=False`: lead fields only)."""
    atom = (numeric_atom(lead) | other_atom(lead)) if scores else field_atom(lead)
    if depth == 0:
        return atom
    sub = conditions(lead, depth - 1, scores)
    return st.one_of(
        atom,
        st.lists(sub, min_size=2, max_size=3).map(lambda xs: "(" + " and ".join(xs) + ")"),
        st.lists(sub, min_size=2, max_size=3).map(lambda xs: "(" + " or ".join(xs) + ")"),
        sub.map(lambda x: f"not ({x})"),
    )


@st.composite
def field_atom(draw, lead: dict) -> str:
    text = draw(numeric_atom(lead) | other_atom(lead))
    banned = ("fit", "score", "grade", "accepted", "count(", "has(", "days_since")
    return text if not any(b in text for b in banned) else "employees >= 0"


def made_true(text: str, lead: dict) -> str | None:
    """`text`, or its negation, so that it is TRUE for `lead`; None if it is unknown."""
    v = truth(typed(text), lead)
    return None if v is None else text if v else f"not ({text})"


@FAST
@given(st.data())
def test_never_calls_a_satisfied_condition_unsatisfiable(data) -> None:
    lead = data.draw(leads())
    text = made_true(data.draw(conditions(lead)), lead)
    if text is None:
        return
    tree = typed(text)
    assert truth(tree, lead) is True
    assert solver.satisfiable(tree) is not NO, text
    assert solver.satisfiable(tree, CTX) is not NO, text


@FAST
@given(st.data())
def test_never_claims_an_implication_a_lead_breaks(data) -> None:
    lead = data.draw(leads())
    a = made_true(data.draw(conditions(lead, 2)), lead)
    b = data.draw(conditions(lead, 2))
    if a is None or truth(typed(b), lead) is True:
        return
    assert solver.implies(typed(a), typed(b), CTX) is not YES, (a, b)


# --- score bounds -----------------------------------------------------------------------------

def _rule(i: int, model: str, points: int, *, when=None, on=None, where=None, max=None,
          once=False) -> ir.Rule:
    def cond(text):
        env = ENV if on is None else Env({}, EVENTS, event=on)
        return None if text is None else ir.Condition(text, typed(text, env), SPAN,
                                                      lambda s, e: SPAN)
    return ir.Rule(f"r{i}", model, None, None, cond(when), on, cond(where), points, max, once,
                   ir.Loc(SPAN))


def _model(kind: str, rules, cap=None, low=None, half_life=None) -> ir.Model:
    decay = ir.Dur(f"{half_life}d", half_life * 86400) if half_life else None
    return ir.Model(kind, kind, kind, None, decay, cap, low, (), tuple(rules), ir.Loc(SPAN))


def _clamp(x: float, model: ir.Model) -> float:
    x = max(x, model.min) if model.min is not None else x
    return min(x, model.cap) if model.cap is not None else x


def fit_score(model: ir.Model, lead: dict) -> float:
    total = sum(r.points for r in model.rules if truth(r.when.expr, lead) is True)
    return _clamp(total, model)


@FAST
@given(st.data())
def test_fit_bounds_contain_every_lead(data) -> None:
    lead0 = data.draw(leads())
    n = data.draw(st.integers(1, 8))
    rules = [_rule(i, "fit", data.draw(st.integers(-30, 40)),
                   when=data.draw(conditions(lead0, 1, scores=False))) for i in range(n)]
    model = _model("fit", rules, data.draw(st.none() | st.integers(-10, 60)),
                   data.draw(st.none() | st.integers(-40, 10)))
    lo, hi = bounds.model_bounds(model)
    for lead in [lead0, *data.draw(st.lists(leads(), max_size=6))]:
        assert lo <= fit_score(model, lead) <= hi


def test_fit_bounds_see_exclusive_bands() -> None:
    rules = [_rule(0, "fit", 20, when='industry == "saas"'),
             _rule(1, "fit", 15, when="employees >= 10 and employees < 100"),
             _rule(2, "fit", 25, when="employees >= 100 and employees < 1000"),
             _rule(3, "fit", 20, when="employees >= 1000"),
             _rule(4, "fit", -30, when='email endswith "@gmail.com"'),
             _rule(5, "fit", 50, when="employees > 5 and employees < 3")]
    b = bounds.bounds_of(_model("fit", rules))
    assert (b.lo, b.hi) == (-30, 45)
    assert [r for r, _ in b.hi_parts] == ["r0", "r2"]


def engagement_score(model: ir.Model, events: list[tuple]) -> float:
    """Each rule over matching occurrences (oldest first), decayed, `once`, `max`; then clamped."""
    total = 0.0
    for rule in model.rules:
        hits = [age for ev, props, age in events if ev == rule.on
                and (rule.where is None or truth(rule.where.expr, props) is True)]
        worth = [rule.points * _decay(model, age) for age in sorted(hits, reverse=True)]
        part = sum(worth[:1] if rule.once else worth)
        total += part if rule.max is None else \
            min(part, abs(rule.max)) if rule.points >= 0 else max(part, -abs(rule.max))
    return round(_clamp(total, model), 2)


def _decay(model: ir.Model, age: float) -> float:
    return 0.5 ** (age * 86400 / model.half_life.seconds) if model.half_life else 1.0


occurrences = st.lists(st.one_of(
    st.tuples(st.just("page_view"), st.fixed_dictionaries({"url": st.sampled_from(URLS)}),
              st.integers(0, 90)),
    st.tuples(st.just("form_submit"), st.fixed_dictionaries({"form": st.sampled_from(FORMS)}),
              st.integers(0, 90)),
    st.tuples(st.just("webinar"), st.just({}), st.integers(0, 90)),
), max_size=12)

WHERES = {"page_view": [None, 'url contains "/pricing"', 'url startswith "/docs"',
                        'url == "/" and url != "/"'],
          "form_submit": [None, 'form == "demo"', 'form in ["demo", "paper"]',
                          'form == "demo" and form == "paper"'],
          "webinar": [None]}


@st.composite
def engagement_rules(draw, i: int) -> ir.Rule:
    on = draw(st.sampled_from(sorted(WHERES)))
    return _rule(i, "engagement", draw(st.integers(-20, 30)), on=on,
                 where=draw(st.sampled_from(WHERES[on])),
                 max=draw(st.none() | st.integers(-10, 50)), once=draw(st.booleans()))


@FAST
@given(st.data())
def test_engagement_bounds_contain_every_lead(data) -> None:
    n = data.draw(st.integers(1, 6))
    rules = [data.draw(engagement_rules(i)) for i in range(n)]
    model = _model("engagement", rules, data.draw(st.none() | st.integers(-10, 80)),
                   data.draw(st.none() | st.integers(-40, 10)),
                   data.draw(st.none() | st.integers(1, 60)))
    lo, hi = bounds.model_bounds(model)
    for events in data.draw(st.lists(occurrences, min_size=1, max_size=5)):
        assert lo - 1e-9 <= engagement_score(model, events) <= hi + 1e-9


def test_engagement_bounds_follow_max_once_and_cap() -> None:
    rules = [_rule(0, "engagement", 10, on="page_view", max=30),
             _rule(1, "engagement", 40, on="form_submit", once=True),
             _rule(2, "engagement", -50, on="webinar", once=True),
             _rule(3, "engagement", 5, on="page_view", where='url == "/" and url != "/"')]
    assert bounds.model_bounds(_model("engagement", rules)) == (-50, 70)
    assert bounds.model_bounds(_model("engagement", rules, cap=60, low=-10)) == (-10, 60)
    unbounded = [*rules, _rule(4, "engagement", 1, on="webinar")]
    assert bounds.model_bounds(_model("engagement", unbounded)) == (-50, math.inf)
