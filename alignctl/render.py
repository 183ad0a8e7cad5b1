"""Diagnostic formatters: text (rustc/ruff style), json, sarif 2.1.0, github workflow commands."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from alignctl import __version__
from alignctl.policy.codes import CODES, Severity
from alignctl.policy.diagnostics import Diagnostic, Span

FORMATS = ("text", "json", "sarif", "github")


def summary(diags: Sequence[Diagnostic]) -> dict[str, int]:
    return {
        "errors": sum(d.severity is Severity.ERROR for d in diags),
        "warnings": sum(d.severity is Severity.WARNING for d in diags),
    }


def render(fmt: str, diags: Sequence[Diagnostic], sources: Mapping[str, str], *,
           color: bool = False) -> str:
    return {"text": lambda: render_text(diags, sources, color=color),
            "json": lambda: render_json(diags),
            "sarif": lambda: render_sarif(diags),
            "github": lambda: render_github(diags)}[fmt]()


# --- text -------------------------------------------------------------------------------------

class _Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text


_SEV_COLOR = {Severity.ERROR: "1;31", Severity.WARNING: "1;33"}


def _source_lines(sources: Mapping[str, str], file: str) -> list[str]:
    return sources.get(file, "").split("\n")


def _snippet(span: Span, lines: list[str], style: _Style, label: str = "",
             width: int = 1) -> list[str]:
    if not 1 <= span.line <= len(lines):
        return []
    text = printable(lines[span.line - 1].rstrip("\r").expandtabs(1))
    gutter = " " * width
    start = max(span.column - 1, 0)
    end = span.end_column - 1 if span.end_line == span.line else len(text)
    carets = max(1, min(end, max(len(text), start + 1)) - start)
    caret = " " * start + "^" * carets + (f" {label}" if label else "")
    return [f"{gutter} |", f"{span.line:>{width}} | {text}", f"{gutter} | {style(caret, '1;36')}"]


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7f, 0xa0)) if c != 0x09}


def printable(text: str) -> str:
    """Policy text can hold control characters (`"\\e[2J"` is valid YAML): never let them
    reach a terminal."""
    return text.translate(_CONTROL)


def _text_one(d: Diagnostic, sources: Mapping[str, str], style: _Style) -> list[str]:
    sev = style(d.severity.value, _SEV_COLOR.get(d.severity, "1"))
    out = [f"{sev}{style('[' + d.code + ']', '1')}: {style(printable(d.message), '1')}"]
    s = d.span
    width = max(len(str(sp.line)) for sp in (s, *(rel for _, rel in d.related)))
    pad = " " * width
    out.append(f"{pad}--> {s.file}:{s.line}:{s.column}")
    out.extend(_snippet(s, _source_lines(sources, s.file), style, width=width))
    for label, rel in d.related:
        out.append(f"{pad}::: {rel.file}:{rel.line}:{rel.column}")
        out.extend(_snippet(rel, _source_lines(sources, rel.file), style, label, width))
    for note in d.notes:
        out.append(f"{pad} = note: {printable(note)}")
    if d.help:
        out.append(f"{pad} = {style('help', '1;32')}: {printable(d.help)}")
    return out


def render_text(diags: Sequence[Diagnostic], sources: Mapping[str, str], *,
                color: bool = False) -> str:
    style = _Style(color)
    blocks = ["\n".join(_text_one(d, sources, style)) for d in diags]
    counts = summary(diags)
    if counts["errors"] or counts["warnings"]:
        tail = f"{_plural(counts['errors'], 'error')}, {_plural(counts['warnings'], 'warning')}"
    else:
        tail = "no problems found"
    blocks.append(tail)
    return "\n\n".join(blocks) + "\n"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


# --- json -------------------------------------------------------------------------------------

def diagnostic_dict(d: Diagnostic) -> dict:
    s = d.span
    return {
        "code": d.code, "severity": d.severity.value, "message": d.message,
        "file": s.file, "line": s.line, "column": s.column,
        "end_line": s.end_line, "end_column": s.end_column,
        "note": "\n".join(d.notes) or None, "help": d.help,
    }


def render_json(diags: Sequence[Diagnostic]) -> str:
    doc = {"version": 1, "diagnostics": [diagnostic_dict(d) for d in diags],
           "summary": summary(diags)}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


# --- sarif ------------------------------------------------------------------------------------

def _sarif_location(span: Span) -> dict:
    return {"physicalLocation": {
        "artifactLocation": {"uri": span.file.replace("\\", "/")},
        "region": {"startLine": span.line, "startColumn": span.column,
                   "endLine": span.end_line, "endColumn": span.end_column},
    }}


def render_sarif(diags: Sequence[Diagnostic]) -> str:
    codes = sorted(CODES)
    rules = [{"id": c, "name": c, "shortDescription": {"text": CODES[c].summary},
              "defaultConfiguration": {"level": CODES[c].severity.value},
              "help": {"text": f"See docs/checks.md#{c.lower()} in the alignctl repository."}}
             for c in codes]
    results = []
    for d in diags:
        text = d.message + "".join(f"\nnote: {n}" for n in d.notes)
        text += f"\nhelp: {d.help}" if d.help else ""
        result = {"ruleId": d.code, "ruleIndex": codes.index(d.code),
                  "level": "error" if d.severity is Severity.ERROR else "warning",
                  "message": {"text": text}, "locations": [_sarif_location(d.span)]}
        if d.related:
            result["relatedLocations"] = [
                {"id": i, "message": {"text": label}, **_sarif_location(span)}
                for i, (label, span) in enumerate(d.related)]
        results.append(result)
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "alignctl", "version": __version__,
                                      "rules": rules}},
                  "results": results}],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


# --- github -----------------------------------------------------------------------------------

def _gh_escape(text: str, *, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def render_github(diags: Sequence[Diagnostic]) -> str:
    lines = []
    for d in diags:
        s = d.span
        level = "error" if d.severity is Severity.ERROR else "warning"
        props = (f"file={_gh_escape(s.file, prop=True)},line={s.line},col={s.column},"
                 f"endLine={s.end_line},endColumn={s.end_column},title={d.code}")
        body = d.message + "".join(f"\nnote: {n}" for n in d.notes)
        body += f"\nhelp: {d.help}" if d.help else ""
        lines.append(f"::{level} {props}::{_gh_escape(body)}")
    return "".join(line + "\n" for line in lines)
