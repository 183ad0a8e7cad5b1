"""The condition parser: POLICY.md examples, offsets, syntax errors, and round trips."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alignctl.policy import gen_parser
from alignctl.policy.expr import MAX_DEPTH, SyntaxProblem, children, parse, to_text
from alignctl.policy.expr_ast import (
    Arith,
    Bool,
    BoolOp,
    Call,
    Compare,
    Duration,
    ListLit,
    Member,
    Name,
    Neg,
    Node,
    Not,
    Num,
    Str,
    StrMatch,
)

POLICY_EXAMPLES = [
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
    'grade in ["A", "B"] and engagement >= 40',
    "accepted",
    'budget_confirmed and has(form_submit where form == "demo_request")',
    'url contains "/pricing"',
    'form == "demo_request"',
    'email endswith "@gmail.com"',
]


def strip(value):
    """The tree with every offset set to 0, for comparisons that ignore positions."""
    if isinstance(value, tuple):
        return tuple(strip(v) for v in value)
    if isinstance(value, Node):
        changes = {f.name: strip(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **{**changes, "start": 0, "end": 0})
    return value


def nodes(expr):
    """Every node of a tree, parents first."""
    out, todo = [], [expr]
    while todo:
        node = todo.pop()
        out.append(node)
        todo.extend(children(node))
    return out


@pytest.mark.parametrize("text", POLICY_EXAMPLES)
def test_policy_examples_parse(text):
    expr = parse(text)
    assert not isinstance(expr, SyntaxProblem), expr
    assert (expr.start, expr.end) == (0, len(text))
    for node in nodes(expr):
        assert 0 <= node.start < node.end <= len(text)


def test_tree_shape_and_offsets():
    text = 'count(page_view where url contains "/pricing" within 30d) >= 3'
    expr = parse(text)
    assert isinstance(expr, Compare) and expr.op == ">="
    call = expr.left
    assert isinstance(call, Call) and call.func == "count"
    assert call.target == Name(6, 15, "page_view")
    assert call.where == StrMatch(22, 45, "contains", Name(22, 25, "url"), Str(35, 45, "/pricing"))
    assert call.within == Duration(53, 56, "30d", 30 * 86400)
    assert (call.start, call.end) == (0, 57)
    assert expr.right == Num(61, 62, 3)
    assert call.target_kind == ""


def test_member_and_negative_numbers():
    expr = parse('country not in ["cuba", "iran"]')
    assert expr == Member(0, 31, True, Name(0, 7, "country"),
                          ListLit(15, 31, (Str(16, 22, "cuba"), Str(24, 30, "iran"))))
    assert parse("days_since(x) > -90").right == Num(16, 19, -90)
    assert parse("x in [-1, 2.5,]").items.items == (Num(6, 8, -1), Num(10, 13, 2.5))
    assert parse("x in []").items.items == ()
    assert isinstance(parse("-x"), Neg)


def test_and_or_are_flattened_through_parentheses():
    expr = parse("a and (b and c) and d or e")
    assert isinstance(expr, BoolOp) and expr.op == "or"
    inner = expr.operands[0]
    assert inner.op == "and" and [n.name for n in inner.operands] == ["a", "b", "c", "d"]
    assert (inner.start, inner.end) == (0, 21)
    assert parse("(a or b) and c").operands[0] == BoolOp(1, 7, "or", (Name(1, 2, "a"), Name(6, 7, "b")))


def test_precedence():
    assert isinstance(parse("not a == b"), Not)
    assert isinstance(parse("not a and b"), BoolOp)
    assert parse("a - b - c").left == Arith(0, 5, "-", Name(0, 1, "a"), Name(4, 5, "b"))
    cmp = parse("a + 1 > b")
    assert isinstance(cmp, Compare) and isinstance(cmp.left, Arith)


@pytest.mark.parametrize(("text", "seconds"), [("15m", 900), ("4h", 14400), ("30d", 2592000),
                                               ("2w", 1209600)])
def test_durations(text, seconds):
    assert parse(f"has(e within {text})").within.seconds == seconds


def test_literals():
    assert parse(r'x == "a\"b\\c\nd\te"').right.value == 'a"b\\c\nd\te'
    assert parse("x == true").right == Bool(5, 9, True)
    assert parse("x == false").right.value is False
    assert parse("x == 2.50").right.value == 2.5
    assert parse("x == 007").right.value == 7


@pytest.mark.parametrize("text", ["and", "x == or", "count > 1", "in", "x == where",
                                  "matches == 1", "true_value == 1 and not == 2"])
def test_keywords_are_reserved(text):
    assert isinstance(parse(text), SyntaxProblem)


def test_names_that_start_with_keywords_are_names():
    assert parse("android and orange and notes and counts and in_stage") == BoolOp(
        0, 52, "and", (Name(0, 7, "android"), Name(12, 18, "orange"), Name(23, 28, "notes"),
                       Name(33, 39, "counts"), Name(44, 52, "in_stage")))


ERRORS = [
    ("employees >= ", 13, "expected a value after `>=`"),
    ("", 0, "empty condition"),
    ("   ", 0, "empty condition"),
    ('title == "vp', 9, "unterminated string"),
    ("a)", 1, "unexpected `)`"),
    ("a < b < c", 6, "comparisons cannot be chained"),
    ('x in ["a"] == true', 11, "comparisons cannot be chained"),
    ("(a and b", 0, "`(` is never closed"),
    ('x in ["a"', 5, "`[` is never closed"),
    ("a b", 2, "unexpected `b`"),
    ("count >= 3", 6, "expected `(` after `count`"),
    ("count(", 6, "expected an event name"),
    ("days_since(", 11, "expected an event or a date field"),
    ("x in y", 5, "expected a list"),
    ("has(e within 3)", 13, "expected a duration"),
    ("has(e within 3d where a)", 16, "expected `)`"),
    ("30days > 1", 0, "`30days` is neither a number nor a duration"),
    ('Industry == "saas"', 0, "`Industry` is not a valid name"),
    ("x = 5", 2, "unexpected character `=`"),
    ("a && b", 2, "unexpected character `&`"),
    (r'x matches "\d+"', 11, "unknown escape `\\d`"),
    ("employees >= and", 13, "expected a value after `>=`, found `and`"),
    ("x in [a]", 6, "expected a literal value"),
    ("not", 3, "expected a value after `not`"),
    (")", 0, "a condition cannot start with `)`"),
]


@pytest.mark.parametrize(("text", "start", "message"), ERRORS)
def test_syntax_errors(text, start, message):
    problem = parse(text)
    assert isinstance(problem, SyntaxProblem)
    assert problem.start == start
    assert problem.message.startswith(message), problem.message
    assert "\n" not in problem.message
    assert problem.start <= problem.end <= len(text)


def test_error_help_lines():
    assert parse("x = 5").help == "use `==` to compare"
    assert "`and`" in parse("a < b < c").help
    assert parse("has(e within 3d where a)").help == "write `where` before `within`"


@pytest.mark.parametrize("text", [
    "(" * 10_000 + "a" + ")" * 10_000,
    "(" * 10_000,
    "not " * 10_000 + "a",
    "-" * 10_000 + "a",
    " + ".join(["a"] * 5_000),
    " and ".join(["a"] * 5_000),
    "[" * 10_000,
    '"' * 10_001,
])
def test_deep_or_long_input_never_raises(text):
    result = parse(text)
    assert isinstance(result, Node | SyntaxProblem)
    if isinstance(result, SyntaxProblem):
        assert 0 <= result.start <= result.end <= len(text)
    else:
        assert parse(to_text(result)) is not None


def test_depth_limit():
    assert isinstance(parse("not " * (MAX_DEPTH - 1) + "a"), Not)
    problem = parse("not " * MAX_DEPTH + "a")
    assert isinstance(problem, SyntaxProblem) and "nested too deeply" in problem.message


def test_parse_is_cached():
    assert parse("employees > 5") is parse("employees > 5")


def test_to_text_is_canonical():
    cases = {
        "a   and(b or c)": "a and (b or c)",
        "(a - b) - c": "a - b - c",
        "a - (b - c)": "a - (b - c)",
        "not(not a)": "not not a",
        "x in [ 1 ,2, ]": "x in [1, 2]",
        "count( e where(a)within 2w )>=1.50": "count(e where a within 2w) >= 1.5",
        r'x == "q\"\\"': r'x == "q\"\\"',
        "-(a + b) < - 3": "-(a + b) < -3",
        "(a == b) == (c < d)": "(a == b) == (c < d)",
    }
    for text, canonical in cases.items():
        assert to_text(parse(text)) == canonical


def test_generated_parser_is_current_and_deterministic():
    assert gen_parser.is_current()
    grammar = gen_parser.GRAMMAR.read_bytes()
    first = gen_parser.generate(grammar)
    assert first == gen_parser.generate(grammar)
    assert first == gen_parser.OUTPUT.read_text(encoding="utf-8")


def test_parsing_does_not_import_lark():
    code = ("import sys, alignctl.policy.expr as e; e.parse('a >= 1'); e.parse('a >='); "
            "sys.exit('lark' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# --- property tests ------------------------------------------------------------------------------

TOKENS = ["and", "or", "not", "in", "(", ")", "[", "]", ",", "==", "!=", "<", "<=", ">", ">=",
          "+", "-", "contains", "startswith", "endswith", "matches", "count", "has",
          "days_since", "where", "within", "true", "false", "a", "employees", "x_1", "0", "3",
          "2.5", "30d", "4h", '"x"', '"a\\"b"', '"', "\\", "=", "'", "Z", "é", "\n", "30days"]

SEPARATORS = st.sampled_from(["", " ", "  ", "\t"])
token_soup = st.lists(st.tuples(st.sampled_from(TOKENS), SEPARATORS), max_size=25).map(
    lambda parts: "".join(tok + sep for tok, sep in parts))

names = st.sampled_from(["a", "b", "employees", "x_1", "_y", "android"])
numbers = st.from_regex(r"[0-9]{1,6}(\.[0-9]{1,4})?", fullmatch=True)
strings = st.lists(st.sampled_from(["a", " ", "é", '\\"', "\\\\", "\\n", "\\t", "(?i)", "/x"]),
                   max_size=5).map(lambda parts: '"' + "".join(parts) + '"')
durations = st.from_regex(r"[0-9]{1,3}[mhdw]", fullmatch=True)
literals = st.one_of(numbers, strings, durations, st.sampled_from(["true", "false"]))
items = st.lists(st.one_of(literals, numbers.map(lambda n: "-" + n)), max_size=4).map(
    lambda xs: "[" + ", ".join(xs) + "]")


def _paren(text: str) -> str:
    return f"({text})"


def _compound(inner):
    operand = st.one_of(names, literals, inner.map(_paren))
    return st.one_of(
        st.tuples(inner, st.sampled_from([" and ", " or "]), inner).map("".join),
        inner.map(lambda x: "not " + x),
        st.tuples(operand, st.sampled_from([" == ", " != ", " < ", " >= ", " contains ",
                                            " matches ", " + ", " - "]), operand).map("".join),
        st.tuples(operand, st.sampled_from([" in ", " not in "]), items).map("".join),
        operand.map(lambda x: "-" + x),
        st.tuples(st.sampled_from(["count", "has"]), names, inner, durations).map(
            lambda t: f"{t[0]}({t[1]} where {t[2]} within {t[3]})"),
        names.map(lambda n: f"days_since({n})"),
        inner.map(_paren),
    )


conditions = st.recursive(st.one_of(names, literals), _compound, max_leaves=12)

FAST = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.text(max_size=60))
def test_parse_never_raises_on_any_text(text):
    result = parse(text)
    assert isinstance(result, Node | SyntaxProblem)
    if isinstance(result, SyntaxProblem):
        assert 0 <= result.start <= result.end <= len(text)
        assert result.message and "\n" not in result.message


@FAST
@given(token_soup)
def test_parse_never_raises_on_token_soup(text):
    result = parse(text)
    if isinstance(result, SyntaxProblem):
        assert 0 <= result.start <= result.end <= len(text)
    else:
        assert strip(parse(to_text(result))) == strip(result)


@FAST
@given(conditions)
def test_round_trip(text):
    expr = parse(text)
    assert not isinstance(expr, SyntaxProblem), (text, expr)
    printed = to_text(expr)
    again = parse(printed)
    assert strip(again) == strip(expr), printed
    assert to_text(again) == printed
    for node in nodes(expr):
        assert 0 <= node.start < node.end <= len(text)


@pytest.mark.parametrize("value", [None, True, 5, ["a"], {"a": 1}])
def test_non_strings_are_problems(value):
    problem = parse(value)
    assert isinstance(problem, SyntaxProblem) and "must be a string" in problem.message
