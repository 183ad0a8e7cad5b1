"""Generate docs/checks.md from the code registry: `python -m alignctl.docs_gen [--check]`."""

from __future__ import annotations

import sys
from pathlib import Path

from alignctl.policy.codes import CODES

HEADER = """# Check catalogue

Generated from `policy/codes.py` by `make docs` (`python -m alignctl.docs_gen`); do not edit.
Every code is stable and has a test policy under `tests/cases/` that produces it.

Severities are defaults. A policy can change them (`checks: { severity: { ALN704: error } }`,
`off` silences a check) except for the structural codes ALN001-ALN006, which describe a file that
could not be read. `alignctl validate --strict` makes warnings fail the run.
"""


def render() -> str:
    out = [HEADER]
    area = None
    for code in sorted(CODES):
        c = CODES[code]
        if c.area != area:
            area = c.area
            out.append(f"\n## {area}\n\n| code | default | finds |\n|---|---|---|")
        out.append(f"| <a id=\"{code.lower()}\"></a>`{code}` | {c.severity.value} | {c.summary} |")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    target = Path(__file__).resolve().parent.parent / "docs" / "checks.md"
    text = render()
    if "--check" in argv:
        return 0 if target.read_text("utf-8") == text else 1
    target.write_text(text, "utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
