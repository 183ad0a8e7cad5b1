"""Generate docs/checks.md from the code registry and the test policies:
`python -m alignctl.docs_gen [--check]`.

Each code gets its row in the catalogue and an example: the diagnostic alignctl prints today
for the first test policy under tests/cases/ that must produce it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
from pathlib import Path

from alignctl.policy.codes import CODES

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "cases"

HEADER = """# Check catalogue

Generated from `policy/codes.py` and the test policies in `tests/cases/` by `make docs`
(`python -m alignctl.docs_gen`); do not edit. Every code is stable and has a test policy that
produces it, shown under [Examples](#examples) exactly as `alignctl validate` prints it.


Codes ALN970-ALN977 are findings of `alignctl report` (docs/report.md): the policy measured
against CRM history; their examples come from the demo history in `examples/data/history/`.

Severities are defaults. A policy can change them (`checks: { severity: { ALN704: error } }`,
`off` silences a check) except for the structural codes ALN001-ALN006, which describe a file that
could not be read. `alignctl validate --strict` makes warnings fail the run.
"""


def table() -> list[str]:
    out, area = [], None
    for code in sorted(CODES):
        c = CODES[code]
        if c.area != area:
            area = c.area
            out.append(f"\n## {area}\n\n| code | default | finds |\n|---|---|---|")
        out.append(f"| [`{code}`](#{code.lower()}) | {c.severity.value} | {c.summary} |")
    return out


def first_case(code: str) -> Path | None:
    """The first case file whose `# expect:` line names `code`, preferring its own files."""
    files = sorted(CASES.rglob("*.yaml"), key=lambda p: (not p.name.startswith(code), str(p)))
    for path in files:
        head = path.read_text("utf-8", errors="replace").split("\n", 1)[0]
        if head.startswith("# expect:") and re.search(rf"\b{code}@", head):
            return path
    return None


@contextlib.contextmanager
def at_root():
    """Diagnostics name files relative to the working directory: make that the repository."""
    before = os.getcwd()
    os.chdir(ROOT)
    try:
        yield
    finally:
        os.chdir(before)


DEMO = ("examples/acme-saas/alignment.yaml", "examples/data/history/leads.csv",
        "examples/data/history/activities.csv", "2025-07-07")


@functools.cache
def demo_findings() -> tuple[list, dict]:
    """The report's findings on the demo history, as `alignctl report` prints them."""
    from datetime import date

    from alignctl.api import check_policy
    from alignctl.history import load
    from alignctl.report import build, findings

    policy, leads, activities, start = DEMO
    with at_root():
        result = check_policy(policy)
        history = load(result.policy, Path(leads), activities=Path(activities))
        doc = build(result.policy, history, date.fromisoformat(start))
    return findings(result.policy, doc), result.sources


def report_example(code: str) -> list[str]:
    from alignctl.render import render_text

    policy, leads, activities, start = DEMO
    diags, sources = demo_findings()
    diags = [d for d in diags if d.code == code][:1]
    if not diags:
        return ["Produced by `alignctl report` from lead history; the demo history does not "
                "trigger it (tests/test_report.py has a history that does)."]
    text = render_text(diags, sources).rsplit("\n\n", 1)[0]
    return [f"From `alignctl report {policy} --leads {leads} --activities {activities} "
            f"--from {start}`:", "", "```text", text.rstrip("\n"), "```"]


def example(code: str) -> list[str]:
    from alignctl.api import check_policy
    from alignctl.policy.codes import REPORT_CODES
    from alignctl.render import render_text

    if code in REPORT_CODES:
        return report_example(code)
    path = first_case(code)
    if path is None:
        return ["No test policy produces this code yet."]
    with at_root():
        result = check_policy(path.relative_to(ROOT))
    diags = [d for d in result.diagnostics if d.code == code][:1]
    text = render_text(diags, result.sources).rsplit("\n\n", 1)[0]
    return [f"From [`{path.relative_to(ROOT).as_posix()}`](../{path.relative_to(ROOT).as_posix()}):",
            "", "```text", text.rstrip("\n"), "```"]


def render() -> str:
    out = [HEADER, *table(), "\n## Examples"]
    for code in sorted(CODES):
        out += ["", f"### {code}", "", f"{CODES[code].summary[:1].upper()}"
                f"{CODES[code].summary[1:]} ({CODES[code].severity.value}).", "", *example(code)]
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    target = ROOT / "docs" / "checks.md"
    text = render()
    if "--check" in argv:
        return 0 if target.read_text("utf-8") == text else 1
    target.write_text(text, "utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
