"""Checks: the glossary, the common language of both teams (ALN901-ALN903).

Term links (`[[x]]`) in term and stage definitions are resolved by lowering (ALN101).
"""

from __future__ import annotations

from collections.abc import Iterator

from alignctl.compiler.ir import Policy, Term
from alignctl.policy.diagnostics import Diagnostic, Span, make


def check_stage_defined(policy: Policy) -> Iterator[Diagnostic]:
    """ALN901: a stage with neither a `definition` nor a `term`."""
    for stage in policy.stages:
        if not stage.definition and not stage.term:
            hint = f"`term: {stage.id}`" if stage.id in policy.terms else "`definition: ...`"
            yield make(
                "ALN901", f"stage `{stage.id}` is not defined", stage.loc.of("id"),
                notes=("both teams must read a stage the same way: it needs a definition or a "
                       "glossary term",),
                help=f"add {hint}")


def _missing_sides(policy: Policy, term: Term) -> list[str]:
    kinds = {policy.teams[t].kind for t in term.approved_by if t in policy.teams}
    return [k for k in ("marketing", "sales") if k not in kinds]


def check_term_approved(policy: Policy) -> Iterator[Diagnostic]:
    """ALN902: a term not approved by at least one marketing and one sales team."""
    for term in policy.terms.values():
        missing = _missing_sides(policy, term)
        if not missing:
            continue
        team = next((t.id for t in policy.teams.values() if t.kind == missing[0]), missing[0])
        yield make(
            "ALN902", f"term `{term.id}` is not approved by a {' or a '.join(missing)} team",
            term.loc.of("approved_by"),
            notes=("a definition binds both sides only when both signed it",),
            help=f"add `{team}` to approved_by once they agree with the definition")


def _names(term: Term) -> Iterator[tuple[str, str, Span]]:
    """(what, text, span) for the term's name and each alias."""
    yield "name", term.name, term.loc.of("name")
    for i, alias in enumerate(term.aliases):
        yield "alias", alias, term.loc.attrs.get(f"aliases.{i}", term.loc.of("aliases"))


def check_term_names(policy: Policy) -> Iterator[Diagnostic]:
    """ALN903: a name or alias given to two terms (case-insensitive)."""
    seen: dict[str, tuple[Term, str, Span]] = {}
    for term in policy.terms.values():
        for what, text, span in _names(term):
            key = " ".join(text.casefold().split())
            first = seen.setdefault(key, (term, what, span))
            if first[0].id != term.id:
                yield _clash(term, what, text, span, first)


def _clash(term: Term, what: str, text: str, span: Span,
           first: tuple[Term, str, Span]) -> Diagnostic:
    other, other_what, other_span = first
    return make(
        "ALN903", f"{what} \"{text}\" of term `{term.id}` is already the {other_what} of "
        f"term `{other.id}`", span,
        notes=("one word, two meanings: the teams will talk past each other",),
        related=((f"{other_what} of `{other.id}`", other_span),),
        help="merge the two terms, or " + (f"drop the alias \"{text}\"" if what == "alias" else
                                           f"rename `{term.id}`"))


CHECKS = (
    check_stage_defined,
    check_term_approved,
    check_term_names,
)
