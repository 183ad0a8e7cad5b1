"""The language server's analysis on half-typed buffers: whatever an editor sends, indexing,
hover, completion, rename and quick fixes answer (possibly with nothing), never raise.

In process, without pygls: these are the modules the server's handlers call, and a raise there
would be logged and swallowed by the server, so the end-to-end tests would not see it."""

from __future__ import annotations

import contextlib
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alignctl.lsp import complete as completion
from alignctl.lsp.analysis import analyze
from alignctl.lsp.edits import RenameError, quick_fix, rename_edits, renameable
from alignctl.lsp.hover import hover_symbol

from .conftest import EXAMPLES

TEXTS = {str(p): p.read_text(encoding="utf-8") for p in EXAMPLES}
TYPED = st.text(alphabet='abcdefghijklmnopqrstuvwxyz_"\'[](){}:,-#>|=! \n\t0123456789',
                max_size=12)


def exercise(root: str, text: str, probes: list[tuple[int, int]]) -> None:
    a = analyze(root, {root: text})
    name = a.name_of(root)
    assert name is not None
    for d in a.result.diagnostics:
        quick_fix(d, a.result.sources)
    lines = text.split("\n")
    data = a.doc.data if a.doc else None
    for line, col in probes:
        line = line % len(lines)
        col = col % (len(lines[line]) + 1)
        completion.complete(a.index, data, name, lines, line, col, True)
        completion.complete(None, data, name, lines, line, col, False)
        occ = a.index.at(name, line + 1, col + 1) if a.index else None
        if occ is None:
            continue
        hover_symbol(a, occ, None)
        with contextlib.suppress(RenameError):
            rename_edits(a, renameable(a, occ), "renamed_id")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_half_typed_buffers_never_raise(data) -> None:
    root = data.draw(st.sampled_from(sorted(TEXTS)))
    text = TEXTS[root]
    at = data.draw(st.integers(0, len(text)))
    cut = data.draw(st.integers(0, 40))
    typed = data.draw(TYPED)
    edited = text[:at] + typed + text[at + cut:]
    probes = data.draw(st.lists(st.tuples(st.integers(0, 10**4), st.integers(0, 200)),
                                min_size=1, max_size=25))
    line = edited.count("\n", 0, at)
    probes.append((line, at - (edited.rfind("\n", 0, at) + 1) + len(typed)))  # the caret
    exercise(os.path.abspath(root), edited, probes)


def test_every_position_of_the_examples() -> None:
    """Every line of each example at its start, middle and end, unedited."""
    for root, text in TEXTS.items():
        lines = text.split("\n")
        probes = [(i, c) for i, ln in enumerate(lines) for c in (0, len(ln) // 2, len(ln))]
        exercise(os.path.abspath(root), text, probes)
