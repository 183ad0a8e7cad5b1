"""Load a policy file and its `include:`s into one `RawDocument` with positions.

Include rules (POLICY.md): paths are relative to the including file, may not leave the root
policy's directory, may not form a cycle, and only id mappings may be split across files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .diagnostics import Sink, Span, make
from .yamlpos import MapPos, PosIndex, SeqPos, decode, load_text, span_of

ID_SECTIONS = ("teams", "fields", "events", "terms")
NESTED_ID_SECTIONS = {"disqualification": "reasons"}


@dataclass
class RawDocument:
    """The merged raw policy: plain data, the position of every node, and every source text."""

    data: Any
    pos: PosIndex
    root_file: str
    root_span: Span | None
    sources: dict[str, str] = field(default_factory=dict)

    def locate(self, path: tuple, *, key: bool = False) -> Span:
        """Best span for a path of keys/indices: the node itself, or its nearest ancestor."""
        node, best = self.data, self.root_span or Span.point(self.root_file, 1, 1)
        for i, step in enumerate(path):
            p = self.pos.of(node)
            if isinstance(p, MapPos) and isinstance(node, dict) and step in node:
                last = i == len(path) - 1
                best = p.keys[step] if (key and last) else span_of(p.values[step])
                node = node[step]
            elif isinstance(p, SeqPos) and isinstance(node, list) and isinstance(step, int) \
                    and 0 <= step < len(node) and step < len(p.items):
                best = span_of(p.items[step])
                node = node[step]
            else:
                break
        return best

    def scalar(self, path: tuple):
        """The positional record (Scalar or Span) for a scalar at `path`, or None."""
        parent = self.get(path[:-1])
        p = self.pos.of(parent)
        if isinstance(p, MapPos):
            return p.values.get(path[-1])
        if isinstance(p, SeqPos) and isinstance(path[-1], int) and path[-1] < len(p.items):
            return p.items[path[-1]]
        return None

    def get(self, path: tuple) -> Any:
        node = self.data
        for step in path:
            node = node[step]
        return node


def display_path(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def read_policy(path: str | Path, sink: Sink,
                texts: Mapping[str, str] | None = None) -> RawDocument | None:
    """Load the policy at `path` with its includes; None when nothing usable could be read.

    `texts` maps absolute file paths to text read instead of the file (an editor's unsaved
    buffers, for `alignctl lsp`); a path in it need not exist on disk.
    """
    path = Path(path)
    root_dir = path.resolve().parent
    name = display_path(path)
    doc = RawDocument(None, PosIndex(), name, None)
    texts = texts or {}
    data = _load_file(path, name, doc, sink, None, texts)
    if data is None:
        return doc if doc.sources else None
    doc.data, doc.root_span = data
    if isinstance(doc.data, dict):
        _resolve_includes(doc, doc.data, path, root_dir, [path.resolve()], sink, texts)
    return doc


def _override(path: Path, texts: Mapping[str, str]) -> str | None:
    if not texts:
        return None
    found = texts.get(os.path.abspath(path))
    return found if found is not None else texts.get(str(path.resolve()))


def _load_file(path: Path, name: str, doc: RawDocument, sink: Sink, at: Span | None,
               texts: Mapping[str, str]):
    try:
        override = _override(path, texts)
        raw = path.read_bytes() if override is None else override.encode("utf-8")
    except OSError as exc:
        if at is None:
            raise
        sink.add(make("ALN005", f"cannot read included file `{name}`: {exc.strerror}", at))
        return None
    text = decode(name, raw, sink)
    if text is None:
        return None
    doc.sources[name] = text
    value, span = load_text(name, text, doc.pos, sink)
    if span is None:
        return None
    return value, span


def _resolve_includes(doc, data: dict, path: Path, root_dir: Path, stack: list[Path], sink: Sink,
                      texts: Mapping[str, str]):
    includes = data.pop("include", None)
    if includes is None:
        return
    mp = doc.pos.of(data)
    inc_pos = mp.values.get("include") if mp else None
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        sink.add(make("ALN002", "`include` must be a list of file paths",
                      span_of(inc_pos) if inc_pos else Span.point(doc.root_file, 1, 1)))
        return
    items = doc.pos.of(includes)
    for i, rel in enumerate(includes):
        at = span_of(items.items[i]) if items else span_of(inc_pos)
        target = _check_include_path(rel, path, root_dir, stack, at, sink)
        if target is None:
            continue
        name = display_path(target)
        if not target.is_file() and _override(target, texts) is None:
            sink.add(make("ALN005", f"included file `{rel}` does not exist", at,
                          notes=(f"looked for {name}",)))
            continue
        loaded = _load_file(target, name, doc, sink, at, texts)
        if loaded is None:
            continue
        sub, sub_span = loaded
        if not isinstance(sub, dict):
            sink.add(make("ALN005", f"included file `{rel}` must be a mapping of sections", sub_span))
            continue
        _resolve_includes(doc, sub, target, root_dir, [*stack, target.resolve()], sink, texts)
        _merge(doc, data, sub, sink)


def _check_include_path(rel, path, root_dir, stack, at, sink) -> Path | None:
    if os.path.isabs(rel) or rel.startswith(("~", "\\")):
        sink.add(make("ALN005", f"include path `{rel}` is absolute", at,
                      help="write it relative to the including file"))
        return None
    target = (path.parent / rel)
    real = target.resolve()
    if not real.is_relative_to(root_dir):
        sink.add(make("ALN005", f"include path `{rel}` leaves the policy's directory", at,
                      notes=(f"the policy root is {display_path(root_dir)}",),
                      help="keep included files in the root policy's directory or below it"))
        return None
    if real in stack:
        chain = " -> ".join(display_path(p) for p in [*stack, real])
        sink.add(make("ALN005", f"include cycle: {chain}", at))
        return None
    return target


def _adopt(into: dict, into_pos: MapPos, sub_pos: MapPos, key, value) -> None:
    """Move one entry, with its positions, from an included mapping into the merged one."""
    into[key] = value
    into_pos.keys[key] = sub_pos.keys[key]
    into_pos.values[key] = sub_pos.values[key]


def _merge(doc: RawDocument, into: dict, sub: dict, sink: Sink, prefix: str = "") -> None:
    """Merge an included file's sections (or, with `prefix`, one nested section) into `into`."""
    into_pos, sub_pos = doc.pos.of(into), doc.pos.of(sub)
    for key, value in sub.items():
        current = into.get(key)
        if key not in into:
            _adopt(into, into_pos, sub_pos, key, value)
        elif not (isinstance(current, dict) and isinstance(value, dict)):
            _conflict(prefix + key, into_pos.keys[key], sub_pos.keys[key], sink)
        elif (not prefix and key in ID_SECTIONS) or NESTED_ID_SECTIONS.get(prefix[:-1]) == key:
            _merge_ids(doc, key, current, value, sink)
        elif not prefix and key in NESTED_ID_SECTIONS:
            _merge(doc, current, value, sink, prefix=f"{key}.")
        else:
            _conflict(prefix + key, into_pos.keys[key], sub_pos.keys[key], sink)


def _merge_ids(doc: RawDocument, section: str, into: dict, sub: dict, sink: Sink) -> None:
    into_pos, sub_pos = doc.pos.of(into), doc.pos.of(sub)
    for ident, value in sub.items():
        if ident not in into:
            _adopt(into, into_pos, sub_pos, ident, value)
            continue
        first = into_pos.keys[ident]
        sink.add(make(
            "ALN102",
            f"{section} id `{ident}` is defined twice (first in {first.file}:{first.line})",
            sub_pos.keys[ident], related=(("first defined here", first),),
            help="rename one of them or remove the copy"))


def _conflict(key: str, first: Span, second: Span, sink: Sink) -> None:
    sink.add(make(
        "ALN005",
        f"`{key}` is defined in two files ({first.file}:{first.line} and {second.file})",
        second, related=(("first defined here", first),),
        help="only the id mappings (teams, fields, events, terms, disqualification reasons) "
             "may be split across included files"))
