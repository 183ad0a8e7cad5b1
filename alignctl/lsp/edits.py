"""Edits the server proposes: rename of an id everywhere it occurs, and quick fixes for the
diagnostics whose `help` is a did-you-mean."""

from __future__ import annotations

import re
from collections.abc import Mapping

from alignctl.policy.diagnostics import Diagnostic, Span
from alignctl.policy.textpos import SourceText

from .analysis import Analysis
from .index import BUILTINS, DATE_TYPES, SCORE_NAMES, Occ, Sym

ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
RESERVED = frozenset({"and", "or", "not", "in", "where", "within", "true", "false", "contains",
                      "startswith", "endswith", "matches", "count", "has", "days_since"})
RENAMEABLE = ("team", "field", "event", "property", "term", "stage", "model", "rule", "reason",
              "value")
UNREADABLE = ("ALN001", "ALN005", "ALN006")
DID_YOU_MEAN = re.compile(r"did you mean `([^`]+)`\?")
TICKED = re.compile(r"`([^`]+)`")


class RenameError(Exception):
    """Why a rename cannot be done, in a sentence for the editor to show."""


Edits = dict[str, list[tuple[Span, str]]]


def span_text(sources: Mapping[str, str], span: Span) -> str | None:
    text = sources.get(span.file)
    if text is None:
        return None
    src = SourceText(text)
    return text[src.offset(span.line, span.column):src.offset(span.end_line, span.end_column)]


def renameable(analysis: Analysis, occ: Occ | None) -> Sym:
    """The symbol a rename at `occ` would rename, or RenameError."""
    if occ is None or occ.sym.kind not in RENAMEABLE:
        raise RenameError("nothing to rename here: put the cursor on an id")
    if analysis.index is None or not analysis.index.defs(occ.sym):
        raise RenameError(f"`{occ.sym.name}` is not defined in this policy, so it cannot be "
                          "renamed (fix the reference instead)")
    return occ.sym


def _taken(analysis: Analysis, sym: Sym) -> set[str]:
    """Names the new id may not take: the symbol's own kind, and the names it shares the
    expression namespace with (fields, model scores, built-ins)."""
    idx = analysis.index
    same = {s.name for s in idx.symbols(sym.kind) if s.parent == sym.parent or sym.kind == "rule"}
    expr_names = {s.name for s in idx.symbols("field")} | {s.name for s in idx.symbols("model")}
    expr_names |= set(SCORE_NAMES) | set(BUILTINS)
    if sym.kind in ("field", "model"):
        same |= expr_names
    if sym.kind == "event" or (sym.kind == "field" and _is_date(analysis, sym.name)):
        same |= {s.name for s in idx.symbols("event")}
        same |= {f for f in _date_fields(analysis)}
    return same


def _date_fields(analysis: Analysis) -> list[str]:
    fields = (analysis.doc.data or {}).get("fields") if analysis.doc else None
    return [f for f, spec in (fields or {}).items()
            if isinstance(spec, dict) and spec.get("type") in DATE_TYPES]


def _is_date(analysis: Analysis, field: str) -> bool:
    return field in _date_fields(analysis)


def check_new_name(analysis: Analysis, sym: Sym, new: str) -> None:
    if not ID.match(new):
        raise RenameError(f"`{new}` is not a valid id: ids are 1-40 characters, a lowercase "
                          "letter then lowercase letters, digits or `_`")
    if new in RESERVED:
        raise RenameError(f"`{new}` is a keyword of the condition language")
    if new == sym.name:
        raise RenameError(f"the {sym.kind} is already called `{new}`")
    if new in _taken(analysis, sym):
        raise RenameError(f"`{new}` is already taken: renaming the {sym.kind} `{sym.name}` to it "
                          "would merge two things or change what a condition reads")
    broken = [d for d in analysis.result.diagnostics if d.code in UNREADABLE]
    if broken:
        d = broken[0]
        raise RenameError(f"{d.span.file}:{d.span.line} could not be read ({d.code}); fix it "
                          "first so the rename can see every use")


def rename_edits(analysis: Analysis, sym: Sym, new: str) -> Edits:
    """Every edit renaming `sym` to `new`, by file name; RenameError when it cannot be done."""
    check_new_name(analysis, sym, new)
    edits: Edits = {}
    sources = analysis.result.sources
    for occ in analysis.index.by_sym.get(sym, ()):
        if span_text(sources, occ.span) != sym.name:
            raise RenameError(f"{occ.span.file}:{occ.span.line} does not read `{sym.name}` "
                              "where expected; save or re-open the file and try again")
        edits.setdefault(occ.span.file, []).append((occ.span, new))
    for items in edits.values():
        items.sort(key=lambda e: (e[0].line, e[0].column))
    return edits


def quick_fix(diag: Diagnostic, sources: Mapping[str, str]) -> tuple[str, Span, str] | None:
    """(title, span, replacement) for a diagnostic whose help is `did you mean `x`?`."""
    m = DID_YOU_MEAN.search(diag.help or "")
    text = span_text(sources, diag.span)
    if not m or text is None:
        return None
    good = m.group(1)
    for wrong in TICKED.findall(diag.message):
        wrong = wrong.removeprefix("[[").removesuffix("]]").strip().strip('"')
        at = _find_word(text, wrong)
        if wrong and wrong != good and at is not None:
            span = _sub_span(sources[diag.span.file], diag.span, at, len(wrong))
            return f"Replace `{wrong}` with `{good}`", span, good
    return None


def _find_word(text: str, word: str) -> int | None:
    for m in re.finditer(re.escape(word), text):
        before = text[m.start() - 1] if m.start() else " "
        after = text[m.end()] if m.end() < len(text) else " "
        if not (before.isalnum() or before == "_") and not (after.isalnum() or after == "_"):
            return m.start()
    return None


def _sub_span(text: str, span: Span, start: int, length: int) -> Span:
    src = SourceText(text)
    base = src.offset(span.line, span.column)
    (line, col), (end_line, end_col) = src.position(base + start), \
        src.position(base + start + length)
    return Span(span.file, line, col, end_line, end_col)
