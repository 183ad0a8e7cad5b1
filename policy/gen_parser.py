"""Regenerate `_expr_parser.py`, the standalone LALR parser of `expr.lark`.

Run `python -m alignctl.policy.gen_parser` (or `python policy/gen_parser.py`); `--check` exits 1
when the generated file is out of date. The output is byte-for-byte deterministic.
"""

from __future__ import annotations

import hashlib
import io
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
GRAMMAR = HERE / "expr.lark"
OUTPUT = HERE / "_expr_parser.py"
HEADER = "# generated from expr.lark sha256={digest}; do not edit\n"


def _renumbered(table):
    """The parse table with states numbered breadth-first and actions sorted by token."""
    from lark.parsers.lalr_analysis import IntParseTable, Shift

    order: list[int] = []
    seen: set[int] = set()
    queue = [table.start_states[name] for name in sorted(table.start_states)]
    while queue:
        state = queue.pop(0)
        if state in seen:
            continue
        seen.add(state)
        order.append(state)
        actions = table.states[state]
        queue.extend(arg for tok in sorted(actions) for act, arg in [actions[tok]] if act is Shift)
    order.extend(sorted(set(table.states) - seen))
    index = {old: new for new, old in enumerate(order)}

    def remap(action):
        return (Shift, index[action[1]]) if action[0] is Shift else action

    states = {
        index[old]: {tok: remap(table.states[old][tok]) for tok in sorted(table.states[old])}
        for old in order
    }
    starts = {k: index[v] for k, v in sorted(table.start_states.items())}
    ends = {k: index[v] for k, v in sorted(table.end_states.items())}
    return IntParseTable(states, starts, ends)


def generate(grammar: bytes) -> str:
    """The source text of the standalone parser for `grammar` (what lark.tools.standalone does)."""
    from lark import Lark
    from lark.tools.standalone import gen_standalone

    inst = Lark(grammar.decode("utf-8"), parser="lalr", lexer="basic",
                propagate_positions=True, maybe_placeholders=False)
    lalr = inst.parser.parser
    lalr._parse_table = _renumbered(lalr._parse_table)
    out = io.StringIO()
    gen_standalone(inst, out=out, compress=True)
    digest = hashlib.sha256(grammar).hexdigest()
    return HEADER.format(digest=digest) + out.getvalue()


def is_current(path: Path = OUTPUT, grammar_path: Path = GRAMMAR) -> bool:
    """Whether the generated parser was made from the grammar as it is now."""
    if not path.exists():
        return False
    with path.open(encoding="utf-8") as f:
        first = f.readline()
    digest = hashlib.sha256(grammar_path.read_bytes()).hexdigest()
    return first == HEADER.format(digest=digest)


def main(argv: list[str] | None = None) -> int:
    """Write the parser; with `--check`, only report whether it is current."""
    args = sys.argv[1:] if argv is None else argv
    if "--check" in args:
        ok = is_current()
        print(f"{OUTPUT.name} is {'up to date' if ok else 'out of date: run gen_parser'}")
        return 0 if ok else 1
    text = generate(GRAMMAR.read_bytes())
    OUTPUT.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
