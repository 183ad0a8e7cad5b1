"""Map an offset inside a YAML string value to the line and column of the file.

A plain scalar maps one to one; quoted and block scalars are walked character by character
alongside their source text, skipping quotes, escapes, `''` and the indentation of folded lines.
"""

from __future__ import annotations

from collections.abc import Callable

from .diagnostics import Span
from .yamlpos import Scalar

_ESCAPE_LEN = {"x": 4, "u": 6, "U": 10}


class SourceText:
    """One file's text with a line index, for offset <-> (line, column) conversion."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0]
        for i, ch in enumerate(text):
            if ch == "\n":
                self.starts.append(i + 1)

    def offset(self, line: int, column: int) -> int:
        line = min(max(line, 1), len(self.starts))
        return min(self.starts[line - 1] + column - 1, len(self.text))

    def position(self, offset: int) -> tuple[int, int]:
        lo, hi = 0, len(self.starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1, offset - self.starts[lo] + 1


def _content_start(src: str, i: int, style: str | None) -> int:
    if style in ("'", '"'):
        return i + 1
    if style in ("|", ">"):
        nl = src.find("\n", i)
        if nl < 0:
            return len(src)
        i = nl + 1
        while i < len(src) and src[i] in " \t":
            i += 1
        return i
    return i


def _skip_indent(src: str, j: int, indent: int | None) -> int:
    """Past the indentation of a continuation line: all of it, or a block scalar's own."""
    limit = len(src) if indent is None else min(len(src), j + indent)
    while j < limit and src[j] in " \t":
        j += 1
    return j


def _advance(src: str, i: int, ch: str, style: str | None, indent: int | None = None) -> int:
    """Source index after consuming the value character `ch` found at source index `i`."""
    if i >= len(src):
        return i
    if style == "'" and src.startswith("''", i):
        return i + 2
    if style == '"' and src[i] == "\\" and i + 1 < len(src):
        return i + _ESCAPE_LEN.get(src[i + 1], 2)
    if ch in " \n" and src[i] in " \t\n":
        j = i
        while j < len(src) and src[j] in " \t":
            j += 1
        if j < len(src) and src[j] == "\n":  # a line break, folded or kept
            return _skip_indent(src, j + 1, indent)
    return i + 1


def locator(source: SourceText, scalar: Scalar, value: str) -> Callable[[int, int], Span]:
    """A function from (start, end) offsets in `value` to the file span they came from."""
    span = scalar.span
    begin = _content_start(source.text, source.offset(span.line, span.column), scalar.style)
    cache: dict[int, int] = {0: begin}
    indent = None
    if scalar.style in ("|", ">"):
        line_start = source.text.rfind("\n", 0, begin) + 1
        indent = begin - line_start

    def src_index(k: int) -> int:
        k = max(0, min(k, len(value)))
        known = max(j for j in cache if j <= k)
        i = cache[known]
        for j in range(known, k):
            i = _advance(source.text, i, value[j], scalar.style, indent)
        cache[k] = i
        return i

    def locate(start: int, end: int) -> Span:
        line, col = source.position(src_index(start))
        end_line, end_col = source.position(max(src_index(end), src_index(start) + 1))
        return Span(span.file, line, col, end_line, end_col)

    return locate
