"""Positions inside expression strings map to the file's line and column, whatever the style."""

from __future__ import annotations

from pathlib import Path

import pytest

from alignctl.api import check_policy

HEAD = """policy: { name: T, version: 1.0.0, period: week }
teams:
  marketing: { kind: marketing }
  sales: { kind: sales }
fields:
  industry: { type: enum, values: [saas, retail], owner: marketing, source: form }
stages:
  - id: inquiry
    owner: marketing
"""


@pytest.mark.parametrize(("entry", "line", "col"), [
    ("    entry: industry == \"sass\"\n", 10, 24),
    ("    entry: 'industry == \"sass\"'\n", 10, 25),
    ("    entry: \"industry == \\\"sass\\\"\"\n", 10, 25),
    ("    entry: \"industry ==\\t\\\"sass\\\"\"\n", 10, 26),
    ("    entry: |\n      industry == \"sass\"\n", 11, 19),
    ("    entry: >\n      industry in [\"saas\",\n        \"sass\"]\n", 12, 9),
    ("    entry: industry in [\"saas\",\n      \"sass\"]\n", 11, 7),
])
def test_enum_error_column(tmp_path: Path, entry: str, line: int, col: int) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(HEAD + entry)
    diags = [d for d in check_policy(path).diagnostics if d.code == "ALN202"]
    assert [(d.span.line, d.span.column) for d in diags] == [(line, col)]


def test_term_link_position(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(HEAD + "    definition: >\n      Any lead that is an\n      [[icpp]] company.\n")
    (d,) = check_policy(path).diagnostics
    assert (d.code, d.span.line, d.span.column) == ("ALN101", 12, 7)


def test_enum_values_know_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(HEAD.replace(
        "  industry: { type: enum, values: [saas, retail], owner: marketing, source: form }",
        "  industry:\n    type: enum\n    owner: marketing\n    source: form\n"
        "    values:\n      - saas\n      - { retail: Retail & shops }") + "    definition: x\n")
    (industry,) = check_policy(path).policy.fields.values()
    assert [(v.id, v.label, v.span.line, v.span.column) for v in industry.values] == [
        ("saas", "SaaS", 11, 9), ("retail", "Retail & shops", 12, 9)]
