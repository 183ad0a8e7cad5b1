"""Every id of a policy: where it is defined and every place it is used, with exact spans.

Built from the raw document (so it works while the schema still fails) and the expression trees
parsed from it; names inside expressions resolve as the type checker resolves them (fields, then
model scores; properties of the event inside `where`; `count`/`has` take an event, `days_since`
an event or a date field). Spans cover the id's own characters, never its quotes or `[[ ]]`.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from alignctl.policy.diagnostics import Span
from alignctl.policy.expr import SyntaxProblem, children, parse
from alignctl.policy.expr_ast import Call, Compare, Member, Name, Str
from alignctl.policy.loader import RawDocument
from alignctl.policy.textpos import SourceText, locator
from alignctl.policy.yamlpos import MapPos, Scalar, SeqPos, span_of

LINK = re.compile(r"\[\[([^\[\]]*)\]\]")
CODE = re.compile(r"^ALN\d{3}$")
DATE_TYPES = ("date", "datetime")
SCORE_NAMES = ("score", "grade")
BUILTINS = ("accepted", "days_in_stage", "recycle_count")
FUNCTIONS = ("count", "has", "days_since")


@dataclass(frozen=True, order=True)
class Sym:
    """A named thing. `parent` is the event of a property, the field (or `event.property`) of
    an enum value, the model of a rule; empty otherwise."""

    kind: str   # team | field | event | property | term | stage | model | rule | reason | value | code
    name: str
    parent: str = ""

    @property
    def label(self) -> str:
        return f"{self.parent}.{self.name}" if self.parent else self.name


@dataclass(frozen=True)
class Occ:
    """One occurrence of a symbol: its definition (`is_def`) or a use."""

    sym: Sym
    span: Span
    is_def: bool
    where: str      # key | value | expr | link


@dataclass(frozen=True)
class ExprSite:
    """A condition string: where it is, what its names mean, and how offsets map to the file."""

    path: tuple
    text: str
    span: Span                      # the whole scalar, quotes included
    scope: str | None               # the event whose properties bare names are (engagement where)
    stage: bool                     # a stage entry: scores, grade and built-ins are visible
    locate: Any = field(repr=False, compare=False)


class Index:
    """Occurrences by symbol and by file, and the expression sites, of one analysed policy."""

    def __init__(self) -> None:
        self.occs: list[Occ] = []
        self.by_sym: dict[Sym, list[Occ]] = defaultdict(list)
        self.exprs: list[ExprSite] = []
        self._by_file: dict[str, list[tuple[tuple[int, int], Occ]]] | None = None

    def add(self, sym: Sym, span: Span | None, is_def: bool, where: str) -> None:
        if span is None:
            return
        occ = Occ(sym, span, is_def, where)
        self.occs.append(occ)
        self.by_sym[sym].append(occ)
        self._by_file = None

    def at(self, file: str, line: int, column: int) -> Occ | None:
        """The occurrence under a 1-based (line, column), the end column included (a cursor
        just after a name is still on it)."""
        if self._by_file is None:
            self._by_file = defaultdict(list)
            for o in self.occs:
                self._by_file[o.span.file].append(((o.span.line, o.span.column), o))
            for items in self._by_file.values():
                items.sort(key=lambda x: x[0])
        items = self._by_file.get(file, [])
        i = bisect.bisect_right(items, (line, column), key=lambda x: x[0])
        for _, occ in reversed(items[max(0, i - 8):i]):
            s = occ.span
            if (s.line, s.column) <= (line, column) <= (s.end_line, s.end_column):
                return occ
        return None

    def defs(self, sym: Sym) -> list[Occ]:
        return [o for o in self.by_sym.get(sym, ()) if o.is_def]

    def refs(self, sym: Sym) -> list[Occ]:
        return [o for o in self.by_sym.get(sym, ()) if not o.is_def]

    def symbols(self, kind: str) -> list[Sym]:
        return sorted(s for s, occs in self.by_sym.items()
                      if s.kind == kind and any(o.is_def for o in occs))

    def expr_at(self, file: str, line: int, column: int) -> ExprSite | None:
        for site in self.exprs:
            s = site.span
            if s.file == file and (s.line, s.column) <= (line, column) <= (s.end_line, s.end_column):
                return site
        return None


def _dict(x: Any) -> dict:
    return x if isinstance(x, dict) else {}


def _list(x: Any) -> list:
    return x if isinstance(x, list) else []


def _ident(x: Any) -> str | None:
    return x if isinstance(x, str) else None


class _Builder:
    def __init__(self, doc: RawDocument) -> None:
        self.doc, self.index = doc, Index()
        self.texts: dict[str, SourceText] = {}
        data = _dict(doc.data)
        self.data = data
        self.fields = _dict(data.get("fields"))
        self.events = _dict(data.get("events"))
        self.models = _dict(_dict(data.get("scoring")).get("models"))

    # --- positions -------------------------------------------------------------------------
    def source(self, file: str) -> SourceText:
        if file not in self.texts:
            self.texts[file] = SourceText(self.doc.sources.get(file, ""))
        return self.texts[file]

    def exact(self, span: Span | None, ident: str) -> Span | None:
        """`span` narrowed to the characters of `ident` inside it (past quotes), or None."""
        if span is None or span.file not in self.doc.sources:
            return None
        src = self.source(span.file)
        a, b = src.offset(span.line, span.column), src.offset(span.end_line, span.end_column)
        i = src.text.find(ident, a, max(b, a + len(ident)))
        if i < 0:
            return None
        (line, col), (end_line, end_col) = src.position(i), src.position(i + len(ident))
        return Span(span.file, line, col, end_line, end_col)

    def key(self, mapping: Any, k: Any) -> Span | None:
        p = self.doc.pos.of(mapping)
        return p.keys.get(k) if isinstance(p, MapPos) else None

    def value(self, mapping: Any, k: Any) -> Scalar | Span | None:
        p = self.doc.pos.of(mapping)
        return p.values.get(k) if isinstance(p, MapPos) else None

    def item(self, seq: Any, i: int) -> Scalar | Span | None:
        p = self.doc.pos.of(seq)
        return p.items[i] if isinstance(p, SeqPos) and i < len(p.items) else None

    # --- adding ----------------------------------------------------------------------------
    def define_keys(self, mapping: Any, kind: str, parent: str = "") -> None:
        for k in _dict(mapping):
            if isinstance(k, str):
                self.index.add(Sym(kind, k, parent), self.exact(self.key(mapping, k), k), True,
                               "key")

    def use_value(self, mapping: Any, k: str, kind: str, parent: str = "", *,
                  is_def: bool = False) -> None:
        v = _ident(_dict(mapping).get(k))
        rec = self.value(mapping, k)
        if v is not None and rec is not None:
            self.index.add(Sym(kind, v, parent), self.exact(span_of(rec), v), is_def, "value")

    def use_items(self, mapping: Any, k: str, kind: str) -> None:
        seq = _dict(mapping).get(k)
        for i, v in enumerate(_list(seq)):
            rec = self.item(seq, i)
            if isinstance(v, str) and rec is not None:
                self.index.add(Sym(kind, v), self.exact(span_of(rec), v), False, "value")

    def values(self, owner: Any, parent: str) -> None:
        """Enum values, written as `[a, b]`, `[{a: A}]` or `{a: A}`."""
        raw = _dict(owner).get("values")
        if isinstance(raw, dict):
            self.define_keys(raw, "value", parent)
            return
        for i, v in enumerate(_list(raw)):
            if isinstance(v, str):
                rec = self.item(raw, i)
                span = self.exact(span_of(rec), v) if rec is not None else None
                self.index.add(Sym("value", v, parent), span, True, "value")
            elif isinstance(v, dict):
                self.define_keys(v, "value", parent)

    # --- sections --------------------------------------------------------------------------
    def build(self) -> Index:
        d = self.data
        self.define_keys(d.get("teams"), "team")
        for fid, f in _dict(d.get("fields")).items():
            self.use_value(f, "owner", "team")
            self.values(f, str(fid))
        self.define_keys(d.get("fields"), "field")
        self.define_keys(d.get("events"), "event")
        for eid, e in self.events.items():
            props = _dict(_dict(e).get("properties"))
            self.define_keys(props, "property", str(eid))
            for pid, p in props.items():
                self.values(p, f"{eid}.{pid}")
        self.terms(_dict(d.get("terms")))
        self.scoring()
        self.stages(_list(d.get("stages")))
        self.handoffs(_list(d.get("handoffs")))
        self.disqualification(_dict(d.get("disqualification")))
        self.plan(_dict(d.get("plan")))
        self.define_keys(_dict(_dict(d.get("checks")).get("severity")), "code")
        return self.index

    def terms(self, terms: dict) -> None:
        self.define_keys(terms, "term")
        for t in terms.values():
            self.use_items(t, "approved_by", "team")
            self.links(t, "definition")

    def links(self, owner: Any, k: str) -> None:
        text, rec = _dict(owner).get(k), self.value(owner, k)
        if not isinstance(text, str) or not isinstance(rec, Scalar) or "[[" not in text:
            return
        locate = locator(self.source(rec.span.file), rec, text)
        for m in LINK.finditer(text):
            name = m.group(1).strip()
            if not name:
                continue
            start = m.start(1) + m.group(1).index(name)
            self.index.add(Sym("term", name), locate(start, start + len(name)), False, "link")

    def scoring(self) -> None:
        self.define_keys(self.models, "model")
        for mid, m in self.models.items():
            rules = _dict(m).get("rules")
            for i, r in enumerate(_list(rules)):
                r = _dict(r)
                self.use_value(r, "id", "rule", str(mid), is_def=True)
                self.use_value(r, "on", "event")
                path = ("scoring", "models", mid, "rules", i)
                if "when" in r:
                    self.expression(r, "when", path + ("when",), None, False)
                if "where" in r:
                    self.expression(r, "where", path + ("where",), _ident(r.get("on")), False)

    def stages(self, stages: list) -> None:
        for i, s in enumerate(stages):
            s = _dict(s)
            self.use_value(s, "id", "stage", is_def=True)
            self.use_value(s, "owner", "team")
            self.use_value(s, "term", "term")
            self.links(s, "definition")
            if "entry" in s:
                self.expression(s, "entry", ("stages", i, "entry"), None, True)

    def handoffs(self, handoffs: list) -> None:
        for h in handoffs:
            self.use_value(h, "from", "stage")
            self.use_value(h, "to", "stage")
            self.use_items(h, "reject_reasons", "reason")

    def disqualification(self, d: dict) -> None:
        reasons = _dict(d.get("reasons"))
        self.define_keys(reasons, "reason")
        for r in reasons.values():
            rec = _dict(r).get("recycle")
            if isinstance(rec, dict):
                self.use_value(rec, "to", "stage")
                self.use_value(rec, "before", "field")

    def plan(self, p: dict) -> None:
        for section in ("volumes", "conversion", "commitments"):
            numbers = p.get(section)
            for sid in _dict(numbers):
                if isinstance(sid, str):
                    self.index.add(Sym("stage", sid), self.exact(self.key(numbers, sid), sid),
                                   False, "key")

    # --- expressions -----------------------------------------------------------------------
    def expression(self, owner: dict, k: str, path: tuple, scope: str | None, stage: bool) -> None:
        text, rec = owner.get(k), self.value(owner, k)
        if not isinstance(text, str) or not isinstance(rec, Scalar):
            return
        locate = locator(self.source(rec.span.file), rec, text)
        self.index.exprs.append(ExprSite(path, text, rec.span, scope, stage, locate))
        tree = parse(text)
        if isinstance(tree, SyntaxProblem):
            return
        todo: list[tuple[Any, str | None]] = [(tree, scope)]
        while todo:
            node, event = todo.pop()
            self.node(node, event, locate)
            if isinstance(node, Call):
                if node.where is not None:
                    todo.append((node.where, node.target.name))
                continue
            todo.extend((c, event) for c in children(node))

    def node(self, node: Any, event: str | None, locate) -> None:
        add = self.index.add
        if isinstance(node, Call):
            name = node.target.name
            kind = "event" if node.func != "days_since" or name in self.events else "field"
            if name in (self.events if kind == "event" else self.fields):
                add(Sym(kind, name), locate(node.target.start, node.target.end), False, "expr")
        elif isinstance(node, Name):
            sym = self.resolve(node.name, event)
            if sym is not None:
                add(sym, locate(node.start, node.end), False, "expr")
        elif isinstance(node, Compare | Member):
            subject = node.left if isinstance(node.left, Name) else \
                node.right if isinstance(node, Compare) and isinstance(node.right, Name) else None
            if subject is None or (isinstance(node, Compare) and node.op not in ("==", "!=")):
                return
            parent = self.value_parent(subject.name, event)
            if parent is None:
                return
            others = node.items.items if isinstance(node, Member) else (node.right, node.left)
            for lit in others:
                if isinstance(lit, Str) and lit.end - lit.start >= 2:
                    add(Sym("value", lit.value, parent), locate(lit.start + 1, lit.end - 1),
                        False, "expr")

    def resolve(self, name: str, event: str | None) -> Sym | None:
        if event is not None:
            props = _dict(_dict(self.events.get(event)).get("properties"))
            return Sym("property", name, event) if name in props else None
        if name in self.fields:
            return Sym("field", name)
        if name in self.models:
            return Sym("model", name)
        return None

    def value_parent(self, name: str, event: str | None) -> str | None:
        if event is not None:
            props = _dict(_dict(self.events.get(event)).get("properties"))
            return f"{event}.{name}" if isinstance(props.get(name), dict) else None
        return name if name in self.fields and _dict(self.fields[name]).get("values") else None


def build_index(doc: RawDocument) -> Index:
    """The index of a loaded document (any shape: what does not fit is skipped)."""
    return _Builder(doc).build()
