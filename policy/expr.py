"""Parse condition strings into the tree of `expr_ast`, and print trees back as text.

The parser is the standalone LALR module generated from `expr.lark` (see `gen_parser.py`), loaded
on first use; `lark` itself is never imported here. Nothing raises: errors are `SyntaxProblem`s.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .expr_ast import (
    Arith,
    Bool,
    BoolOp,
    Call,
    Compare,
    Duration,
    Expr,
    ListLit,
    Member,
    Name,
    Neg,
    Not,
    Num,
    Ref,
    Str,
    StrMatch,
)

__all__ = ["MAX_DEPTH", "SyntaxProblem", "parse", "to_text", "children"]

MAX_DEPTH = 100
"""Deepest tree accepted; deeper conditions are reported rather than risking recursion limits."""

UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


@dataclass(frozen=True)
class SyntaxProblem:
    """A syntax error: a one-line message and the offsets it points at in the expression."""

    message: str
    start: int
    end: int
    help: str | None = None


class _Stop(Exception):
    """Raised inside tree building to report a problem."""

    def __init__(self, problem: SyntaxProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


# ---------------------------------------------------------------------------------------------
# Parsing


@functools.lru_cache(maxsize=1)
def _parser() -> Any:
    """The standalone LALR parser, built once."""
    from . import _expr_parser

    return _expr_parser.Lark_StandAlone()


def parse(text: str) -> Expr | SyntaxProblem:
    """Parse a condition; never raises (not even for a non-string)."""
    if not isinstance(text, str):
        return SyntaxProblem(f"a condition must be a string, not {type(text).__name__}", 0, 0,
                             "write the condition in quotes")
    return _cached(text)


@functools.lru_cache(maxsize=4096)
def _cached(text: str) -> Expr | SyntaxProblem:
    """`parse` for strings, remembered: a policy often repeats a condition."""
    if not text.strip():
        return SyntaxProblem("empty condition", 0, len(text),
                             "write a condition, e.g. `employees >= 200`")
    try:
        return _parse(text)
    except _Stop as stop:
        return stop.problem
    except RecursionError:
        return SyntaxProblem("the condition is nested too deeply", 0, len(text))
    except Exception as exc:  # noqa: BLE001 - a crash is never an answer
        return SyntaxProblem(f"could not parse the condition ({type(exc).__name__})", 0, len(text))


def _parse(text: str) -> Expr:
    """Run the parser; its errors become `_Stop` with a problem in words."""
    from . import _expr_parser as lk

    parser = _parser()
    try:
        tree = parser.parse(text)
    except lk.UnexpectedCharacters as exc:
        raise _Stop(_bad_character(text, exc.pos_in_stream)) from None
    except lk.UnexpectedToken as exc:
        raise _Stop(_unexpected_token(text, exc.token, set(exc.expected))) from None
    except lk.UnexpectedInput as exc:
        pos = getattr(exc, "pos_in_stream", None)
        pos = pos if isinstance(pos, int) and 0 <= pos <= len(text) else len(text)
        raise _Stop(SyntaxProblem("syntax error", pos, pos)) from None
    return _build(tree, lk.Tree)


# ---------------------------------------------------------------------------------------------
# From the Lark tree to expr_ast, without recursion (trees may be thousands deep)


class _Frame:
    __slots__ = ("node", "pending", "results", "depth")

    def __init__(self, node: Any, tree_cls: type) -> None:
        self.node = node
        self.pending = list(reversed(_operands(node))) if isinstance(node, tree_cls) else []
        self.results: list[Any] = []
        self.depth = 0


def _build(root: Any, tree_cls: type) -> Expr:
    """Convert the Lark tree bottom-up with an explicit stack."""
    stack = [_Frame(root, tree_cls)]
    while True:
        top = stack[-1]
        if top.pending:
            stack.append(_Frame(top.pending.pop(), tree_cls))
            continue
        stack.pop()
        if not isinstance(top.node, tree_cls):
            value, depth = top.node, 0
        else:
            value = _HANDLERS[top.node.data](top.node, top.results)
            depth = top.depth + (top.node.data != "paren")
            if depth > MAX_DEPTH:
                raise _Stop(SyntaxProblem("the condition is nested too deeply", value.start,
                                          value.end, f"keep it under {MAX_DEPTH} levels"))
        if not stack:
            return value
        stack[-1].results.append(value)
        stack[-1].depth = max(stack[-1].depth, depth)


def _operands(tree: Any) -> list[Any]:
    """A tree's children; for and/or, all operands of the chain (through parentheses)."""
    if tree.data not in ("and_", "or_"):
        return list(tree.children)
    out, todo = [], [tree]
    while todo:
        node = _unparen(todo.pop())
        if getattr(node, "data", None) == tree.data:
            todo.extend((node.children[2], node.children[0]))
        else:
            out.append(node)
    return out


def _unparen(node: Any) -> Any:
    """The node inside any number of parentheses."""
    inner = node
    while getattr(inner, "data", None) == "paren":
        inner = inner.children[1]
    return inner if getattr(inner, "data", None) in ("and_", "or_") else node


def _span(tree: Any) -> tuple[int, int]:
    return tree.meta.start_pos, tree.meta.end_pos


def _bool_op(tree: Any, kids: list) -> Expr:
    return BoolOp(*_span(tree), "and" if tree.data == "and_" else "or", tuple(kids))


def _not(tree: Any, kids: list) -> Expr:
    return Not(*_span(tree), kids[1])


def _compare(tree: Any, kids: list) -> Expr:
    return Compare(*_span(tree), str(kids[1]), kids[0], kids[2])


def _member(tree: Any, kids: list) -> Expr:
    return Member(*_span(tree), tree.data == "not_member", kids[0], kids[-1])


def _strmatch(tree: Any, kids: list) -> Expr:
    return StrMatch(*_span(tree), kids[1], kids[0], kids[2])


def _arith(tree: Any, kids: list) -> Expr:
    return Arith(*_span(tree), str(kids[1]), kids[0], kids[2])


def _neg(tree: Any, kids: list) -> Expr:
    start, end = _span(tree)
    operand = kids[-1]
    if isinstance(operand, Num):
        return Num(start, end, -operand.value)
    return Neg(start, end, operand)


def _neg_number(tree: Any, kids: list) -> Expr:
    return Num(*_span(tree), -_number_value(str(kids[1])))


def _number_value(text: str) -> int | float:
    return float(text) if "." in text else int(text)


def _number(tree: Any, kids: list) -> Expr:
    return Num(*_span(tree), _number_value(str(kids[0])))


def _string(tree: Any, kids: list) -> Expr:
    start, end = _span(tree)
    return Str(start, end, _unescape(str(kids[0]), start))


def _unescape(literal: str, start: int) -> str:
    """The value of a string literal (with quotes); unknown escapes are syntax errors."""
    body, out, i = literal[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt not in ESCAPES:
            pos = start + 1 + i
            raise _Stop(SyntaxProblem(
                f"unknown escape `\\{nxt}` in a string", pos, pos + 2,
                'strings know \\" \\\\ \\n \\t; write \\\\ for a backslash, e.g. "\\\\d+"'))
        out.append(ESCAPES[nxt])
        i += 2
    return "".join(out)


def _bool(tree: Any, kids: list) -> Expr:
    return Bool(*_span(tree), tree.data == "true")


def _duration(tree: Any, kids: list) -> Expr:
    return _make_duration(kids[0])


def _make_duration(token: Any) -> Duration:
    text = str(token)
    return Duration(token.start_pos, token.end_pos, text, int(text[:-1]) * UNIT_SECONDS[text[-1]])


def _name(tree: Any, kids: list) -> Expr:
    return Name(*_span(tree), str(kids[0]))


def _paren(tree: Any, kids: list) -> Expr:
    return kids[1]


def _list(tree: Any, kids: list) -> Expr:
    return ListLit(*_span(tree), tuple(k for k in kids if not _is_token(k)))


def _call(tree: Any, kids: list) -> Expr:
    func, target = str(kids[0]), kids[2]
    where = within = None
    for i, kid in enumerate(kids):
        if _is_token(kid) and kid.type == "WHERE":
            where = kids[i + 1]
        elif _is_token(kid) and kid.type == "WITHIN":
            within = _make_duration(kids[i + 1])
    name = Name(target.start_pos, target.end_pos, str(target))
    return Call(*_span(tree), func, name, where, within)


def _is_token(value: Any) -> bool:
    return isinstance(value, str)


def _str_op(tree: Any, kids: list) -> str:
    return str(kids[0])


_HANDLERS = {
    "and_": _bool_op, "or_": _bool_op, "not_": _not, "compare": _compare,
    "member": _member, "not_member": _member, "strmatch": _strmatch, "str_op": _str_op,
    "arith": _arith, "neg": _neg, "neg_number": _neg_number, "number": _number,
    "string": _string, "true": _bool, "false": _bool, "duration": _duration, "name": _name,
    "paren": _paren, "list": _list, "call": _call,
}


# ---------------------------------------------------------------------------------------------
# Syntax errors in words

_VALUE_START = {"NAME", "NUMBER", "STRING", "TRUE", "FALSE", "DURATION"}
_CHAINED = {"CMP_OP", "IN", "CONTAINS", "STARTSWITH", "ENDSWITH", "MATCHES"}
_OPERATORS = {"AND", "OR", "CMP_OP", "PLUS"}
_PUNCTUATION = {
    "IN": "`in`", "WHERE": "`where`", "WITHIN": "`within`", "DURATION": "a duration such as `30d`",
    "LPAR": "`(`", "LSQB": 'a list such as `["a", "b"]`', "COMMA": "`,`", "RSQB": "`]`",
    "RPAR": "`)`", "$END": "the end of the condition",
}
_KEYWORDS = {
    "OR", "AND", "NOT", "IN", "TRUE", "FALSE", "WHERE", "WITHIN", "COUNT", "HAS", "DAYS_SINCE",
    "CONTAINS", "STARTSWITH", "ENDSWITH", "MATCHES",
}
_CLOSERS = {"(": ")", "[": "]"}
_CHAR_HINTS = {
    "=": "use `==` to compare", "&": "use `and`", "|": "use `or`",
    "!": "use `not`, or `!=` to compare", "'": 'strings use double quotes: "text"',
}


def _bad_character(text: str, pos: int) -> SyntaxProblem:
    """A lexer error: a character no token starts with."""
    ch = text[pos]
    if ch == '"':
        return SyntaxProblem("unterminated string", pos, len(text), 'close it with `"`')
    if ch in "0123456789":
        word = re.match(r"[0-9][0-9A-Za-z_.]*", text[pos:]).group()
        return SyntaxProblem(
            f"`{word}` is neither a number nor a duration", pos, pos + len(word),
            "numbers look like `5` or `2.5`; durations are a whole number and a unit "
            "(m, h, d or w), e.g. `30d`")
    if ch.isascii() and ch.isalpha():
        start = pos
        while start > 0 and (text[start - 1].isascii() and (text[start - 1].isalnum() or text[start - 1] == "_")):
            start -= 1
        word = re.match(r"[A-Za-z0-9_]*", text[start:]).group()
        return SyntaxProblem(f"`{word}` is not a valid name", start, start + len(word),
                             "names and keywords are lower-case: letters a-z, digits and `_`")
    shown = ch if ch.isprintable() and not ch.isspace() else repr(ch)
    return SyntaxProblem(f"unexpected character `{shown}`", pos, pos + 1, _CHAR_HINTS.get(ch))


def _tokens_before(text: str, pos: int) -> list:
    """The tokens that start before `pos`."""
    out = []
    try:
        for tok in _parser().lex(text):
            if tok.start_pos >= pos:
                break
            out.append(tok)
    except Exception:  # noqa: BLE001 - a lexer error after what we need
        pass
    return out


def _unclosed(tokens: list) -> Any:
    """The innermost `(` or `[` that is still open after `tokens`."""
    stack = []
    for tok in tokens:
        if tok.type in ("LPAR", "LSQB"):
            stack.append(tok)
        elif tok.type in ("RPAR", "RSQB") and stack:
            stack.pop()
    return stack[-1] if stack else None


def _shown(tok: Any) -> str:
    text = str(tok)
    return text if len(text) <= 24 else text[:21] + "..."


def _describe(tok: Any) -> str:
    if tok.type == "$END":
        return "the end of the condition"
    if tok.type == "STRING":
        return f"string `{_shown(tok)}`"
    return f"`{_shown(tok)}`"


def _expected_words(expected: set[str], tokens: list) -> str:
    """What the parser wanted, in words."""
    words = []
    before = tokens[-2].type if len(tokens) >= 2 else None
    if expected == {"NAME"}:
        words.append("an event or a date field" if before == "DAYS_SINCE" else "an event name")
    elif "NAME" in expected:
        words.append("a value")
    elif expected & (_VALUE_START - {"DURATION"}):
        words.append('a literal value such as `5` or `"text"`')
    elif expected & _OPERATORS:
        words.append("an operator (`and`, `or`, `==`, ...)")
    words += [text for key, text in _PUNCTUATION.items() if key in expected
              and not (key in ("LPAR", "DURATION") and words)]
    if not words:
        words = sorted(expected)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _acceptable(tokens: list) -> set[str]:
    """Exactly the token types the parser accepts after `tokens` (before any reduction)."""
    try:
        interactive = _parser().parse_interactive("")
        for tok in tokens:
            interactive.feed_token(tok)
        return set(interactive.accepts())
    except Exception:  # noqa: BLE001 - fall back to Lark's own set
        return set()


def _unexpected_token(text: str, token: Any, expected: set[str]) -> SyntaxProblem:
    """A parser error: the token that cannot come here, and what could."""
    at_end = token.type == "$END"
    tokens = _tokens_before(text, len(text) if at_end else token.start_pos)
    expected = _acceptable(tokens) or expected
    what = _expected_words(expected, tokens)
    wants_value = bool(expected & _VALUE_START)
    if at_end:
        return _unexpected_end(text, tokens, what, wants_value)
    span = token.start_pos, token.end_pos
    if token.type in _CHAINED and "AND" in expected and "CMP_OP" not in expected:
        return SyntaxProblem("comparisons cannot be chained", *span,
                             "join them with `and`, e.g. `a < b and b < c`")
    found = _describe(token)
    if not tokens:
        return SyntaxProblem(f"a condition cannot start with {found}", *span, f"expected {what}")
    if wants_value or len(expected) <= 3:
        hint = _keyword_hint(token, tokens, expected)
        return SyntaxProblem(f"expected {what} after `{_shown(tokens[-1])}`, found {found}",
                             *span, hint)
    if token.type == "RPAR" and _unclosed(tokens) is None:
        return SyntaxProblem(f"unexpected {found}", *span, "there is no `(` for it to close")
    return SyntaxProblem(f"unexpected {found}", *span, f"expected {what}")


def _keyword_hint(token: Any, tokens: list, expected: set[str]) -> str | None:
    """Why a keyword cannot stand here, when that is the likely mistake."""
    if token.type == "WHERE" and any(t.type == "WITHIN" for t in tokens):
        return "write `where` before `within`"
    if token.type in _KEYWORDS and "NAME" in expected:
        return f"`{token}` is a reserved word"
    return None


def _unexpected_end(text: str, tokens: list, what: str, wants_value: bool) -> SyntaxProblem:
    """The condition stops too early."""
    end = len(text)
    opened = _unclosed(tokens)
    if opened is not None and not wants_value:
        closer = _CLOSERS[str(opened)]
        return SyntaxProblem(f"`{opened}` is never closed", opened.start_pos, opened.end_pos,
                             f"add `{closer}` at the end")
    return SyntaxProblem(f"expected {what} after `{_shown(tokens[-1])}`", end, end)


# ---------------------------------------------------------------------------------------------
# Printing back

_LEVEL = {"or": 1, "and": 2}


def to_text(expr: Expr) -> str:
    """The canonical text of an expression: `parse(to_text(e))` equals `e` but for offsets."""
    return _wrapped(expr, 0)


def _wrapped(expr: Expr, need: int) -> str:
    text, level = _render(expr)
    return f"({text})" if level < need else text


def _render(e: Expr) -> tuple[str, int]:
    """The text of `e` and its precedence level (1 loosest .. 7 atoms)."""
    if isinstance(e, BoolOp):
        level = _LEVEL[e.op]
        return f" {e.op} ".join(_wrapped(x, level + 1) for x in e.operands), level
    if isinstance(e, Not):
        return "not " + _wrapped(e.operand, 3), 3
    if isinstance(e, Compare | StrMatch):
        return f"{_wrapped(e.left, 5)} {e.op} {_wrapped(e.right, 5)}", 4
    if isinstance(e, Member):
        op = "not in" if e.negated else "in"
        return f"{_wrapped(e.left, 5)} {op} {_wrapped(e.items, 7)}", 4
    if isinstance(e, Arith):
        return f"{_wrapped(e.left, 5)} {e.op} {_wrapped(e.right, 6)}", 5
    if isinstance(e, Neg):
        return "-" + _wrapped(e.operand, 6), 6
    if isinstance(e, Num):
        return _number_text(e.value), 6 if e.value < 0 else 7
    return _atom_text(e), 7


def _atom_text(e: Expr) -> str:
    if isinstance(e, Str):
        return _quote(e.value)
    if isinstance(e, Bool):
        return "true" if e.value else "false"
    if isinstance(e, Duration):
        return e.text
    if isinstance(e, Name | Ref):
        return e.name
    if isinstance(e, ListLit):
        return "[" + ", ".join(_wrapped(x, 0) for x in e.items) + "]"
    if isinstance(e, Call):
        return _call_text(e)
    raise TypeError(f"not an expression: {e!r}")


def _call_text(e: Call) -> str:
    parts = [e.target.name]
    if e.where is not None:
        parts.append("where " + _wrapped(e.where, 0))
    if e.within is not None:
        parts.append("within " + e.within.text)
    return f"{e.func}({' '.join(parts)})"


def _number_text(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    from decimal import Decimal  # only needed for decimals; keeps the import off startup

    text = format(Decimal(repr(value)), "f")
    return text if "." in text else text + ".0"


def _quote(value: str) -> str:
    body = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + body.replace("\n", "\\n").replace("\t", "\\t") + '"'


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node of a tree, parents first, left to right."""
    todo = [expr]
    while todo:
        node = todo.pop()
        yield node
        todo.extend(reversed(children(node)))


def children(e: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of `e`, left to right."""
    if isinstance(e, BoolOp):
        return e.operands
    if isinstance(e, Not | Neg):
        return (e.operand,)
    if isinstance(e, Compare | StrMatch | Arith):
        return (e.left, e.right)
    if isinstance(e, Member):
        return (e.left, e.items)
    if isinstance(e, ListLit):
        return e.items
    if isinstance(e, Call):
        return tuple(x for x in (e.target, e.where, e.within) if x is not None)
    return ()
