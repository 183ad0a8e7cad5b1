"""The wording and places of the reasoning checks: notes show the sum, both places are named."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from alignctl.api import check_policy
from alignctl.compiler import ir, solver
from alignctl.compiler.checks import conditions, scoring
from alignctl.policy.diagnostics import Span
from alignctl.policy.expr import parse

CASES = Path(__file__).parent / "cases"


def found(case: str, code: str) -> list:
    return [d for d in check_policy(CASES / case).diagnostics if d.code == code]


def test_unreachable_threshold_shows_the_sum() -> None:
    (d,) = found("ALN401_unreachable.yaml", "ALN401")
    assert d.message == "no lead can reach `fit >= 60`"
    assert d.notes == ("the most a lead can score on `fit` is 35 (20 + 15)",)
    assert "35 or less" in d.help


def test_unreachable_threshold_names_rules_that_cannot_fire_together() -> None:
    (d,) = found("ALN401_exclusive.yaml", "ALN401")
    assert d.notes[0] == "the most a lead can score on `fit` is 45 (20 + 25)"
    assert d.notes[1].startswith("not counted: `small`, `large`")


def test_cap_and_min_are_named() -> None:
    notes = [d.notes[0] for d in found("ALN401_cap.yaml", "ALN401")]
    assert any("is 50, its `cap`" in n for n in notes)
    assert any("is -20, its `min`" in n for n in notes)
    assert any("in total (`score`) is 50 (engagement 50)" in n for n in notes)


def test_dead_rule_quotes_the_clash() -> None:
    d = found("ALN402_dead_rule.yaml", "ALN402")[0]
    assert d.notes == ("`employees > 500` and `employees < 100` cannot both hold",)


def test_skipped_stage_names_the_later_stage() -> None:
    (d,) = found("ALN502_skipped.yaml", "ALN502")
    (label, span), = d.related
    assert "`sql`" in d.message and "`sql`" in label
    assert span.line == d.span.line + 1


def test_easier_stage_names_the_earlier_threshold() -> None:
    first, second = found("ALN304_easier.yaml", "ALN304")
    assert "`fit >= 20`" in first.message and '`grade == "A"`' in first.message
    assert first.related[0][1].line == first.span.line - 1


def _span(line: int) -> Span:
    return Span("t.yaml", line, 3, line, 4)


def test_grades_point_at_their_key_in_written_order() -> None:
    policy = check_policy(CASES / "ALN403_unreachable.yaml").policy
    fit = policy.models["fit"]
    attrs = {**fit.loc.attrs, "grades.B": _span(30), "grades.A": _span(31)}
    grades = (("B", 20), ("A", 25))  # as written
    model = dataclasses.replace(fit, grades=grades, loc=ir.Loc(fit.loc.span, attrs))
    diags = list(scoring.check_grades(dataclasses.replace(policy, models={"fit": model})))
    assert [(d.span.line, d.message) for d in diags] == [
        (31, "grade `A` needs 25, not less than `B` (20) above it")]


def test_untyped_trees_get_no_answer_rather_than_a_crash() -> None:
    tree = parse("mystery > 3 and mystery < 2 or count(x where y) > 0")
    assert solver.satisfiable(tree) in (solver.YES, solver.UNKNOWN)
    assert solver.implies(tree, tree) in (solver.YES, solver.UNKNOWN)


def test_examples_are_clean() -> None:
    for path in sorted(Path(__file__).parent.parent.glob("examples/*/alignment.yaml")):
        result = check_policy(path)
        for check in (*scoring.CHECKS, *conditions.CHECKS):
            assert list(check(result.policy)) == [], (path, check.__name__)
