"""`alignctl report`: measure the agreement against CRM history (docs/report.md)."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from datetime import date
from pathlib import Path

import click

from . import EXIT_FAIL, EXIT_USAGE, policy_argument, require_valid, use_color

FORMATS = ("text", "summary", "markdown", "html", "json", "github", "sarif")
SUFFIXES = {".html": "html", ".htm": "html", ".md": "markdown", ".json": "json",
            ".sarif": "sarif", ".txt": "text"}
LARGE_INPUT = 64 * 1024 * 1024        # bytes: above this, show progress even without a TTY


@click.command()
@policy_argument
@click.option("--leads", "leads_file", required=True, type=click.Path(dir_okay=False),
              help="The CRM export: CSV or Parquet, one row per lead (policy ids or the CRM "
                   "names `build --target crm` gives).")
@click.option("--activities", "activities_file", type=click.Path(dir_okay=False),
              help="Contact attempts: lead_id, type, occurred_at; rolled up to <stage>_attempts "
                   "and <stage>_first_touch_at where the leads lack them.")
@click.option("--from", "start", metavar="DATE", help="First day of the window (ISO date). "
              "Default: the earliest entry into the first stage.")
@click.option("--to", "end", metavar="DATE", help="Last day of the window, inclusive; the "
              "report is as of the next midnight (UTC). Default: the latest timestamp.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="text, summary (a few lines), markdown, html, json, or the findings alone "
                   "as github/sarif. "
                   "Default: from --out's suffix, else text.")
@click.option("--out", "-o", "out", type=click.Path(dir_okay=False),
              help="Write the report here (atomically). Default: stdout.")
@click.option("--columns", "columns_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="YAML or JSON mapping of policy column to input column (`lead_id: Lead "
                   "Number`), over the policy's `report.columns`.")
def command(policy: str, leads_file: str, activities_file: str | None, start: str | None,
            end: str | None, fmt: str | None, out: str | None, columns_file: str | None
            ) -> None:
    """Measure POLICY against what happened: volumes vs plan, conversion, SLAs, capacity,
    lead quality, disqualification and recycling, from a CRM export in embedded DuckDB.

    \b
    Examples:
      alignctl report examples/acme-saas/alignment.yaml \\
          --leads examples/data/history/leads.csv \\
          --activities examples/data/history/activities.csv --from 2025-07-07
      alignctl report --leads export.parquet --out report.html
      alignctl report --leads export.csv --format github     # annotate the policy in a PR

    Every column but the lead id is optional: a section whose columns are missing is listed as
    not measurable, with the columns it needs. Findings are diagnostics (ALN970-ALN977) on the
    policy lines they concern. Exit status: 0, 1 when a finding is an error (see
    `checks.severity`), 2 when an input or output cannot be used.
    """
    result = require_valid(policy)
    from alignctl.columns import ColumnError, read_mapping
    from alignctl.history import HistoryError

    try:
        window = (_date(start, "--from"), _date(end, "--to"))
        fmt = fmt or SUFFIXES.get(Path(out).suffix.lower(), "text") if out else fmt or "text"
        mapping = {**_policy_columns(result), **read_mapping(columns_file)}
        doc, diags = run(result.policy, Path(leads_file),
                         Path(activities_file) if activities_file else None, window, mapping)
        text = render(fmt, doc, diags, result.sources, color=out is None and use_color(sys.stdout))
        write(out, text)
    except (HistoryError, ColumnError, click.BadParameter) as exc:
        click.echo(f"alignctl: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if out is not None:
        click.echo(f"wrote {out} ({len(diags)} finding{'s' * (len(diags) != 1)})", err=True)
    if any(d.severity.value == "error" for d in diags):
        sys.exit(EXIT_FAIL)


def _date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise click.BadParameter(f"{option} `{text}` is not an ISO date, e.g. 2025-07-07"
                                 ) from None


def _policy_columns(result) -> dict[str, str]:
    report = (result.doc.data.get("report") if result.doc is not None else None) or {}
    cols = report.get("columns") if isinstance(report, dict) else None
    return {str(k): str(v) for k, v in (cols or {}).items()}


def run(policy, leads: Path, activities: Path | None, window, mapping):
    from alignctl.history import load
    from alignctl.report import build, findings

    with Progress(_large(leads, activities)):
        history = load(policy, leads, activities=activities, mapping=mapping)
        doc = build(policy, history, *window)
    return doc, findings(policy, doc)


def render(fmt: str, doc: dict, diags, sources, *, color: bool = False) -> str:
    from alignctl.report import render as r

    if fmt == "json":
        return r.to_json(doc, diags)
    if fmt == "markdown":
        return r.to_markdown(doc, diags)
    if fmt == "summary":
        return r.to_summary(doc, diags)
    if fmt == "html":
        from alignctl.report.html import to_html

        return to_html(doc, diags, sources)
    if fmt in ("github", "sarif"):
        from alignctl.render import render as diagnostics

        return diagnostics(fmt, diags, sources)
    return r.to_text(doc, diags, sources, color=color)


def write(out: str | None, text: str) -> None:
    """stdout, or `out` replaced atomically (a temporary sibling renamed over it)."""
    if out is None:
        click.echo(text, nl=False)
        return
    path = Path(out)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as exc:
        raise click.BadParameter(f"cannot write --out `{out}`: {exc.strerror or exc}") from None


def _large(*paths: Path | None) -> bool:
    if sys.stderr.isatty():
        return True
    return sum(p.stat().st_size for p in paths if p is not None and p.is_file()) > LARGE_INPUT


class Progress:
    """A `report: reading ... (Ns)` line on stderr while a large input is measured."""

    def __init__(self, enabled: bool) -> None:
        self.enabled, self.stop = enabled, threading.Event()
        self.thread = threading.Thread(target=self.tick, daemon=True)

    def __enter__(self) -> Progress:
        if self.enabled:
            self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.stop.set()
            self.thread.join()
            sys.stderr.write("\rreport: done\n" if sys.stderr.isatty() else "report: done\n")
            sys.stderr.flush()

    def tick(self) -> None:
        seconds, tty = 0, sys.stderr.isatty()
        step = 1 if tty else 5
        while not self.stop.wait(step):
            seconds += step
            sys.stderr.write(f"\rreport: measuring ({seconds}s)" if tty
                             else f"report: measuring ({seconds}s)\n")
            sys.stderr.flush()
