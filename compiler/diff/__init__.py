"""Semantic diff of two policies: every change named by meaning, classified, with a direction.

`diff(base, head)` compares two IRs, never their YAML text, and returns `Change`s:
- **breaking**: removes or renames something data depends on (a stage, a field, an enum value, a
  reason, a model's score field, a team, an event, the CRM naming): records or reports break;
- **behavior**: changes who qualifies, what a lead scores or what the teams commit to, with the
  direction where one applies ("stricter": fewer leads qualify or they score lower);
- **docs**: wording only (labels, definitions, descriptions, a condition rewritten to the same
  meaning).
Pure: no I/O. Rendering lives in `alignctl.commands.diff`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from alignctl.compiler import ir

from . import catalog, drift, funnel, scoring
from .comments import SECTION_AREAS, comment_changes
from .conditions import Delta, condition_change
from .core import (
    BEHAVIOR,
    BREAKING,
    DOCS,
    FLIP,
    KINDS,
    LOOSER,
    STRICTER,
    Change,
    Conditions,
    new_findings,
    ordered,
    summary,
    worst,
)

__all__ = [
    "BEHAVIOR", "BREAKING", "DIFFERS", "DOCS", "FLIP", "KINDS", "LOOSER", "SECTION_AREAS",
    "STRICTER", "Change", "Conditions", "Delta", "comment_changes", "condition_change", "diff",
    "docs_drift",
    "new_findings", "ordered", "summary", "worst",
]

DIFFERS: tuple[Callable[[ir.Policy, ir.Policy], Iterator[Change]], ...] = (
    *catalog.DIFFERS,
    *scoring.DIFFERS,
    *funnel.DIFFERS,
)


def diff(base: ir.Policy, head: ir.Policy) -> list[Change]:
    """Every change from `base` to `head`, worst kind first, then in file order."""
    return ordered(c for differ in DIFFERS for c in differ(base, head))


def docs_drift(base: ir.Policy, head: ir.Policy) -> list[Change]:
    """Definitions HEAD left behind its entries (see `drift`). Apart from `diff`, whose changes
    mirror when the sides swap: drift is one-sided by nature."""
    return ordered(c for differ in drift.DIFFERS for c in differ(base, head))
