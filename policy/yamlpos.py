"""YAML text -> plain Python data plus the source position of every key and value.

Built on libyaml's event parser (PyYAML's `CSafeLoader`) when it is available: events carry marks,
and constructing values ourselves lets us reject duplicate keys, bound nesting depth and alias
expansion, and refuse unknown tags without ever running a constructor for them.
"""

from __future__ import annotations

import gc
import math
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml import events as ev
from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from .diagnostics import Sink, Span, make

MAX_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 64
MAX_EXPANDED_NODES = 1_000_000

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVER = Resolver()
_CONSTRUCTOR = SafeConstructor()
_T = "tag:yaml.org,2002:"
_TAG_HELP = "remove the tag; a policy holds only text, numbers, booleans, lists and mappings"
_SCALAR_TAGS = {f"{_T}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}


@dataclass
class Scalar:
    """Where a scalar value sits in its file, with what is needed to map offsets inside it."""

    span: Span
    style: str | None  # None plain, "'", '"', "|", ">"


@dataclass
class MapPos:
    span: Span
    keys: dict[Any, Span] = field(default_factory=dict)
    values: dict[Any, Scalar | Span] = field(default_factory=dict)


@dataclass
class SeqPos:
    span: Span
    items: list[Scalar | Span] = field(default_factory=list)


class PosIndex:
    """Positions of containers by identity; scalars are found through their parent."""

    def __init__(self) -> None:
        self.by_id: dict[int, MapPos | SeqPos] = {}
        self._keep: list[Any] = []  # keeps containers alive so ids stay unique

    def register(self, obj: Any, pos: MapPos | SeqPos) -> None:
        self.by_id[id(obj)] = pos
        self._keep.append(obj)

    def of(self, obj: Any) -> MapPos | SeqPos | None:
        return self.by_id.get(id(obj))


def span_of(p: Scalar | Span | MapPos | SeqPos) -> Span:
    return p.span if isinstance(p, Scalar | MapPos | SeqPos) else p


def _tag_text(tag: str) -> str:
    return "!!" + tag[len(_T):] if tag.startswith(_T) else tag


class _Abort(Exception):
    """Raised inside the builder after a fatal diagnostic has been recorded."""


def _mark_span(file: str, start, end) -> Span:
    if end is None or (end.line, end.column) <= (start.line, start.column):
        return Span(file, start.line + 1, start.column + 1, start.line + 1, start.column + 2)
    return Span(file, start.line + 1, start.column + 1, end.line + 1, end.column + 1)


class _Builder:
    def __init__(self, file: str, pos: PosIndex, sink: Sink) -> None:
        self.file, self.pos, self.sink = file, pos, sink
        self.anchors: dict[str, tuple[Any, int, Scalar | Span]] = {}
        self.expanded = 0

    def fail(self, code: str, message: str, mark, **kw) -> None:
        self.sink.add(make(code, message, _mark_span(self.file, mark, None), **kw))
        raise _Abort

    def count(self, n: int, mark) -> None:
        self.expanded += n
        if self.expanded > MAX_EXPANDED_NODES:
            self.fail(
                "ALN006",
                f"alias expansion exceeds {MAX_EXPANDED_NODES:,} nodes (a YAML bomb?)",
                mark,
                help="use fewer nested aliases; anchors are for small shared snippets",
            )

    def node(self, events, event, depth: int) -> tuple[Any, int, Scalar | Span]:
        """Build one node from `event` on; return (value, expanded size, position)."""
        if depth > MAX_DEPTH:
            self.fail("ALN006", f"nesting deeper than {MAX_DEPTH} levels", event.start_mark)
        if isinstance(event, ev.AliasEvent):
            if event.anchor not in self.anchors:
                self.fail("ALN001", f"unknown alias `*{event.anchor}`", event.start_mark)
            value, size, p = self.anchors[event.anchor]
            self.count(size, event.start_mark)
            return value, size, p
        if isinstance(event, ev.ScalarEvent):
            result = self.scalar(event)
        elif event.tag not in (None, "!", f"{_T}seq", f"{_T}map"):
            self.fail("ALN001", f"unsupported YAML tag `{_tag_text(event.tag)}` (tags are never executed)",
                      event.start_mark, help=_TAG_HELP)
        elif isinstance(event, ev.SequenceStartEvent):
            result = self.sequence(events, event, depth)
        elif isinstance(event, ev.MappingStartEvent):
            result = self.mapping(events, event, depth)
        else:
            self.fail("ALN001", "unexpected YAML structure", event.start_mark)
        if event.anchor:
            self.anchors[event.anchor] = result
        return result

    def scalar(self, event) -> tuple[Any, int, Scalar]:
        tag = event.tag
        if tag in (None, "!"):
            tag = _RESOLVER.resolve(ScalarNode, event.value, event.implicit)
            if tag in (f"{_T}merge", f"{_T}value", f"{_T}yaml"):
                tag = f"{_T}str"  # `<<`, `=` and `!` are plain text outside a merge key
        if tag not in _SCALAR_TAGS:
            self.fail(
                "ALN001",
                f"unsupported YAML tag `{_tag_text(event.tag)}` (tags are never executed)",
                event.start_mark,
                help=_TAG_HELP,
            )
        self.count(1, event.start_mark)
        sc = Scalar(_mark_span(self.file, event.start_mark, event.end_mark), event.style)
        return self.construct(tag, event), 1, sc

    def construct(self, tag: str, event) -> Any:
        if tag in (f"{_T}str", f"{_T}timestamp"):
            return event.value
        try:
            value = {
                f"{_T}int": _CONSTRUCTOR.construct_yaml_int,
                f"{_T}float": _CONSTRUCTOR.construct_yaml_float,
                f"{_T}bool": _CONSTRUCTOR.construct_yaml_bool,
                f"{_T}null": _CONSTRUCTOR.construct_yaml_null,
            }[tag](ScalarNode(tag, event.value))
        except (ValueError, KeyError, TypeError, yaml.YAMLError):
            self.fail("ALN001", f"`{event.value}` is not a valid {tag[len(_T):]}", event.start_mark)
        if isinstance(value, float) and not math.isfinite(value):
            return event.value  # keep as text: the schema then says a number was expected
        return value

    def sequence(self, events, start, depth: int) -> tuple[list, int, Span]:
        items: list[Any] = []
        sp = SeqPos(Span("", 0, 0, 0, 0))
        size = 1
        self.count(1, start.start_mark)
        for event in events:
            if isinstance(event, ev.SequenceEndEvent):
                sp.span = _mark_span(self.file, start.start_mark, event.end_mark)
                self.pos.register(items, sp)
                return items, size, sp.span
            value, n, p = self.node(events, event, depth + 1)
            items.append(value)
            sp.items.append(p)
            size += n
        self.fail("ALN001", "unterminated sequence", start.start_mark)

    def mapping(self, events, start, depth: int) -> tuple[dict, int, Span]:
        out: dict[Any, Any] = {}
        mp = MapPos(Span("", 0, 0, 0, 0))
        size = 1
        merges: list[tuple[Any, Scalar | Span]] = []
        self.count(1, start.start_mark)
        for key_event in events:
            if isinstance(key_event, ev.MappingEndEvent):
                mp.span = _mark_span(self.file, start.start_mark, key_event.end_mark)
                self.apply_merges(out, mp, merges)
                self.pos.register(out, mp)
                return out, size, mp.span
            key, _, kpos = self.key(events, key_event, depth)
            value, n, vpos = self.node(events, next(events), depth + 1)
            size += n
            if key == "<<" and key_event.style is None and not key_event.tag:
                merges.append((value, vpos))
                continue
            if key in out:
                first = mp.keys[key]
                self.sink.add(make(
                    "ALN004",
                    f"duplicate key `{key}` (first defined at line {first.line})",
                    span_of(kpos),
                    related=(("first defined here", first),),
                    help="remove one of them; YAML keeps only the last, silently",
                ))
                continue
            out[key] = value
            mp.keys[key] = span_of(kpos)
            mp.values[key] = vpos
        self.fail("ALN001", "unterminated mapping", start.start_mark)

    def key(self, events, event, depth: int):
        if not isinstance(event, ev.ScalarEvent):
            if isinstance(event, ev.AliasEvent):
                value, n, p = self.node(events, event, depth + 1)
                if isinstance(value, str | int | float | bool) or value is None:
                    return value, n, p
            self.fail("ALN001", "a mapping key must be a plain scalar", event.start_mark)
        value, n, pos = self.scalar(event)
        # Keys are names: YAML 1.1 would read `on:`/`yes:`/`no:` as booleans and `1:` as a number.
        return event.value if event.tag is None or event.tag == "!" else value, n, pos

    def apply_merges(self, out: dict, mp: MapPos, merges) -> None:
        for value, vpos in merges:
            sources = value if isinstance(value, list) else [value]
            for src in sources:
                if not isinstance(src, dict):
                    self.sink.add(make("ALN001", "`<<` merges only mappings", span_of(vpos)))
                    continue
                src_pos = self.pos.of(src)
                for k, v in src.items():
                    if k not in out:
                        out[k] = v
                        mp.keys[k] = src_pos.keys[k] if src_pos else span_of(vpos)
                        mp.values[k] = src_pos.values[k] if src_pos else span_of(vpos)


def _utf8_error_span(file: str, raw: bytes, exc: UnicodeDecodeError) -> Span:
    before = raw[: exc.start]
    line = before.count(b"\n") + 1
    col = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
    return Span.point(file, line, col)


def decode(file: str, raw: bytes, sink: Sink) -> str | None:
    """Bytes -> text, or None with an ALN006 when the input is too big or not UTF-8."""
    if len(raw) > MAX_BYTES:
        sink.add(make(
            "ALN006",
            f"file is {len(raw) / 1048576:.1f} MB; a policy may be at most {MAX_BYTES // 1048576} MB",
            Span.point(file, 1, 1),
            help="split it with `include:` or remove generated content",
        ))
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        sink.add(make(
            "ALN006",
            f"file is not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
            _utf8_error_span(file, raw, exc),
            help="save the file as UTF-8",
        ))
        return None


def load_text(file: str, text: str, pos: PosIndex, sink: Sink) -> tuple[Any, Span | None]:
    """Parse one YAML document; return (data, root span) or (None, None) after diagnostics."""
    builder = _Builder(file, pos, sink)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        events = iter(yaml.parse(text, Loader=_Loader))
        next(events)  # StreamStart
        first = next(events)
        if isinstance(first, ev.StreamEndEvent):
            return None, None
        value, _, p = builder.node(events, next(events), 1)
        next(events)  # DocumentEnd
        extra = next(events)
        if isinstance(extra, ev.DocumentStartEvent):
            builder.fail("ALN001", "a policy file holds one YAML document; found a second `---`",
                         extra.start_mark)
        return value, span_of(p)
    except _Abort:
        return None, None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        span = _mark_span(file, mark, None) if mark else Span.point(file, 1, 1)
        message = (exc.problem or "invalid YAML").strip()
        if exc.context:
            message = f"{message} ({exc.context.strip()})"
        sink.add(make("ALN001", f"YAML does not parse: {message}", span))
        return None, None
    except (yaml.YAMLError, StopIteration, RecursionError, ValueError) as exc:
        sink.add(make("ALN001", f"YAML does not parse: {exc}", Span.point(file, 1, 1)))
        return None, None
    finally:
        if gc_was_enabled:
            gc.enable()
