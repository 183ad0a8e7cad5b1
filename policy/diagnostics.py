"""The one diagnostic type, its source spans, and a sink that collects them.

Every stage of the pipeline (loader, schema, expressions, lowering, checks) reports problems as
`Diagnostic` values; nothing raises to the user.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from .codes import CODES, Severity


@dataclass(frozen=True, order=True)
class Span:
    """A 1-based, end-inclusive-of-start / end-exclusive range in one file."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    @staticmethod
    def point(file: str, line: int, column: int, width: int = 1) -> Span:
        return Span(file, line, column, line, column + max(width, 1))


UNKNOWN_SPAN = Span("<unknown>", 1, 1, 1, 2)


@dataclass(frozen=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    span: Span
    notes: tuple[str, ...] = ()
    help: str | None = None
    related: tuple[tuple[str, Span], ...] = field(default=())

    def sort_key(self) -> tuple:
        s = self.span
        return (s.file, s.line, s.column, self.code, self.message)

    def with_severity(self, severity: Severity) -> Diagnostic:
        return replace(self, severity=severity)


def make(
    code: str,
    message: str,
    span: Span,
    *,
    notes: Iterable[str] = (),
    help: str | None = None,
    related: Iterable[tuple[str, Span]] = (),
) -> Diagnostic:
    """Build a diagnostic with the code's default severity."""
    return Diagnostic(
        code, CODES[code].severity, message, span, tuple(notes), help, tuple(related)
    )


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A 'did you mean' help line, or None when nothing is close."""
    pool = sorted(set(candidates))
    close = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in pool}
        if name.lower() in lowered:
            close = [lowered[name.lower()]]
    return f"did you mean `{close[0]}`?" if close else None


class Sink:
    """Collects diagnostics; de-duplicates identical ones."""

    def __init__(self) -> None:
        self._items: list[Diagnostic] = []
        self._seen: set[tuple] = set()

    def add(self, diag: Diagnostic) -> None:
        key = (diag.code, diag.message, diag.span)
        if key not in self._seen:
            self._seen.add(key)
            self._items.append(diag)

    def extend(self, diags: Iterable[Diagnostic]) -> None:
        for d in diags:
            self.add(d)

    def error(self, code: str, message: str, span: Span, **kw) -> None:
        self.add(make(code, message, span, **kw))

    @property
    def items(self) -> list[Diagnostic]:
        return sorted(self._items, key=Diagnostic.sort_key)

    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self._items)
