"""`alignctl plan`: the funnel arithmetic as a table (text, markdown or json)."""

from __future__ import annotations

import json
import sys

import click

from . import EXIT_FAIL, EXIT_OK, emit_diagnostics, load_or_exit, policy_argument, use_color

PLAN_AREA = "ALN6"
"""Findings of the plan itself (ALN6xx): shown beside the table rather than instead of it."""


@click.command()
@policy_argument
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True, help="How to print the table.")
def command(policy: str, fmt: str) -> None:
    """Print the capacity plan of POLICY (default ./alignment.yaml).

    Per stage: the volume the plan expects and the volume the revenue target requires, per
    policy period. Per team: the leads handed to it against what its reps can work. Every figure
    comes with its arithmetic. The plan's own findings (ALN601-ALN605) are printed with the
    table (to stderr, or under "findings" in json); any other error stops it, as in validate.

    \b
    Examples:
      alignctl plan
      alignctl plan examples/acme-saas/alignment.yaml
      alignctl plan --format markdown >> $GITHUB_STEP_SUMMARY
      alignctl plan --format json | jq '.teams[] | {team, utilisation}'

    Exit status: 0 the plan holds, 1 the policy or the plan has errors (e.g. a team over
    capacity), 2 usage or I/O error.
    """
    result = load_or_exit(policy)
    if result.policy is None or any(not d.code.startswith(PLAN_AREA) for d in result.errors):
        emit_diagnostics(result, "json" if fmt == "json" else "text")
        sys.exit(EXIT_FAIL)
    from alignctl.compiler.plan import compute_plan

    findings = [d for d in result.diagnostics if d.code.startswith(PLAN_AREA)]
    if fmt != "json" and findings:
        _print_findings(findings, result.sources)
    table = compute_plan(result.policy)
    click.echo(render(fmt, table, result.policy.meta, findings), nl=False)
    sys.exit(EXIT_FAIL if result.errors else EXIT_OK)


def _print_findings(findings: list, sources: dict) -> None:
    from alignctl.render import render as render_diagnostics

    click.echo(render_diagnostics("text", findings, sources, color=use_color(sys.stderr)),
               err=True, nl=False)


def render(fmt: str, table, meta, findings=()) -> str:
    """The table in `fmt`: text, markdown or json (stable: sorted keys)."""
    from alignctl.compiler.plan import to_dict

    if fmt == "json":
        from alignctl.render import diagnostic_dict

        data = {"version": 1, "policy": {"name": meta.name, "version": meta.version},
                "findings": [diagnostic_dict(d) for d in findings], **to_dict(table)}
        return json.dumps(data, sort_keys=True, indent=2) + "\n"
    return "\n".join(_document(table, meta, markdown=fmt == "markdown")) + "\n"


# --- text and markdown ------------------------------------------------------------------------

STAGE_HEADERS = ("stage", "owner", "conversion", "expected", "required", "headroom", "commitment")
TEAM_HEADERS = ("team", "kind", "receives", "load", "capacity", "utilisation", "required load")
TEXT_COLUMNS = frozenset({"stage", "owner", "team", "kind", "receives"})


def _document(table, meta, *, markdown: bool) -> list[str]:
    title = f"{meta.name} {meta.version}: plan per {table.period}"
    out = [f"# {title}" if markdown else title, ""]
    out += _headline(table, markdown)
    out += _section("Stages", STAGE_HEADERS, [_stage_cells(r) for r in table.stages], markdown)
    out += _section("Teams", TEAM_HEADERS, [_team_cells(r) for r in table.teams], markdown)
    out += _section("How each figure is computed", None, _explanations(table), markdown)
    return out[:-1]


def _headline(table, markdown: bool) -> list[str]:
    rows = [("revenue target", table.target), ("deals needed", table.deals)]
    lines = [f"{label}: {fig.explain}" for label, fig in rows if fig is not None]
    if not lines:
        lines = ["no revenue target: required volumes are not computed"]
    return [f"- {line}" if markdown else line for line in lines] + [""]


def _section(title: str, headers, rows: list, markdown: bool) -> list[str]:
    head = [f"## {title}" if markdown else f"{title}:", ""]
    if headers is None:
        body = [f"- {r}" if markdown else f"  {r}" for r in rows] or ["(nothing to explain)"]
    else:
        body = _md_table(headers, rows) if markdown else _text_table(headers, rows)
    return head + body + [""]


def _cell(fmt, value) -> str:
    return "-" if value is None else fmt(value)


def _signed(value: float) -> str:
    from alignctl.compiler.plan import percent

    return ("+" if value >= 0 else "") + percent(value)


def _stage_cells(r) -> list[str]:
    from alignctl.compiler.plan import num, rate

    return [r.stage, r.owner, _cell(rate, r.conversion), _cell(num, _value(r.expected)),
            _cell(num, _value(r.required)), _cell(_signed, r.headroom), _cell(num, r.commitment)]


def _team_cells(r) -> list[str]:
    from alignctl.compiler.plan import num, percent

    return [r.team, r.kind, ", ".join(r.sources) or "-", _cell(num, _value(r.load)),
            _cell(num, _value(r.capacity)), _cell(percent, r.utilisation),
            _cell(num, _value(r.required_load))]


def _value(fig) -> float | None:
    return None if fig is None else fig.value


def _explanations(table) -> list[str]:
    out = []
    for r in table.stages:
        out += [f"{r.stage} {what}: {fig.explain}"
                for what, fig in (("expected", r.expected), ("required", r.required)) if fig]
    for r in table.teams:
        out += [f"{r.team} {what}: {fig.explain}"
                for what, fig in (("load", r.load), ("capacity", r.capacity)) if fig]
    return out


def _text_table(headers, rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]
    numeric = [h not in TEXT_COLUMNS for h in headers]

    def line(cells) -> str:
        parts = [c.rjust(w) if right else c.ljust(w)
                 for c, w, right in zip(cells, widths, numeric, strict=False)]
        return "  " + "  ".join(parts).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _md_table(headers, rows: list[list[str]]) -> list[str]:
    align = ["---" if h in TEXT_COLUMNS else "---:" for h in headers]
    return ["| " + " | ".join(cells) + " |" for cells in (headers, align, *rows)]
