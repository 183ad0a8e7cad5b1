"""One run of the validate pipeline on a root policy, over the editor's buffers, plus its index.

The server keeps one `Analysis` per root policy. An included file belongs to the root that
includes it; `find_root` works that out for a file opened on its own.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from alignctl.api import Result, check_policy
from alignctl.policy.diagnostics import Diagnostic

from .index import Index, build_index

POLICY_KEY = re.compile(r"(?m)^policy[ \t]*:")
INCLUDE_KEY = re.compile(r"(?m)^include[ \t]*:")
DEFAULT_NAME = "alignment.yaml"
YAML_SUFFIXES = (".yaml", ".yml")


def absolute(file: str) -> str:
    """A diagnostic's file name (relative to the working directory) as an absolute path."""
    return os.path.normpath(os.path.abspath(file))


@dataclass
class Analysis:
    """What the pipeline and the index found for one root policy, and the texts it read."""

    root: str                                   # absolute path of the root policy
    result: Result
    index: Index | None
    names: dict[str, str] = field(default_factory=dict)    # absolute path -> span file name
    stamp: tuple = ()                           # the buffer versions it was computed from

    @property
    def policy(self):
        return self.result.policy

    @property
    def doc(self):
        return self.result.doc

    def name_of(self, path: str) -> str | None:
        return self.names.get(os.path.normpath(path))

    def text(self, name: str) -> str | None:
        return self.result.sources.get(name)

    def files(self) -> list[str]:
        """Absolute paths of the root and every included file that was read."""
        return list(self.names)

    def diagnostics_for(self, name: str) -> list[Diagnostic]:
        root_name = self.names.get(self.root)
        return [d for d in self.result.diagnostics
                if d.span.file == name or (name == root_name and d.span.file not in
                                           self.result.sources)]


def analyze(root: str, texts: Mapping[str, str], stamp: tuple = ()) -> Analysis:
    """Validate `root` reading `texts` (absolute path -> buffer text) instead of the disk."""
    try:
        result = check_policy(root, texts=texts)
    except OSError as exc:
        from alignctl.policy.diagnostics import Span, make

        diag = make("ALN005", f"cannot read the policy: {exc.strerror or exc}",
                    Span.point(os.path.relpath(root), 1, 1))
        result = Result(None, [diag], {}, None)
    names = {absolute(name): name for name in result.sources}
    names.setdefault(os.path.normpath(root), os.path.relpath(root))
    index = None
    doc = result.doc
    if doc is not None and isinstance(doc.data, dict):
        try:
            index = build_index(doc)
        except Exception:  # noqa: BLE001 - an editor without navigation beats a dead server
            index = None
    return Analysis(os.path.normpath(root), result, index, names, stamp)


def is_root_text(path: str, text: str | None) -> bool:
    """A file is a root policy when it has a top-level `policy:` (or is named alignment.yaml)."""
    if os.path.basename(path) == DEFAULT_NAME:
        return True
    return bool(text) and bool(POLICY_KEY.search(text))


def candidate_roots(path: str, stop: Iterable[str] = (), levels: int = 4) -> list[str]:
    """Policies near `path` (its folder and a few above, not past a workspace folder) that
    might include it: files with both `policy:` and `include:` at the top level."""
    found: list[str] = []
    stops = {os.path.normpath(s) for s in stop}
    folder = os.path.dirname(os.path.normpath(path))
    for _ in range(levels):
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            names = []
        for name in names:
            full = os.path.join(folder, name)
            if full == path or not name.endswith(YAML_SUFFIXES) or not os.path.isfile(full):
                continue
            try:
                with open(full, encoding="utf-8", errors="replace") as fh:
                    head = fh.read(1 << 20)
            except OSError:
                continue
            if INCLUDE_KEY.search(head) and POLICY_KEY.search(head):
                found.append(full)
        parent = os.path.dirname(folder)
        if folder in stops or parent == folder:
            break
        folder = parent
    return found
