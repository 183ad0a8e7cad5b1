"""`alignctl test`: policy unit tests (a lead, its events, the expected scores, grade and stage)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from . import (
    EXIT_FAIL,
    EXIT_OK,
    EXIT_USAGE,
    emit_diagnostics,
    load_or_exit,
    policy_argument,
    use_color,
)


@click.command()
@policy_argument
@click.argument("cases", nargs=-1, type=click.Path(dir_okay=False))
@click.option("-v", "--verbose", is_flag=True, help="Name every case, not only the failures.")
def command(policy: str, cases: tuple[str, ...], verbose: bool) -> None:
    """Run the policy's test cases through the reference evaluator.

    CASES default to tests/*.yaml next to POLICY. Each case states a lead, its events and an
    as_of time, and expects any of: scores per model, total, grade, stage (numbers to 0.01).

    \b
    Examples:
      alignctl test
      alignctl test examples/acme-saas/alignment.yaml
      alignctl test alignment.yaml tests/mql.yaml -v

    Exit status: 0 every case passed, 1 a case failed or a case file is wrong, 2 usage error.
    """
    from alignctl.policytest import default_case_files, read_cases, run_cases

    started = time.perf_counter()
    result = _valid_policy(policy)
    paths = [Path(c) for c in cases] or default_case_files(policy)
    if not paths:
        click.echo(f"alignctl test: no test cases in {Path(policy).parent / 'tests'}/*.yaml; "
                   "see `alignctl test --help`", err=True)
        sys.exit(EXIT_FAIL)
    try:
        loaded = read_cases(paths, result.policy)
    except OSError as exc:
        click.echo(f"alignctl test: cannot read `{exc.filename}`: {exc.strerror}", err=True)
        sys.exit(EXIT_USAGE)
    outcomes = run_cases(result.policy, loaded.cases)
    _report(result.policy, loaded, outcomes, verbose, time.perf_counter() - started)
    failed = loaded.diagnostics or any(not o.passed for o in outcomes)
    sys.exit(EXIT_FAIL if failed else EXIT_OK)


def _valid_policy(policy: str):
    """The checked policy; a case file given as POLICY is a usage error with a hint."""
    result = load_or_exit(policy)
    data = result.doc.data if result.doc is not None else None
    if isinstance(data, dict) and "cases" in data and "policy" not in data:
        click.echo(f"alignctl test: `{policy}` is a test file; pass the policy first: "
                   f"alignctl test POLICY {policy}", err=True)
        sys.exit(EXIT_USAGE)
    if result.errors or result.policy is None:
        emit_diagnostics(result, "text")
        sys.exit(EXIT_FAIL)
    return result


def _report(policy, loaded, outcomes, verbose: bool, seconds: float) -> None:
    from alignctl.render import render_text

    if loaded.diagnostics:
        text = render_text(loaded.diagnostics, loaded.sources, color=use_color(sys.stderr))
        click.echo(text.rsplit("\n\n", 1)[0] + "\n", err=True)
    for line in _progress(outcomes, verbose):
        click.echo(line)
    failures = [o for o in outcomes if not o.passed]
    if failures:
        click.echo("\n" + " FAILURES ".center(80, "="))
        for o in failures:
            click.echo("\n".join(_failure(policy, o)))
    click.echo("\n" + _summary(outcomes, len(loaded.diagnostics), seconds))


def _progress(outcomes, verbose: bool) -> list[str]:
    by_file: dict[str, list] = {}
    for o in outcomes:
        by_file.setdefault(o.case.file, []).append(o)
    if verbose:
        return [f"{o.case.file}:{o.case.line} {o.case.name} "
                f"{'PASSED' if o.passed else 'FAILED'}" for o in outcomes]
    return [f"{file} " + "".join("." if o.passed else "F" for o in group)
            for file, group in by_file.items()]


def _failure(policy, outcome) -> list[str]:
    from alignctl.policytest import entry_words, fired_lines, number

    case, got = outcome.case, outcome.score
    out = ["", f" {case.name} ".center(80, "_"), f"{case.file}:{case.line}"]
    if outcome.error:
        return out + [f"    {outcome.error}"]
    width = max(len(m.what) for m in outcome.mismatches) + 1
    out += [f"    {(m.what + ':').ljust(width)} expected {_show(m.expected)}, "
            f"got {_show(m.got)}" for m in outcome.mismatches]
    scores = ", ".join(f"{k} {number(v)}" for k, v in got.scores.items())
    out.append(f"  got: {scores}; total {number(got.total)}; grade {got.grade or '-'}; "
               f"stage {got.stage}")
    fired = fired_lines(policy, got.trace, "    ")
    out += ["  rules that fired:", *fired] if fired else ["  no rule fired"]
    if any(m.what == "stage" for m in outcome.mismatches):
        out.append("  stage entries:")
        out += [f"    {sid}: {entry_words(v)}" for sid, v in got.entries.items()]
    return out


def _show(value) -> str:
    from alignctl.policytest import number

    if isinstance(value, int | float) and not isinstance(value, bool):
        return number(value)
    return "none" if value is None else str(value)


def _summary(outcomes, errors: int, seconds: float) -> str:
    passed = sum(o.passed for o in outcomes)
    parts = [f"{passed} passed", f"{len(outcomes) - passed} failed"]
    if errors:
        parts.append(f"{errors} error{'s' * (errors != 1)} in case files")
    return f"{', '.join(parts)} in {seconds:.2f}s"
