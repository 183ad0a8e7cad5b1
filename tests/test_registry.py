"""The code registry: unique codes, each documented and produced by at least one test policy."""

from __future__ import annotations

import re
from pathlib import Path

from alignctl.docs_gen import render
from alignctl.policy.codes import CODES, REPORT_CODES

ROOT = Path(__file__).resolve().parent.parent
SPEC_CODES = re.compile(r"\| (ALN\d{3}) \|")


def produced_by_cases() -> set[str]:
    from .test_cases import case_files, parse_header

    return {code for path in case_files() for code, *_ in parse_header(path)[0]}


def test_codes_are_well_formed() -> None:
    assert all(re.fullmatch(r"ALN\d{3}", c) for c in CODES)
    assert len({c.lower() for c in CODES}) == len(CODES)


def test_every_code_is_documented() -> None:
    docs = (ROOT / "docs" / "checks.md").read_text("utf-8")
    assert docs == render(), "docs/checks.md is stale: run `make docs`"
    for code in CODES:
        assert f"`{code}`" in docs


def test_every_code_is_produced_by_a_test_policy() -> None:
    """Report findings come from lead history, not a policy alone: tests/test_report.py has a
    history for each of them."""
    missing = sorted(set(CODES) - REPORT_CODES - produced_by_cases())
    assert not missing, f"no test policy produces {missing}"
