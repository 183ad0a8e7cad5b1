"""The diff's model: a `Change`, its kind and direction, and the blocks every area is built from."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from alignctl.compiler import ir
from alignctl.policy.diagnostics import Diagnostic, Span
from alignctl.policy.english import default_label
from alignctl.policy.expr import to_text
from alignctl.policy.expr_ast import Expr

BREAKING, BEHAVIOR, DOCS = "breaking", "behavior", "docs"
KINDS = (BREAKING, BEHAVIOR, DOCS)          # worst first
STRICTER, LOOSER = "stricter", "looser"
FLIP = {STRICTER: LOOSER, LOOSER: STRICTER, None: None}


@dataclass(frozen=True)
class Conditions:
    """A condition before and after, for the reader's details (`on` names an engagement event)."""

    before: Expr | None
    after: Expr | None
    on_before: str | None = None
    on_after: str | None = None


@dataclass(frozen=True)
class Change:
    kind: str                 # breaking | behavior | docs
    area: str                 # stage | field | term | scoring | handoff | capacity | plan | ...
    id: str
    summary: str
    span: Span                # where it is in HEAD; in BASE for a removal
    direction: str | None = None
    removed: bool = False     # `span` points into BASE
    conditions: Conditions | None = None
    wording: tuple[str, str] | None = None   # a reworded text, before and after

    @property
    def line(self) -> int:
        return self.span.line


def ordered(changes: Iterable[Change]) -> list[Change]:
    return sorted(changes, key=lambda c: (KINDS.index(c.kind), c.removed, c.span.file,
                                          c.span.line, c.area, c.id, c.summary))


def summary(changes: Iterable[Change]) -> dict[str, int]:
    counts = Counter(c.kind for c in changes)
    return {kind: counts.get(kind, 0) for kind in KINDS}


def worst(changes: Iterable[Change]) -> str | None:
    kinds = {c.kind for c in changes}
    return next((k for k in KINDS if k in kinds), None)


def new_findings(base: Sequence[Diagnostic], head: Sequence[Diagnostic]) -> list[Diagnostic]:
    """HEAD's diagnostics that BASE does not have, matched by code and message (not line)."""
    left = Counter((d.code, d.message) for d in base)
    out = []
    for d in head:
        key = (d.code, d.message)
        if left[key]:
            left[key] -= 1
        else:
            out.append(d)
    return out


# --- building blocks ----------------------------------------------------------------------------

def _name(ident: str) -> str:
    return default_label(ident)


def _ids(items: Iterable[str]) -> str:
    return ", ".join(items) or "nobody"


def _show(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, ir.Dur):
        return value.text
    return str(value)


def _more(old: float | None, new: float | None, *, higher: str) -> str | None:
    """`higher` when new > old, its opposite when new < old; None when either is missing."""
    if old is None or new is None or old == new:
        return None
    return higher if new > old else FLIP[higher]


def _dur(d: ir.Dur | None) -> float | None:
    return None if d is None else d.seconds


def _keyed(base: Mapping, head: Mapping) -> tuple[list, list, list[tuple]]:
    """(removed, added, kept pairs) of two id mappings, in file order."""
    removed = [v for k, v in base.items() if k not in head]
    added = [v for k, v in head.items() if k not in base]
    kept = [(base[k], v) for k, v in head.items() if k in base]
    return removed, added, kept


def _renames(removed: list, added: list, alike: Callable[[object, object], float]
             ) -> tuple[list[tuple], list, list]:
    """Pair removed with added items that look like renames: (pairs, removed rest, added rest)."""
    scored = sorted(((alike(r, a), i, j) for i, r in enumerate(removed)
                     for j, a in enumerate(added)), key=lambda t: (-t[0], t[1], t[2]))
    pairs, used_r, used_a = [], set(), set()
    for score, i, j in scored:
        if score >= 0.5 and i not in used_r and j not in used_a:
            pairs.append((removed[i], added[j]))
            used_r.add(i)
            used_a.add(j)
    rest_r = [r for i, r in enumerate(removed) if i not in used_r]
    rest_a = [a for j, a in enumerate(added) if j not in used_a]
    return pairs, rest_r, rest_a


def _similar(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def _attr_changes(area: str, ident: str, title: str, old, new, attrs: Sequence[tuple],
                  ) -> Iterator[Change]:
    """One change per differing attribute: (attr, kind, words, direction_of(old, new) | None)."""
    for attr, kind, words, direction in attrs:
        a, b = getattr(old, attr), getattr(new, attr)
        if a == b:
            continue
        way = direction(a, b) if direction else None
        text = f"{title}: {words} {_show(a)} -> {_show(b)}" + (f" ({way})" if way else "")
        wording = (a, b) if isinstance(a, str) and isinstance(b, str) and kind == DOCS else None
        if wording and len(a) + len(b) > 60:
            text = f"{title}: {words} reworded"
        yield Change(kind, area, ident, text, new.loc.of(attr), way, wording=wording)


def _removed(kind: str, area: str, ident: str, text: str, span: Span) -> Change:
    return Change(kind, area, ident, text, span, removed=True)


def _num(value: float | None) -> str:
    if value is None:
        return "unstated"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _text(cond: ir.Condition | None) -> str | None:
    return None if cond is None else to_text(cond.expr)
