"""Docs drift: a stage's entry changed its numbers but the definition people read did not.

"MQL entry: engagement threshold 40 -> 50" while the term `mql` still reads "engagement score of
40 or more" is a glossary that now says something the CRM does not do. For each stage whose entry
changed, the numbers it no longer uses are looked for in the definition of the stage's term (its
`term`, else the term with its id) and in the stage's own `definition`; a text that still has one
of them and none of the new ones is named, with the words after the number as they are written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from alignctl.compiler import ir

from .core import DOCS, Change, _name, _text

_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?![\w.]*\d)")
_WORDS = re.compile(r"[^\s,.;:()\[\]]+")


def numbers(text: str) -> set[str]:
    """The numbers in `text`, normalised: `2,000` -> `2000`, `40d` -> `40`."""
    return {m.replace(",", "") for m in re.findall(r"\d[\d,]*(?:\.\d+)?", text)}


def _quote(text: str, number: str) -> str | None:
    """The number as written in `text` and up to two words after it, or None when absent."""
    for m in _NUMBER.finditer(text):
        if m.group().replace(",", "") == number:
            after = _WORDS.findall(text[m.end():m.end() + 40])[:2]
            return " ".join([m.group(), *after])
    return None


def _texts(head: ir.Policy, stage: ir.Stage) -> Iterator[tuple[str, str, object, str]]:
    """(area, id, span, text) of the definitions that describe `stage`."""
    term = head.terms.get(stage.term or stage.id)
    if term is not None:
        yield "term", term.id, term.loc.of("definition"), term.definition
    if stage.definition:
        yield "stage", stage.id, stage.loc.of("definition"), stage.definition


def _drift(base: ir.Policy, head: ir.Policy) -> Iterator[Change]:
    for new in head.stages:
        old = base.stage(new.id)
        if old is None or _text(old.entry) == _text(new.entry):
            continue
        before, after = numbers(_text(old.entry) or ""), numbers(_text(new.entry) or "")
        gone, came = before - after, after - before
        if not gone:
            continue
        for area, ident, span, text in _texts(head, new):
            said = numbers(text)
            if said & came:
                continue
            for number in sorted(gone & said, key=float):
                quote = _quote(text, number)
                if quote is None:
                    continue
                what = f"definition of `{ident}`" if area == "term" else \
                    f"{_name(ident)} definition"
                now = ", ".join(sorted(came, key=float)) or "none"
                yield Change(DOCS, area, ident, f"{what[0].upper()}{what[1:]} not updated; it "
                             f"says {quote} ({_name(new.id)} entry now uses {now})", span)
                break


DIFFERS = (_drift,)
