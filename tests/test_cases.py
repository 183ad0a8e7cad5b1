"""Diagnostic cases as data: each policy under tests/cases/ says what it must produce.

A case file's first line is `# expect: CODE@LINE:COL[@FILE] ...` (FILE defaults to the case
itself); optional `# forbid: CODE ...` lines name codes that must not appear (near-misses).
For the expected codes, nothing beyond the expected places may appear: one cause, one diagnostic.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from alignctl.api import check_policy

CASES = Path(__file__).parent / "cases"


def case_files() -> list[Path]:
    files = []
    for path in sorted(CASES.rglob("*.yaml")):
        head = path.read_text("utf-8", errors="replace").split("\n", 3)[:3]
        if any(line.startswith(("# expect:", "# forbid:")) for line in head):
            files.append(path)
    return files


def parse_header(path: Path) -> tuple[set[tuple], set[str]]:
    expect, forbid = set(), set()
    for line in path.read_text("utf-8", errors="replace").split("\n")[:3]:
        if line.startswith("# expect:"):
            for item in line.removeprefix("# expect:").split():
                code, line_no, col, file = re.fullmatch(
                    r"(ALN\d{3})@(\d+):(\d+)(?:@(.+))?", item).groups()
                expect.add((code, file or path.name, int(line_no), int(col)))
        if line.startswith("# forbid:"):
            forbid.update(line.removeprefix("# forbid:").split())
    return expect, forbid


@pytest.mark.parametrize("path", case_files(), ids=lambda p: str(p.relative_to(CASES)))
def test_case(path: Path) -> None:
    expect, forbid = parse_header(path)
    result = check_policy(path)
    got = {(d.code, Path(d.span.file).name, d.span.line, d.span.column)
           for d in result.diagnostics}
    missing = expect - got
    assert not missing, f"missing {sorted(missing)}; got {sorted(got)}"
    codes = {e[0] for e in expect}
    extra = {g for g in got if g[0] in codes} - expect
    assert not extra, f"more than one diagnostic per cause: {sorted(extra)}"
    assert not forbid & {g[0] for g in got}, f"forbidden code produced: {sorted(got)}"
