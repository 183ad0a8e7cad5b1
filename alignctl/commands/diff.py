"""`alignctl diff BASE HEAD`: what a policy change means, for a reviewer, in text, markdown or json."""

from __future__ import annotations

import json
import posixpath
import re
import sys
from collections.abc import Callable, Sequence

import click

from . import EXIT_FAIL, EXIT_OK, EXIT_USAGE

MARKER = "<!-- alignctl-diff -->"
WORDS = {"breaking": "breaking", "behavior": "behaviour", "docs": "docs"}
TITLES = {"breaking": "Breaking", "behavior": "Behaviour", "docs": "Docs"}
BLURBS = {
    "breaking": "Records, CRM fields or reports depend on these: plan a migration.",
    "behavior": "Who qualifies, what a lead scores, what the teams commit to. "
                "*Stricter*: fewer leads qualify or they score lower.",
    "docs": "Wording only.",
}
FAIL_ON = {"breaking": ("breaking",), "behavior": ("breaking", "behavior"),
           "any": ("breaking", "behavior", "docs")}


@click.command()
@click.argument("base")
@click.argument("head")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="text for a terminal, markdown for a PR comment, json.")
@click.option("--fail-on", "fail_on", multiple=True, metavar="KIND",
              help="Exit 1 when a change of this kind (or worse) is present: breaking, "
                   "behavior, any; or impact:N% when a stage's volume per period moves more "
                   "than N % (needs --leads). Repeatable.")
@click.option("--link-base", default="", metavar="URL",
              help="Prefix for line links in markdown, e.g. "
                   "https://github.com/OWNER/REPO/blob/SHA")
@click.option("--leads", "leads", type=click.Path(dir_okay=False), metavar="FILE",
              help="A CRM export (CSV or Parquet): add the Impact section, each side's scoring "
                   "run over these leads. Read only when the diff has behaviour changes.")
@click.option("--events", "events", type=click.Path(dir_okay=False), metavar="FILE",
              help="Events (CSV or Parquet) the scoring reads, with --leads.")
@click.option("--as-of", "as_of", metavar="TS",
              help="Score now as of this time (default: the latest timestamp in the data).")
@click.option("--columns", "columns_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Column mapping for --leads (policy column: input column), YAML or JSON.")
def command(base: str, head: str, fmt: str, fail_on: tuple[str, ...], link_base: str,
            leads: str | None, events: str | None, as_of: str | None,
            columns_file: str | None) -> None:
    """Compare two policies by meaning: what breaks, who qualifies, what is only wording.

    BASE and HEAD are policy files or `git:REF[:PATH]` (read from the repository without
    touching the working tree; a bare revision such as HEAD works too). PATH is relative to the
    repository root, or to the current directory with `./`; it defaults to the other side's file.

    \b
    Examples:
      alignctl diff git:origin/main alignment.yaml
      alignctl diff git:origin/main HEAD --format markdown > comment.md
      alignctl diff old.yaml new.yaml --format json --fail-on breaking

    With --leads, behaviour changes get an Impact section: both policies score the same
    leads now and replayed per policy period (see docs/review.md).

    Exit status: 0 done, 1 a change at or above --fail-on (or a policy that does not load),
    2 unreadable input or unknown git revision.
    """
    from alignctl.gitsource import SourceError, load_pair

    try:
        kinds, limit = parse_fail_on(fail_on, leads)
        left, right = load_pair(base, head)
    except (SourceError, click.BadParameter) as exc:
        click.echo(f"alignctl diff: {exc.format_message() if isinstance(exc, click.BadParameter) else exc}",
                   err=True)
        sys.exit(EXIT_USAGE)
    report = Report.build(left, right, link_base)
    if leads:
        report.measure(leads, events, as_of, columns_file)
    click.echo(RENDER[fmt](report), nl=False)
    sys.exit(report.exit_code(kinds, limit))


def parse_fail_on(values: tuple[str, ...], leads: str | None) -> tuple[list[str], float | None]:
    """(change kinds, impact percent) from the --fail-on values."""
    kinds, limit = [], None
    for v in values:
        if v in FAIL_ON:
            kinds.append(v)
            continue
        m = re.fullmatch(r"impact:(\d+(?:\.\d+)?)%?", v.strip())
        if not m:
            raise click.BadParameter(f"--fail-on `{v}`: use breaking, behavior, any or "
                                     "impact:N% (e.g. impact:10%)")
        if not leads:
            raise click.BadParameter(f"--fail-on {v} needs --leads (the data to measure)")
        limit = float(m.group(1))
    return kinds, limit


class Report:
    """Both sides, the changes and the new findings: everything every format prints."""

    def __init__(self, base, head, changes, new, link_base: str) -> None:
        self.base, self.head, self.changes, self.new = base, head, changes, new
        self.link_base = link_base.rstrip("/")
        self.impact: dict | None = None
        self.impact_info: dict = {}

    @classmethod
    def build(cls, base, head, link_base: str = "") -> Report:
        from alignctl.compiler.diff import (
            comment_changes,
            diff,
            docs_drift,
            new_findings,
            ordered,
        )

        changes = []
        if base.result.policy is not None and head.result.policy is not None:
            changes = diff(base.result.policy, head.result.policy)
            changes += docs_drift(base.result.policy, head.result.policy)
            changes = ordered(changes + comment_changes(
                base.result.sources, head.result.sources, _file_pairs(base, head)))
        new = new_findings(base.result.diagnostics, head.result.diagnostics)
        return cls(base, head, changes, new, link_base)

    @property
    def broken(self) -> bool:
        return self.base.result.policy is None or self.head.result.policy is None

    def counts(self) -> dict[str, int]:
        from alignctl.compiler.diff import summary

        return summary(self.changes)

    def measure(self, leads: str, events: str | None, as_of: str | None,
                columns_file: str | None) -> None:
        """The Impact section, when the diff has behaviour changes (else no data is read)."""
        from pathlib import Path

        from alignctl.impact import measure, triggers

        self.impact_info = {"leads": leads}
        if self.broken:
            self.impact_info["skipped"] = "not measured: both policies must load"
            return
        if not triggers(self.changes):
            self.impact_info["skipped"] = "no behaviour change: the leads were not read"
            return
        from alignctl.columns import ColumnError, read_mapping
        from alignctl.commands.score import InputError, parse_as_of
        from alignctl.replay import Inputs, ReplayError

        try:
            inputs = Inputs(Path(leads), Path(events) if events else None,
                            parse_as_of(as_of) if as_of else None, read_mapping(columns_file))
            self.impact = measure(self.base.result.policy, self.head.result.policy,
                                  self.changes, inputs)
        except (ReplayError, InputError, ColumnError) as exc:
            click.echo(f"alignctl diff: {exc}", err=True)
            sys.exit(EXIT_USAGE)

    def exit_code(self, kinds: Sequence[str] | str | None = (), limit: float | None = None
                  ) -> int:
        if isinstance(kinds, str):
            kinds = [kinds]
        if self.broken:
            return EXIT_FAIL
        if any(c.kind in FAIL_ON[k] for k in kinds or () for c in self.changes):
            return EXIT_FAIL
        if limit is not None and self.impact is not None:
            from alignctl.impact import over_threshold

            if over_threshold(self.impact, limit):
                return EXIT_FAIL
        return EXIT_OK

    def file_of(self, change) -> str:
        side = self.base if change.removed else self.head
        return side.display(change.span.file)

    def link(self, change) -> str:
        if change.removed:
            return f"{posixpath.basename(self.file_of(change))}:{change.line} (base)"
        return self.line_link(self.file_of(change), change.line)

    def line_link(self, file: str, line: int) -> str:
        """`[name.yaml:12](path#L12)`; with --link-base, the path from the repository root."""
        name = posixpath.basename(file)
        if self.link_base:
            from alignctl.gitsource import repo_relative

            file = f"{self.link_base}/{repo_relative(file)}"
        return f"[{name}:{line}]({file}#L{line})"


def _file_pairs(base, head) -> list[tuple[str, str]]:
    """The root files, and included files at the same path relative to their root."""
    pairs = [(base.file, head.file)]
    old_dir, new_dir = posixpath.dirname(base.file), posixpath.dirname(head.file)
    for name in base.result.sources:
        if name != base.file:
            twin = posixpath.normpath(posixpath.join(new_dir, posixpath.relpath(name, old_dir)))
            if twin in head.result.sources:
                pairs.append((name, twin))
    return pairs


# --- text ---------------------------------------------------------------------------------------

def _headline(report: Report) -> str:
    counts = report.counts()
    parts = ", ".join(f"{counts[k]} {WORDS[k]}" for k in counts)
    n = len(report.new)
    return f"{parts}; {n} new finding{'s' * (n != 1)}"


def _version_line(report: Report) -> str:
    a, b = report.base.result.policy, report.head.result.policy
    if a is None or b is None:
        return ""
    name = b.meta.name if a.meta.name == b.meta.name else f"{a.meta.name} -> {b.meta.name}"
    version = b.meta.version if a.meta.version == b.meta.version \
        else f"{a.meta.version} -> {b.meta.version}"
    return f"{name} {version}"


def render_text(report: Report) -> str:
    out = [f"alignctl diff: {report.base.spec} -> {report.head.spec}", _version_line(report)]
    out += _broken_lines(report)
    for kind in WORDS:
        group = [c for c in report.changes if c.kind == kind]
        if group:
            out += ["", f"{WORDS[kind]} ({len(group)})"]
            out += [f"  {_where(report, c)}  {c.summary}" for c in group]
    if report.new:
        out += ["", f"new findings ({len(report.new)})"]
        out += [f"  {d.span.file}:{d.span.line}:{d.span.column}  {d.severity.value}[{d.code}] "
                f"{d.message}" for d in report.new]
    if not report.changes and not report.broken:
        out += ["", "no semantic changes"]
    from .impact_render import render_text as impact_text

    out += impact_text(report.impact, report.impact_info)
    out += ["", _headline(report)]
    return "\n".join(line for line in out if line is not None) + "\n"


def _where(report: Report, change) -> str:
    prefix = "(base) " if change.removed else ""
    return f"{prefix}{report.file_of(change)}:{change.line}"


def _broken_lines(report: Report) -> list[str]:
    out = []
    for side, name in ((report.base, "BASE"), (report.head, "HEAD")):
        if side.result.policy is None:
            out.append(f"{name} ({side.spec}) does not load: "
                       f"{len(side.result.errors)} error(s); run `alignctl validate {side.file}`")
    return out


# --- json ---------------------------------------------------------------------------------------

def render_json(report: Report) -> str:
    from alignctl.render import diagnostic_dict

    doc = {
        "version": 1,
        "base": report.base.header(),
        "head": report.head.header(),
        "changes": [{"kind": c.kind, "area": c.area, "id": c.id, "summary": c.summary,
                     "direction": c.direction, "line": c.line,
                     "file": report.file_of(c), "side": "base" if c.removed else "head"}
                    for c in report.changes],
        "new_findings": [diagnostic_dict(d) for d in report.new],
        "summary": report.counts(),
    }
    if report.impact_info:
        doc["impact"] = report.impact if report.impact is not None else {
            "skipped": report.impact_info.get("skipped")}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


# --- markdown -----------------------------------------------------------------------------------

_CODE = re.compile(r"(`[^`\n]+`)")
_SPECIAL = re.compile(r"([\\*_\[\]<|~#!])")


def md(text: str) -> str:
    """Markdown-escape policy text for a table cell, keeping `code` spans; no @mentions."""
    out = []
    for part in _CODE.split(text.replace("\n", " ")):
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(part.replace("|", "\\|"))
        else:
            part = _SPECIAL.sub(r"\\\1", part.replace("&", "&amp;")).replace("@", "&#64;")
            out.append(part.replace(" -> ", " → "))
    return "".join(out)


def render_markdown(report: Report) -> str:
    out = [MARKER, "### alignctl: policy review", ""]
    out += [_md_summary(report), "", _md_sources(report), ""]
    out += _md_notes(report)
    for kind in WORDS:
        out += _md_group(report, kind)
    from .impact_render import render_markdown as impact_markdown

    out += impact_markdown(report.impact, report.impact_info, md)
    out += _md_findings(report)
    out += _md_details(report)
    out += ["<sub>Generated by `alignctl diff`. Re-run locally: "
            f"`alignctl diff {report.base.spec} {report.head.spec}`</sub>", ""]
    return "\n".join(out)


def _md_summary(report: Report) -> str:
    if report.broken:
        return "**The diff needs both policies to load.** " + md("; ".join(_broken_lines(report)))
    counts = report.counts()
    if not report.changes:
        head = "**No semantic changes**"
    else:
        head = "**" + ", ".join(f"{counts[k]} {WORDS[k]}" for k in counts) + "**"
    n = len(report.new)
    return f"{head} — {n or 'no'} new finding{'s' * (n != 1)}"


def _md_sources(report: Report) -> str:
    b, h = report.base, report.head
    commit = f" (`{b.commit[:12]}`)" if b.commit else ""
    parts = [f"`{h.file}`", md(_version_line(report)), f"base `{b.spec}`{commit} → head `{h.spec}`"]
    return " · ".join(p for p in parts if p)


def _md_notes(report: Report) -> list[str]:
    a, b = report.base.result.policy, report.head.result.policy
    if a is None or b is None or a.meta.version != b.meta.version:
        return []
    if any(c.kind != "docs" for c in report.changes):
        return [f"> **Note:** `policy.version` is still {md(b.meta.version)}; bump it so every "
                "generated artifact says which agreement it implements.", ""]
    return []


def _md_group(report: Report, kind: str) -> list[str]:
    group = [c for c in report.changes if c.kind == kind]
    if not group:
        return []
    out = [f"#### {TITLES[kind]} ({len(group)})", "", BLURBS[kind], ""]
    if kind == "behavior":
        out += ["| Area | Change | Direction | Line |", "|---|---|---|---|"]
        out += [f"| {c.area} | {md(_undirected(c))} | {c.direction or '—'} | {report.link(c)} |"
                for c in group]
    else:
        out += ["| Area | Change | Line |", "|---|---|---|"]
        out += [f"| {c.area} | {md(c.summary)} | {report.link(c)} |" for c in group]
    return out + [""]


def _undirected(change) -> str:
    """The summary without its "(stricter)": the table has a column for it."""
    tail = f" ({change.direction})"
    return change.summary.removesuffix(tail) if change.direction else change.summary


def _md_findings(report: Report) -> list[str]:
    out = []
    if report.new:
        out += [f"#### New findings ({len(report.new)})", "",
                "Introduced by this change (`alignctl validate` on HEAD; not in base).", "",
                "| Severity | Code | Finding | Line |", "|---|---|---|---|"]
        out += [f"| {d.severity.value} | {d.code} | {md(d.message)} | {report.line_link(d.span.file, d.span.line)} |"
                for d in report.new]
        out.append("")
    kept = len(report.head.result.diagnostics) - len(report.new)
    if kept > 0:
        out += [f"{kept} finding{'s were' if kept != 1 else ' was'} already present in base.", ""]
    return out


def _md_details(report: Report) -> list[str]:
    out = []
    conditions = [c for c in report.changes if c.conditions is not None]
    if conditions:
        out += ["<details><summary>Conditions before and after, in plain English</summary>", ""]
        for c in conditions:
            out += _md_condition(report, c)
        out += ["</details>", ""]
    reworded = [c for c in report.changes if c.wording is not None]
    if reworded:
        out += ["<details><summary>Wording before and after</summary>", ""]
        for c in reworded:
            out += _md_wording(report, c)
        out += ["</details>", ""]
    return out


def _md_wording(report: Report, change) -> list[str]:
    """The old and new text, with removed words struck through and new words in bold."""
    import difflib

    a, b = (text.split() for text in change.wording)
    before, after = [], []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b).get_opcodes():
        old, new = md(" ".join(a[i1:i2])), md(" ".join(b[j1:j2]))
        before.append(old if op == "equal" or not old else f"~~{old}~~")
        after.append(new if op == "equal" or not new else f"**{new}**")
    title = md(change.summary.split(":")[0])
    return [f"**{title}** ({report.link(change)})", "",
            f"- Before: {' '.join(x for x in before if x)}",
            f"- After: {' '.join(x for x in after if x)}", ""]


def _md_condition(report: Report, change) -> list[str]:
    before = _english(report.base.result.policy, change.conditions.before,
                      change.conditions.on_before)
    after = _english(report.head.result.policy, change.conditions.after,
                     change.conditions.on_after)
    title = md(change.summary.split(":")[0])
    out = [f"**{title}** ({report.link(change)})", ""]
    out += _clause_list("Before", before, after)
    out += _clause_list("After", after, before)
    return out + [""]


def _clause_list(label: str, mine: Sequence[str] | None, theirs: Sequence[str] | None
                 ) -> list[str]:
    if mine is None:
        return [f"- {label}: *(none)*"]
    other = set(theirs or ())
    marked = [md(x) if x in other else f"**{md(x)}**" for x in mine]
    if len(marked) == 1:
        return [f"- {label}: {marked[0]}"]
    return [f"- {label}: all of", *(f"  - {x}" for x in marked)]


def _english(policy, expr, on: str | None) -> list[str] | None:
    """The condition's clauses in plain English (english.py when present, else the text)."""
    if expr is None and on is None:
        return None
    try:
        from alignctl.policy.english import clauses, event_to_english, policy_labels
    except ImportError:  # pragma: no cover - english.py is part of the package
        from alignctl.policy.expr import to_text
        return [to_text(expr)] if expr is not None else [on]
    labels = policy_labels(policy)
    if on is not None:
        return [event_to_english(on, expr, labels)]
    return clauses(expr, labels)


RENDER: dict[str, Callable[[Report], str]] = {
    "text": render_text, "markdown": render_markdown, "json": render_json,
}
