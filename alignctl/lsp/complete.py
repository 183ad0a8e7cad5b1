"""Completion: inside conditions (names, events, enum values, functions, keywords) and where an
id is expected (stage and team ids in handoffs and owners, reasons, terms in `[[links]]`, ...).

Works on the text before the cursor, so it keeps working while the buffer does not parse (an
open quote, a half-written condition); the names come from the last analysis that read them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .index import BUILTINS, DATE_TYPES, ExprSite, Index

WORD = re.compile(r"[A-Za-z0-9_]*$")
NAME = r"[a-z_][a-z0-9_]*"
EXPR_KEY = re.compile(r"(?:^|[\s{,])(entry|when|where)[ \t]*:[ \t]*(['\"]?)")
BLOCK_KEY = re.compile(r"^(\s*)(?:-\s+)?(entry|when|where)\s*:\s*[>|][-+0-9]*\s*$")
ON_KEY = re.compile(r"(?:^|[\s{,])on\s*:\s*(" + NAME + ")")
TOP_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:")
OPERAND_END = re.compile(r"(?:[A-Za-z0-9_]|\)|\]|\")\s+$")
OPERATORS = ("and", "or", "in", "not in", "contains", "startswith", "endswith", "matches")
OPERAND_KEYWORDS = ("not", "true", "false")
WORD_OPS = {"and", "or", "not", "in", "contains", "startswith", "endswith", "matches", "where",
            "within"}
ID_KEYS = {("handoffs", "from"): "stage", ("handoffs", "to"): "stage",
           ("handoffs", "reject_reasons"): "reason", ("disqualification", "to"): "stage",
           ("disqualification", "before"): "date_field", ("stages", "owner"): "team",
           ("stages", "term"): "term", ("fields", "owner"): "team",
           ("terms", "approved_by"): "team", ("scoring", "on"): "event"}
PLAN_SECTIONS = ("volumes", "conversion", "commitments")


@dataclass(frozen=True)
class Item:
    label: str
    kind: str           # field | model | builtin | event | property | value | function | keyword
    detail: str = ""    #   | team | stage | term | reason
    insert: str | None = None
    snippet: bool = False
    sort: str = "5"


def _d(x: Any) -> dict:
    return x if isinstance(x, dict) else {}


class Vocab:
    """The names a policy declares, read from its raw document (works with schema errors)."""

    def __init__(self, data: Any) -> None:
        data = _d(data)
        self.fields = {k: _d(v) for k, v in _d(data.get("fields")).items() if isinstance(k, str)}
        self.events = {k: _d(_d(v).get("properties")) for k, v in _d(data.get("events")).items()}
        models = _d(_d(data.get("scoring")).get("models"))
        self.models = {k: _d(v) for k, v in models.items()}
        self.grades = next((list(_d(m.get("grades"))) for m in self.models.values()
                            if m.get("grades")), None)
        self.teams = {k: _d(v) for k, v in _d(data.get("teams")).items()}
        self.terms = {k: _d(v) for k, v in _d(data.get("terms")).items()}
        stages = data.get("stages") if isinstance(data.get("stages"), list) else []
        self.stages = {s["id"]: s for s in stages if isinstance(s, dict) and isinstance(s.get("id"), str)}
        reasons = _d(_d(data.get("disqualification")).get("reasons"))
        self.reasons = {k: _d(v) for k, v in reasons.items()}

    def values_of(self, name: str, scope: str | None) -> list[tuple[str, str]]:
        if scope is not None:
            spec = _d(self.events.get(scope, {}).get(name))
        elif name == "grade":
            return [(g, "grade") for g in (self.grades or []) + ["D"]]
        else:
            spec = self.fields.get(name, {})
        return _value_list(spec.get("values"))


def _value_list(raw: Any) -> list[tuple[str, str]]:
    if isinstance(raw, dict):
        return [(str(k), str(v)) for k, v in raw.items()]
    out = []
    for v in raw if isinstance(raw, list) else ():
        if isinstance(v, dict) and len(v) == 1:
            (k, label), = v.items()
            out.append((str(k), str(label)))
        elif isinstance(v, str):
            out.append((v, ""))
    return out


@dataclass(frozen=True)
class Context:
    """Where the cursor is inside a condition: the text before it, and what names mean."""

    prefix: str
    scope: str | None
    stage: bool


# --- finding the condition around the cursor -----------------------------------------------------

def site_prefix(site: ExprSite, line: int, col: int) -> str:
    """The part of `site.text` before the 1-based (line, col) cursor."""
    best = 0
    for k in range(len(site.text) + 1):
        s = site.locate(k, k + 1)
        if (s.line, s.column) <= (line, col):
            best = k
        else:
            break
    return site.text[:best]


def _section(lines: list[str], line0: int) -> str | None:
    for i in range(line0, -1, -1):
        m = TOP_KEY.match(lines[i])
        if m:
            return m.group(1)
    return None


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


def _event_nearby(lines: list[str], line0: int) -> str | None:
    """The `on:` of the rule around line0 (same flow mapping, or the block of `- id:`)."""
    m = ON_KEY.search(lines[line0])
    if m:
        return m.group(1)
    here = _indent(lines[line0])
    for step in (-1, 1):
        i = line0 + step
        while 0 <= i < len(lines) and abs(i - line0) < 40:
            text = lines[i]
            if text.strip() and not text.lstrip().startswith("#"):
                if _indent(text) < here or (step == 1 and text.lstrip().startswith("- ")):
                    m = ON_KEY.search(text) if step == -1 else None
                    if m:
                        return m.group(1)
                    break
                m = ON_KEY.search(text)
                if m:
                    return m.group(1)
                if step == -1 and text.lstrip().startswith("- "):
                    break
            i += step
    return None


def _unquote(raw: str, quote: str) -> str | None:
    """The condition text of a YAML scalar's source, or None when the scalar ended."""
    if quote == "'":
        body = raw.replace("''", "\0")
        return None if "'" in body else body.replace("\0", "'")
    if quote == '"':
        body = raw.replace('\\"', "\0")
        return None if '"' in body else body.replace("\0", '"')
    if re.search(r"\s#|,\s*[a-z_]+\s*:|\}", raw):
        return None
    return raw


def text_context(lines: list[str], line0: int, col: int) -> Context | None:
    """The condition around the cursor found from the source text alone."""
    before = lines[line0][:col]
    section = _section(lines, line0)
    for m in reversed(list(EXPR_KEY.finditer(before))):
        prefix = _unquote(before[m.end():], m.group(2))
        if prefix is None:
            return None
        scope = _event_nearby(lines, line0) if m.group(1) == "where" else None
        return Context(prefix, scope, section == "stages")
    here = _indent(lines[line0]) if lines[line0].strip() else col
    parts = [before.lstrip()]
    for i in range(line0 - 1, max(-1, line0 - 30), -1):
        text = lines[i]
        m = BLOCK_KEY.match(text)
        if m and len(m.group(1)) < here:
            scope = _event_nearby(lines, i) if m.group(2) == "where" else None
            return Context(" ".join(reversed(parts)), scope, section == "stages")
        if text.strip() and _indent(text) < here:
            return None
        parts.append(text.strip())
    return None


def context_at(index: Index | None, name: str, lines: list[str], line0: int, col: int,
               fresh: bool) -> Context | None:
    if fresh and index is not None:
        site = index.expr_at(name, line0 + 1, col + 1)
        if site is not None:
            return Context(site_prefix(site, line0 + 1, col + 1), site.scope, site.stage)
    return text_context(lines, line0, col)


# --- inside a condition ------------------------------------------------------------------------

def _strings(prefix: str) -> tuple[int | None, list[int]]:
    """(offset of the open string's quote or None, offsets of unclosed parens), outside strings."""
    open_quote, parens, i = None, [], 0
    while i < len(prefix):
        ch = prefix[i]
        if open_quote is not None:
            if ch == "\\":
                i += 1
            elif ch == '"':
                open_quote = None
        elif ch == '"':
            open_quote = i
        elif ch == "(":
            parens.append(i)
        elif ch == ")" and parens:
            parens.pop()
        i += 1
    return open_quote, parens


def _subject(head: str) -> str | None:
    """The name compared with the value being written: `x == `, `x != `, `x in [.., `."""
    m = re.search(r"(" + NAME + r")\s*(?:==|!=)\s*$", head)
    if m:
        return m.group(1)
    m = re.search(r"(" + NAME + r")\s+(?:not\s+)?in\s*\[[^\[\]]*$", head)
    if m and re.search(r"[\[,]\s*$", head):
        return m.group(1)
    return None


def _call_scope(head: str, parens: list[int]) -> tuple[str | None, bool]:
    """Inside `count(ev where ...)`: (ev, True); right after `count(ev `: (ev, False)."""
    for p in reversed(parens):
        if not re.search(r"\b(count|has)\s*$", head[:p]):
            continue
        inner = head[p + 1:]
        m = re.match(r"\s*(" + NAME + r")\s+where\b", inner)
        if m:
            return m.group(1), True
        m = re.match(r"\s*(" + NAME + r")\s+$", inner)
        if m:
            return m.group(1), False
    return None, False


def expression_items(ctx: Context, vocab: Vocab) -> list[Item]:
    prefix = ctx.prefix
    word = WORD.search(prefix).group()
    head = prefix[:len(prefix) - len(word)]
    quote, parens = _strings(prefix)
    if quote is not None:
        subject = _subject(prefix[:quote])
        scope = _call_scope(prefix[:quote], _strings(prefix[:quote])[1])[0] or ctx.scope
        return [Item(v, "value", label) for v, label in vocab.values_of(subject, scope)] \
            if subject else []
    m = re.search(r"\b(count|has|days_since)\s*\(\s*$", head)
    if m:
        items = [Item(e, "event", "event") for e in vocab.events]
        if m.group(1) == "days_since":
            items += [Item(f, "field", f"{spec.get('type')} field")
                      for f, spec in vocab.fields.items() if spec.get("type") in DATE_TYPES]
        return items
    scope, in_where = _call_scope(head, parens)
    if scope is not None and not in_where and not word:
        return [Item("where", "keyword", "filter on the event's properties", sort="0"),
                Item("within", "keyword", "only recent events", sort="0")]
    scope = scope if in_where else ctx.scope
    subject = _subject(head)
    if subject is not None:
        return [Item(f'"{v}"', "value", label, insert=f'"{v}"')
                for v, label in vocab.values_of(subject, scope)]
    if OPERAND_END.search(head) and WORD.search(head.rstrip()).group() not in WORD_OPS:
        return [Item(k, "keyword", sort="0") for k in OPERATORS]
    return _operands(vocab, scope, ctx.stage, in_where or ctx.scope is not None)


def _operands(vocab: Vocab, scope: str | None, stage: bool, in_where: bool) -> list[Item]:
    items: list[Item] = []
    if in_where:
        for p, spec in vocab.events.get(scope, {}).items():
            kind = spec.get("type") if isinstance(spec, dict) else spec
            items.append(Item(p, "property", f"{kind} property of {scope}", sort="1"))
    else:
        for f, spec in vocab.fields.items():
            items.append(Item(f, "field", f"{spec.get('type')} field" +
                              (f" — {spec['label']}" if spec.get("label") else ""), sort="1"))
        if stage:
            items += [Item(m, "model", f"{_d(spec).get('kind')} model score", sort="2")
                      for m, spec in vocab.models.items()]
            items.append(Item("score", "builtin", "sum of all model scores", sort="2"))
            if vocab.grades is not None:
                items.append(Item("grade", "builtin", "fit grade", sort="2"))
        items += [Item(b, "builtin", "built-in", sort="3") for b in BUILTINS
                  if stage or b == "recycle_count"]
        items += [Item(f, "function", sig, insert=f"{f}($1)", snippet=True, sort="3")
                  for f, sig in (("count", "count(EVENT [where ...] [within 30d]) -> integer"),
                                 ("has", "has(EVENT [where ...] [within 30d]) -> true/false"),
                                 ("days_since", "days_since(EVENT | date_field) -> number"))]
    items += [Item(k, "keyword", sort="4") for k in OPERAND_KEYWORDS]
    return items


# --- where an id is expected -------------------------------------------------------------------

def _parent_key(lines: list[str], line0: int) -> str | None:
    here = _indent(lines[line0])
    for i in range(line0 - 1, max(-1, line0 - 200), -1):
        text = lines[i]
        if text.strip() and not text.lstrip().startswith("#") and _indent(text) < here:
            m = re.match(r"^\s*(?:-\s+)?([a-z_]+)\s*:\s*(?:#.*)?$", text)
            return m.group(1) if m else None
    return None


def id_kind(lines: list[str], line0: int, col: int) -> str | None:
    """The kind of id expected at the cursor, from the key it is the value of."""
    before = lines[line0][:col]
    if re.search(r"\[\[[^\[\]]*$", before):
        return "term"
    section = _section(lines, line0)
    m = re.search(r"(?:^|[\s{,\-])([a-z_]+)\s*:\s*(?:\[\s*(?:[a-z0-9_]+\s*,\s*)*)?[a-z0-9_]*$",
                  before)
    key = m.group(1) if m else None
    if key is None and re.match(r"^\s*-\s*[a-z0-9_]*$", before):
        key = _parent_key(lines, line0)
    if (section, key) in ID_KEYS:
        return ID_KEYS[(section, key)]
    if section == "plan":
        if re.search(r"(?:" + "|".join(PLAN_SECTIONS) + r")\s*:\s*\{(?:[^{}]*,)?\s*[a-z0-9_]*$",
                     before):
            return "stage"
        if re.match(r"^\s+[a-z0-9_]*$", before) and _parent_key(lines, line0) in PLAN_SECTIONS:
            return "stage"
    return None


def id_items(kind: str, vocab: Vocab) -> list[Item]:
    if kind == "stage":
        return [Item(s, "stage", str(spec.get("label") or ""), sort=f"{i:04d}")
                for i, (s, spec) in enumerate(vocab.stages.items())]
    if kind == "team":
        return [Item(t, "team", f"{spec.get('kind')} team") for t, spec in vocab.teams.items()]
    if kind == "term":
        return [Item(t, "term", str(spec.get("name") or "")) for t, spec in vocab.terms.items()]
    if kind == "event":
        return [Item(e, "event", "event") for e in vocab.events]
    if kind == "reason":
        return [Item(r, "reason", str(spec.get("label") or "")) for r, spec in vocab.reasons.items()]
    if kind == "date_field":
        return [Item(f, "field", f"{spec.get('type')} field")
                for f, spec in vocab.fields.items() if spec.get("type") in DATE_TYPES]
    return []


def complete(index: Index | None, data: Any, name: str, lines: list[str], line0: int, col: int,
             fresh: bool) -> tuple[list[Item], int]:
    """Completion items at (line0, col) (0-based, in characters), and the length of the word
    before the cursor that they replace."""
    if line0 >= len(lines):
        return [], 0
    col = min(col, len(lines[line0]))
    vocab = Vocab(data)
    ctx = context_at(index, name, lines, line0, col, fresh)
    if ctx is not None:
        items = expression_items(ctx, vocab)
        return items, len(WORD.search(ctx.prefix).group())
    kind = id_kind(lines, line0, col)
    word = len(WORD.search(lines[line0][:col]).group())
    return (id_items(kind, vocab), word) if kind else ([], word)
