"""How a condition changed: named parts in words, and its direction (the solver first)."""

from __future__ import annotations

from dataclasses import dataclass

from alignctl.policy.expr import to_text
from alignctl.policy.expr_ast import BoolOp, Call, Compare, Expr, Member, Num, Ref

from .core import FLIP, LOOSER, STRICTER, _more


@dataclass(frozen=True)
class Delta:
    words: str
    direction: str | None      # stricter: the new condition holds for fewer leads
    same: bool = False         # rewritten, same meaning


_UP = {">=": STRICTER, ">": STRICTER, "<=": LOOSER, "<": LOOSER}
_MIRROR = {">=": "<=", ">": "<", "<=": ">=", "<": ">", "==": "==", "!=": "!="}


def condition_change(old: Expr | None, new: Expr | None, ctx_old=None, ctx_new=None, *,
                     none_is_true: bool = True) -> Delta:
    """How `old` became `new`: named parts, and the direction (solver first, then the parts)."""
    if old is None or new is None:
        shown = to_text(new if old is None else old)
        words = f"condition added `{shown}`" if old is None else f"condition `{shown}` removed"
        way = (STRICTER if old is None else LOOSER) if none_is_true else None
        return Delta(words, way)
    verdict = _solver_direction(old, new, ctx_old, ctx_new)
    if verdict == "same":
        return Delta(f"condition rewritten with the same meaning (`{to_text(new)}`)", None, True)
    words, parts_way = _parts(old, new)
    return Delta(words, verdict if verdict != "unknown" else parts_way)


def _solver_direction(old: Expr, new: Expr, ctx_old, ctx_new) -> str | None:
    """'same', stricter, looser, None (changed both ways) or 'unknown'."""
    from alignctl.compiler.solver import YES, Context, implies

    ctx_old = ctx_old or Context()
    ctx_new = ctx_new or ctx_old
    narrower = implies(new, old, ctx_new, ctx_old)
    wider = implies(old, new, ctx_old, ctx_new)
    if narrower is YES and wider is YES:
        return "same"
    if narrower is YES:
        return STRICTER
    if wider is YES:
        return LOOSER
    known = {narrower.value, wider.value} == {"no"}
    return None if known else "unknown"


def _conjuncts(e: Expr) -> list[Expr]:
    return list(e.operands) if isinstance(e, BoolOp) and e.op == "and" else [e]


def _parts(old: Expr, new: Expr) -> tuple[str, str | None]:
    """Words for each conjunct that changed; a direction when every part agrees on one."""
    a, b = _conjuncts(old), _conjuncts(new)
    ta, tb = {to_text(x) for x in a}, {to_text(x) for x in b}
    gone = [x for x in a if to_text(x) not in tb]
    came = [x for x in b if to_text(x) not in ta]
    words, ways = [], []
    for x in list(gone):
        y = next((y for y in came if _subject(x) is not None and _subject(x) == _subject(y)), None)
        if y is not None:
            w, way = _pair(x, y)
            words.append(w)
            ways.append(way)
            gone.remove(x)
            came.remove(y)
    if len(a) == len(b) == len(gone) == len(came) == 1:
        return f"condition `{to_text(old)}` -> `{to_text(new)}`", None
    if gone:
        words.append(f"no longer requires {_listed(gone)}")
    if came:
        words.append(f"now also requires {_listed(came)}")
    ways += [LOOSER] * len(gone) + [STRICTER] * len(came)
    direction = ways[0] if ways and len(set(ways)) == 1 else None
    return "; ".join(words) or "condition changed", direction


def _listed(parts: list[Expr]) -> str:
    items = [f"`{to_text(p)}`" for p in parts]
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _oriented(e: Expr) -> tuple[Expr, str, Expr] | None:
    """A comparison as (subject, op, number), the number on the right."""
    if not isinstance(e, Compare):
        return None
    if isinstance(e.left, Num) and not isinstance(e.right, Num):
        return e.right, _MIRROR[e.op], e.left
    return (e.left, e.op, e.right) if isinstance(e.right, Num) else None


def _subject(e: Expr) -> tuple | None:
    """What a conjunct constrains: comparisons on one term, and memberships, pair up."""
    found = _oriented(e)
    if found is not None:
        subject, op, _ = found
        return ("cmp", to_text(subject), _UP.get(op, op))
    if isinstance(e, Member):
        return ("in", to_text(e.left), e.negated)
    if isinstance(e, Compare) and isinstance(e.left, Call | Ref):
        return ("cmp", to_text(e.left), _UP.get(e.op, e.op))
    return None


def _pair(x: Expr, y: Expr) -> tuple[str, str | None]:
    if isinstance(x, Member) and isinstance(y, Member):
        return _member_pair(x, y)
    ox, oy = _oriented(x), _oriented(y)
    if ox is None or oy is None or ox[1] != oy[1]:
        return f"`{to_text(x)}` -> `{to_text(y)}`", None
    subject, op, a = ox
    b = oy[2]
    name = subject.name if isinstance(subject, Ref) else f"`{to_text(subject)}`"
    what = {">=": "threshold", ">": "threshold", "<=": "upper bound", "<": "upper bound"}
    if op in what:
        way = _more(a.value, b.value, higher=_UP[op])
        return f"{name} {what[op]} {to_text(a)} -> {to_text(b)}", way
    return f"`{to_text(x)}` -> `{to_text(y)}`", None


def _member_pair(x: Member, y: Member) -> tuple[str, str | None]:
    va = [to_text(i) for i in x.items.items]
    vb = [to_text(i) for i in y.items.items]
    gone, came = [v for v in va if v not in vb], [v for v in vb if v not in va]
    parts = ([f"no longer {', '.join(gone)}"] if gone else []) + \
        ([f"now also {', '.join(came)}"] if came else [])
    way = STRICTER if gone and not came else LOOSER if came and not gone else None
    if x.negated:
        way = FLIP[way]
    op = "not in" if x.negated else "in"
    return f"`{to_text(x.left)} {op}`: {'; '.join(parts) or 'reordered'}", way
