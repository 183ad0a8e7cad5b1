"""Escaping policy text for Markdown, shared by every target that writes Markdown."""

from __future__ import annotations

import re
from typing import Any

# `(`, `)`, `!`, `{`, `}` are inert once `[` and `]` are escaped, so they stay as typed: the
# text reads the same in plain text ("(millions)", "1.4.0") as rendered.
_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~&$])")
_LEADING = re.compile(r"^(\d+)([.)])(?=\s|$)|^([-+=])")


def md(value: Any) -> str:
    """Policy text as inert inline Markdown: one line, every markup character escaped, and a
    leading `1. `, `-`, `+` or `=` defused so the text cannot start a list or a heading
    (`1.4.0` cannot start a list, so it stays as it is)."""
    text = _SPECIAL.sub(r"\\\g<1>", re.sub(r"\s+", " ", str(value)))
    return _LEADING.sub(_escape_leading, text)


def _escape_leading(m: re.Match) -> str:
    return f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}"
