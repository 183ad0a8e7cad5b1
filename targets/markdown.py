"""Escaping policy text for Markdown, shared by every target that writes Markdown."""

from __future__ import annotations

import re
from typing import Any

_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#|!~&$])")
_LEADING = re.compile(r"^(\d+)([.)])|^([-+=])")


def md(value: Any) -> str:
    """Policy text as inert inline Markdown: one line, every markup character escaped, and a
    leading `1.`, `-`, `+` or `=` defused so the text cannot start a list or a heading."""
    text = _SPECIAL.sub(r"\\\g<1>", re.sub(r"\s+", " ", str(value)))
    return _LEADING.sub(_escape_leading, text)


def _escape_leading(m: re.Match) -> str:
    return f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}"
