"""`alignctl explain --lead FILE`: score one lead and say why, rule by rule, with file:line."""

from __future__ import annotations

import json
import sys

import click

from . import EXIT_FAIL, EXIT_OK, EXIT_USAGE, policy_argument, require_valid, use_color


@click.command()
@policy_argument
@click.option("--lead", "lead_file", required=True, type=click.Path(dir_okay=False),
              help="YAML or JSON: `lead` attributes, `events`, optional `as_of`.")
@click.option("--as-of", "as_of", default=None, metavar="TIMESTAMP",
              help="Score as of this time (default: the file's as_of, else now), e.g. "
                   "2025-03-03T09:00:00Z.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def command(policy: str, lead_file: str, as_of: str | None, fmt: str) -> None:
    """Score one lead and show every rule that fired, with its line, the grade and the stage.

    \b
    The lead file has the shape of a test case (see `alignctl test --help`):
      as_of: 2025-03-03T09:00:00Z
      lead: { industry: saas, employees: 300, job_title: VP Product }
      events:
        - { event: form_submit, ago: 2d, properties: { form: demo_request } }
        - { event: page_view, at: 2025-03-01T10:00:00Z, properties: { url: /pricing } }

    \b
    Examples:
      alignctl explain --lead lead.yaml
      alignctl explain examples/acme-saas/alignment.yaml --lead lead.json --as-of 2025-03-03

    Exit status: 0 explained, 1 the policy or the lead file has errors, 2 usage error.
    """
    from alignctl.policytest import parse_time, read_lead, run_case

    result = require_valid(policy)
    try:
        when = parse_time(as_of) if as_of else None
    except (TypeError, ValueError):
        raise click.BadParameter(f"`{as_of}` is not a timestamp", param_hint="--as-of") from None
    try:
        loaded = read_lead(lead_file, result.policy, when)
    except OSError as exc:
        click.echo(f"alignctl explain: cannot read `{lead_file}`: {exc.strerror}", err=True)
        sys.exit(EXIT_USAGE)
    if loaded.diagnostics or not loaded.cases:
        _fail(loaded)
    outcome = _score(result.policy, loaded.cases[0], run_case)
    click.echo(render_json(result.policy, outcome) if fmt == "json"
               else render_text(result.policy, outcome), nl=False)
    sys.exit(EXIT_OK)


def _score(policy, case, run_case):
    from alignctl.targets.scoring_model import build

    outcome = run_case(build(policy), case)
    if outcome.error:
        click.echo(f"alignctl explain: {outcome.error}", err=True)
        sys.exit(EXIT_FAIL)
    return outcome


def _fail(loaded) -> None:
    from alignctl.render import render_text as diagnostics_text

    text = diagnostics_text(loaded.diagnostics, loaded.sources, color=use_color(sys.stderr))
    click.echo(text, err=True, nl=False)
    sys.exit(EXIT_FAIL)


# --- text ---------------------------------------------------------------------------------------

def render_text(policy, outcome) -> str:
    got, case = outcome.score, outcome.case
    out = [f"{case.name}: as of {case.as_of:%Y-%m-%d %H:%M} UTC, scored by "
           f"{policy.meta.name} {policy.meta.version}", ""]
    for model in policy.models.values():
        out += _model_lines(policy, model, got)
    out += [f"score  {_n(got.total)}  (the sum of {', '.join(policy.models)})", ""]
    out += _stage_lines(policy, got)
    return "\n".join(out) + "\n"


def _n(value: float) -> str:
    from alignctl.policytest import number

    return number(value)


def _model_lines(policy, model, got) -> list[str]:
    from alignctl.policytest import fired_lines

    fired = [f for f in got.trace if f.model == model.id]
    score = got.scores.get(model.id, 0.0)
    raw = round(sum(f.points for f in fired), 2)
    bounded = f"  (rules add {_n(raw)}; clamped to {_bounds(model)})" if raw != score else ""
    out = [f"{model.id}  {_n(score)}{bounded}"]
    if model.grades:
        out.append(f"  grade {got.grade}: {_grade_why(model, score, got.grade)}")
    rows = fired_lines(policy, fired, "  ", model=False)
    silent = len(model.rules) - len(fired)
    out += rows or ["  no rule fired"]
    if silent and fired:
        out.append(f"  ({silent} other rule{'s' * (silent != 1)} did not fire)")
    return out + [""]


def _bounds(model) -> str:
    lo = "-inf" if model.min is None else str(model.min)
    hi = "inf" if model.cap is None else str(model.cap)
    return f"[{lo}, {hi}]"


def _grade_why(model, score: float, grade: str | None) -> str:
    scale = ", ".join(f"{g} from {low}" for g, low in model.grades)
    held = dict(model.grades).get(grade)
    why = f"{model.id} {_n(score)} >= {held}" if held is not None \
        else f"{model.id} {_n(score)} is below every grade"
    return f"{why}  ({scale}; below: D)"


def _stage_lines(policy, got) -> list[str]:
    from alignctl.policytest import entry_words, where

    rows = []
    for stage in policy.stages:
        if stage.entry is None:
            state = "first stage" if stage.index == 0 else "reached only by a handoff"
            rows.append((stage.id, state, where(stage.loc.span), ""))
        else:
            rows.append((stage.id, f"entry {entry_words(got.entries.get(stage.id))}",
                         where(stage.entry.span), stage.entry.text))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    out = [f"stage  {got.stage}"]
    out += [f"  {'>' if r[0] == got.stage else ' '} " + "  ".join(
        c.ljust(w) for c, w in zip(r[:3], widths, strict=True)) + f"  {r[3]}".rstrip()
        for r in rows]
    out.append("  (a lead moves forward only, to the furthest stage whose entry holds)")
    return out


# --- json ---------------------------------------------------------------------------------------

def render_json(policy, outcome) -> str:
    got, case = outcome.score, outcome.case
    rules = {r.id: r for r in policy.rules()}
    doc = {
        "version": 1, "as_of": case.as_of.isoformat() + "Z", "scores": got.scores,
        "total": got.total, "grade": got.grade, "stage": got.stage,
        "fired": [{"rule": f.rule, "model": f.model, "points": f.points,
                   "occurrences": f.occurrences, "limited": f.limited,
                   "file": rules[f.rule].loc.span.file if f.rule in rules else None,
                   "line": rules[f.rule].loc.span.line if f.rule in rules else None}
                  for f in got.trace],
        "entries": got.entries,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
