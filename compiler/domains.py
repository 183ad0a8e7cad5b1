"""What one variable can take: a decider per sort, and the verdicts and variables they share.

Numbers are an interval with holes (integer or real), enums and booleans a finite set, strings are
tested with contains / startswith / endswith (regexes stay UNKNOWN), and an opaque atom clashes
only with its own negation. `compiler.solver` groups a conjunction's literals by variable and asks
`SORTS` whether each variable can satisfy its own; it is the module to import (see its docstring).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

INF = math.inf


class Verdict(Enum):
    """The solver's answer; UNKNOWN means it could not decide (and checks stay silent)."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


YES, NO, UNKNOWN = Verdict.YES, Verdict.NO, Verdict.UNKNOWN


def any_of(verdicts: Iterable[Verdict]) -> Verdict:
    """YES if one is YES, NO if all are NO (or there are none), else UNKNOWN."""
    result = NO
    for v in verdicts:
        if v is YES:
            return YES
        if v is UNKNOWN:
            result = UNKNOWN
    return result


@dataclass(frozen=True)
class Var:
    """One unknown of a lead. sort: num | set | str | opaque. Identity is the key."""

    key: tuple
    sort: str
    integer: bool = field(default=False, compare=False)
    nullable: bool = field(default=True, compare=False)
    domain: frozenset | None = field(default=None, compare=False)
    lo: float = field(default=-INF, compare=False)
    hi: float = field(default=INF, compare=False)


NEGATE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<",
          "in": "notin", "notin": "in"}


# --- numbers ------------------------------------------------------------------------------------

def _num(var: Var, items: list) -> Verdict:
    lo, lo_open, hi, hi_open = var.lo, False, var.hi, False
    allowed, excluded = None, set()
    for atom, positive in items:
        op, arg = (atom.op if positive else NEGATE[atom.op]), atom.arg
        if op in ("in", "=="):
            values = set(arg) if op == "in" else {arg}
            allowed = values if allowed is None else allowed & values
        elif op in ("notin", "!="):
            excluded |= set(arg) if op == "notin" else {arg}
        elif op in (">", ">=") and (arg > lo or (arg == lo and op == ">")):
            lo, lo_open = arg, op == ">"
        elif op in ("<", "<=") and (arg < hi or (arg == hi and op == "<")):
            hi, hi_open = arg, op == "<"
    box = (lo, lo_open, hi, hi_open)
    if allowed is not None:
        return YES if any(_inside(x, box, var.integer) and x not in excluded
                          for x in allowed) else NO
    return _count_ok(box, excluded) if var.integer else _real_ok(box, excluded)


def _inside(x: float, box: tuple, integer: bool) -> bool:
    lo, lo_open, hi, hi_open = box
    if integer and not float(x).is_integer():
        return False
    return (lo < x or (lo == x and not lo_open)) and (x < hi or (x == hi and not hi_open))


def _count_ok(box: tuple, excluded: set) -> Verdict:
    """Whether an integer lies in the box outside `excluded`."""
    lo, lo_open, hi, hi_open = box
    a = lo if lo == -INF or (float(lo).is_integer() and not lo_open) else math.floor(lo) + 1
    b = hi if hi == INF or (float(hi).is_integer() and not hi_open) else math.ceil(hi) - 1
    if a > b:
        return NO
    if b - a + 1 > len(excluded):
        return YES
    return YES if any(x not in excluded for x in range(int(a), int(b) + 1)) else NO


def _real_ok(box: tuple, excluded: set) -> Verdict:
    lo, lo_open, hi, hi_open = box
    if lo > hi or (lo == hi and (lo_open or hi_open)):
        return NO
    return NO if lo == hi and lo in excluded else YES


# --- finite sets and opaque atoms ---------------------------------------------------------------

def _set(var: Var, items: list) -> Verdict:
    domain = var.domain or frozenset()
    for atom, positive in items:
        domain = domain & atom.arg if positive else domain - atom.arg
    return YES if domain else NO


def _opaque_sort(var: Var, items: list) -> Verdict:
    return NO if len({positive for _, positive in items}) == 2 else UNKNOWN


# --- strings ------------------------------------------------------------------------------------

def _str(var: Var, items: list) -> Verdict:
    allowed, excluded, tests = None, set(), []
    for atom, positive in items:
        if atom.op != "in":
            tests.append((atom.op, atom.arg, positive))
        elif positive:
            allowed = set(atom.arg) if allowed is None else allowed & atom.arg
        else:
            excluded |= atom.arg
    if allowed is not None:
        return any_of(_try_string(s, tests) for s in allowed - excluded)
    return _open_string(tests, excluded)


def _holds(op: str, s: str, arg: str) -> bool | None:
    """A string test on a known value; None for regexes, whose dialect we do not assume."""
    if op == "contains":
        return arg in s
    if op == "startswith":
        return s.startswith(arg)
    if op == "endswith":
        return s.endswith(arg)
    return None


def _try_string(s: str, tests: list) -> Verdict:
    """Whether the value `s` passes every test."""
    verdict = YES
    for op, arg, positive in tests:
        result = _holds(op, s, arg)
        if result is None:
            verdict = UNKNOWN
        elif result != positive:
            return NO
    return verdict


def _open_string(tests: list, excluded: set) -> Verdict:
    """Strings not pinned to a finite set: refute what is forced, else build a witness."""
    if _string_clash(tests):
        return NO
    if any(op == "matches" for op, _, _ in tests):
        return UNKNOWN
    prefix, suffix, inner = _string_parts(tests)
    for k in range(len(excluded) + 2):
        glue = chr(0xE000 + k) if k else ""
        witness = glue.join((prefix, *inner, suffix))
        if witness not in excluded and _try_string(witness, tests) is YES:
            return YES
    return UNKNOWN


def _string_parts(tests: list) -> tuple[str, str, list[str]]:
    pos = [(op, arg) for op, arg, positive in tests if positive]
    prefix = max((a for op, a in pos if op == "startswith"), key=len, default="")
    suffix = max((a for op, a in pos if op == "endswith"), key=len, default="")
    return prefix, suffix, [a for op, a in pos if op == "contains"]


def _string_clash(tests: list) -> bool:
    """Tests no string can pass together, e.g. startswith "a" and startswith "b"."""
    if any((op, arg, not positive) in tests for op, arg, positive in tests):
        return True
    prefix, suffix, inner = _string_parts(tests)
    pos = [(op, a) for op, a, p in tests if p]
    if any(op == "startswith" and not prefix.startswith(a) for op, a in pos) \
            or any(op == "endswith" and not suffix.endswith(a) for op, a in pos):
        return True
    forced = (prefix, suffix, *inner)
    neg = [(op, a) for op, a, p in tests if not p]
    return any((op == "contains" and any(a in f for f in forced))
               or (op == "startswith" and prefix.startswith(a))
               or (op == "endswith" and suffix.endswith(a)) for op, a in neg)


# --- by sort ------------------------------------------------------------------------------------

SORTS = {"num": _num, "set": _set, "str": _str, "opaque": _opaque_sort}
