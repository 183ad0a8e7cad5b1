"""The `scoring` target: scoring.json, SQL per dialect, a dbt package and mautic.json.

Everything derives from one document, `scoring.json` (built from the IR by `scoring_model`), so
the reference evaluator, the SQL, dbt and Mautic all read the same resolved model.
"""

from __future__ import annotations

from alignctl.compiler import ir

from .base import Target, TargetError


class UnknownDialect(TargetError):
    """`targets.scoring.dialects` names an engine sqlglot does not know."""


class ScoringTarget(Target):
    name = "scoring"
    description = "scoring.json, SQL for each dialect, a dbt package and mautic.json"

    def emit(self, policy: ir.Policy) -> dict[str, bytes]:
        from . import dbt, mautic, scoring_model, sql

        doc = scoring_model.build(policy)
        dialects = checked_dialects(policy.targets.scoring_dialects)
        files = {"scoring.json": scoring_model.dumps(doc),
                 "mautic.json": scoring_model.dumps(mautic.build(doc))}
        for dialect in dialects:
            files[f"sql/{dialect}/lead_scores.sql"] = sql.render(doc, dialect).encode("utf-8")
        for rel, text in dbt.files(doc, dialects, policy).items():
            files[f"dbt/{rel}"] = text.encode("utf-8")
        return files


def checked_dialects(names: tuple[str, ...]) -> tuple[str, ...]:
    """The dialects, each known to sqlglot; UnknownDialect names the first that is not."""
    from sqlglot.dialects.dialect import Dialect, Dialects

    from alignctl.policy.diagnostics import did_you_mean

    known = sorted(d.value for d in Dialects if d.value)
    for name in names:
        try:
            Dialect.get_or_raise(name)
        except ValueError as exc:
            raise UnknownDialect(
                f"unknown SQL dialect `{name}` in targets.scoring.dialects", "scoring",
                help=did_you_mean(name, known) or f"known: {', '.join(known)}") from exc
    return tuple(names)
