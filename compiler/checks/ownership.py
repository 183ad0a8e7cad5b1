"""Checks: data ownership, the single point of entry of every field (ALN801-ALN803).

Field uses are found by walking the typed condition trees (stage entries and fit rules) for
`Ref` nodes of kind "field"; `where:` clauses name event properties, not fields.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from alignctl.compiler.ir import Condition, Policy, Stage
from alignctl.policy.diagnostics import Diagnostic, Span, make
from alignctl.policy.expr import walk
from alignctl.policy.expr_ast import Expr, Ref


def field_refs(expr: Expr) -> Iterator[Ref]:
    """Every reference to a lead field in `expr`, left to right."""
    return (n for n in walk(expr) if isinstance(n, Ref) and n.kind == "field")


def _conditions(policy: Policy) -> Iterator[tuple[str, Condition]]:
    """Every condition over lead fields, with what it belongs to in words."""
    for stage in policy.stages:
        if stage.entry is not None:
            yield f"the entry of stage `{stage.id}`", stage.entry
    for rule in policy.rules():
        if rule.when is not None:
            yield f"rule `{rule.id}`", rule.when


def _uses(policy: Policy) -> dict[str, list[tuple[str, Condition, Ref]]]:
    """Field -> every use in a condition; spans are computed only for what is reported."""
    out: dict[str, list[tuple[str, Condition, Ref]]] = defaultdict(list)
    for what, cond in _conditions(policy):
        for ref in field_refs(cond.expr):
            out[ref.name].append((what, cond, ref))
    return out


def _example_team(policy: Policy) -> str:
    return next((t.id for t in policy.teams.values() if t.kind == "marketing"), "marketing")


def check_owner(policy: Policy) -> Iterator[Diagnostic]:
    """ALN801: a field with no owner team."""
    for field in policy.fields.values():
        if field.owner is None:
            yield make(
                "ALN801", f"field `{field.id}` has no owner", field.loc.span,
                notes=("without one team that enters or maintains it, two teams overwrite each "
                       "other or nobody fills it",),
                help=f"add `owner: <team>`, e.g. `owner: {_example_team(policy)}`")


def check_source(policy: Policy) -> Iterator[Diagnostic]:
    """ALN802: a field used in a condition that nothing fills (no `source`)."""
    uses = _uses(policy)
    for field in policy.fields.values():
        where = uses.get(field.id)
        if field.source is not None or not where:
            continue
        what, cond, ref = where[0]
        count = f"used {len(where)} times; first in {what}" if len(where) > 1 else f"used in {what}"
        yield make(
            "ALN802", f"field `{field.id}` is used in conditions, but nothing fills it",
            field.loc.span, notes=(count,), related=(("used here", cond.span_of(ref)),),
            help="add `source:` (form, enrichment, sales, integration, ...): how it gets a value")


def _first_stage(policy: Policy) -> dict[str, Stage]:
    """Team -> the first stage it owns: where it first holds a lead."""
    out: dict[str, Stage] = {}
    for stage in policy.stages:
        out.setdefault(stage.owner, stage)
    return out


def check_owner_has_lead(policy: Policy) -> Iterator[Diagnostic]:
    """ALN803: a field needed to enter a stage, owned by a team that holds no lead yet."""
    first = _first_stage(policy)
    for stage in policy.stages:
        refs = field_refs(stage.entry.expr) if stage.entry else ()
        seen: set[str] = set()
        for ref in refs:
            field = policy.fields.get(ref.name)
            if field is None or field.owner is None or ref.name in seen:
                continue
            seen.add(ref.name)
            holder = first.get(field.owner)
            if holder is None or holder.index > stage.index:
                yield _no_lead(stage, ref, field.owner, holder, field.loc.of("owner"))


def _no_lead(stage: Stage, ref: Ref, owner: str, holder: Stage | None,
             owner_span: Span) -> Diagnostic:
    when = f"first holds a lead at `{holder.id}`, later" if holder else "owns no stage"
    return make(
        "ALN803", f"`{ref.name}` decides entry to `{stage.id}`, but its owner `{owner}` has no "
        "lead at that point", stage.entry.span_of(ref),
        notes=(f"`{stage.id}` is owned by `{stage.owner}`; `{owner}` {when}",),
        related=((f"`{ref.name}` is owned by `{owner}` here", owner_span),),
        help=f"let the team that holds the lead fill it (e.g. `owner: {stage.owner}`), or test "
             "it at a later stage")


CHECKS = (
    check_owner,
    check_source,
    check_owner_has_lead,
)
