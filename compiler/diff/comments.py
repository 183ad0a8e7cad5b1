"""Reworded comments: the policy's own prose, which the IR does not keep."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping

from alignctl.policy.diagnostics import Span

from .core import DOCS, Change

SECTION_AREAS = {"teams": "team", "fields": "field", "events": "event", "terms": "term",
                 "scoring": "scoring", "stages": "stage", "handoffs": "handoff",
                 "disqualification": "reason", "plan": "plan", "targets": "target"}
_TOP_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:")


def comment_changes(base: Mapping[str, str], head: Mapping[str, str],
                    files: Iterable[tuple[str, str]]) -> list[Change]:
    """Docs changes for reworded comments, one per section, in each (base, head) file pair."""
    out = []
    for old_file, new_file in files:
        out += _file_comments(old_file, base.get(old_file, ""), new_file, head.get(new_file, ""))
    return out


def _file_comments(old_file: str, old: str, new_file: str, new: str) -> list[Change]:
    a, b = _comments(old), _comments(new)
    matcher = difflib.SequenceMatcher(None, [t for _, t, _ in a], [t for _, t, _ in b],
                                      autojunk=False)
    touched: dict[str, list[tuple[int, bool]]] = {}
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        for line, _, section in b[j1:j2]:
            touched.setdefault(section, []).append((line, False))
        for line, _, section in a[i1:i2] if i1 < i2 and j1 == j2 else ():
            touched.setdefault(section, []).append((line, True))
    return [_comment_change(section, lines, old_file, new_file)
            for section, lines in touched.items()]


def _comment_change(section: str, lines: list[tuple[int, bool]], old_file: str,
                    new_file: str) -> Change:
    first, removed = min(lines)
    n = len(lines)
    where = f"`{section}`" if section in SECTION_AREAS else "the policy header"
    return Change(DOCS, SECTION_AREAS.get(section, "plan"), f"comments.{section}",
                  f"Comments in {where} changed ({n} line{'s' * (n != 1)})",
                  Span.point(old_file if removed else new_file, first, 1), removed=removed)


def _comments(text: str) -> list[tuple[int, str, str]]:
    """(line, comment text, top-level section it documents) for every comment in `text`."""
    lines = text.splitlines()
    sections = _sections(lines)
    out = []
    for i, line in enumerate(lines):
        comment = _comment_of(line)
        if comment and comment.strip("#-=_ "):
            out.append((i + 1, comment, sections[i]))
    return out


def _sections(lines: list[str]) -> list[str]:
    """The top-level key each line belongs to; a comment block above a key belongs to it."""
    owner, current = [""] * len(lines), ""
    for i, line in enumerate(lines):
        match = _TOP_KEY.match(line)
        current = match.group(1) if match else current
        owner[i] = current
    pending = None
    for i in range(len(lines) - 1, -1, -1):
        match = _TOP_KEY.match(lines[i])
        stripped = lines[i].strip()
        if match:
            pending = match.group(1)
        elif pending and (not stripped or lines[i].startswith("#")):
            owner[i] = pending
        else:
            pending = None
    return owner


def _comment_of(line: str) -> str | None:
    """The comment on a YAML line (outside quotes), stripped; None when there is none."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"" and (i == 0 or line[i - 1] in " :[{,-"):
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[i + 1:].strip()
    return None
