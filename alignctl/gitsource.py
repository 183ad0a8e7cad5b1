"""Policies from files or from git revisions (`git:REF[:PATH]`), never touching the working tree.

A revision's policy is read with its includes from the same revision: the YAML files under the
policy's directory at REF are written to a temporary directory (`git ls-tree` + `git cat-file
--batch`), checked there, and every file name is mapped back to the path the file has in the
repository, so diagnostics and links read as they would for the working tree.

PATH follows git's own rule: relative to the repository root, or to the current directory when
it starts with `./` or `../`. Without PATH the other side's file is used, else `alignment.yaml`.
"""

from __future__ import annotations

import os
import posixpath
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from alignctl.api import Result, check_policy
from alignctl.policy.diagnostics import Diagnostic, Span

DEFAULT_POLICY = "alignment.yaml"
INCLUDABLE = (".yaml", ".yml", ".json")
MAX_BLOB = 10 * 1024 * 1024


class SourceError(Exception):
    """The input cannot be read: no such file, not a repository, unknown revision (exit 2)."""


@dataclass
class Loaded:
    """A checked policy and where it came from; `display` maps IR file names for people."""

    spec: str
    result: Result
    file: str                                   # the policy's path, as people know it
    commit: str | None = None
    display: Callable[[str], str] = field(default=lambda f: f)

    def header(self) -> dict:
        p = self.result.policy
        return {"source": self.spec, "file": self.file, "commit": self.commit,
                "name": p.meta.name if p else None, "version": p.meta.version if p else None,
                "errors": len(self.result.errors), "warnings": len(self.result.warnings)}


def is_git_spec(spec: str) -> bool:
    return spec.startswith("git:")


def load(spec: str, *, other: str | None = None) -> Loaded:
    """Load BASE or HEAD: a file, `git:REF[:PATH]`, or a bare revision such as `HEAD`."""
    if is_git_spec(spec):
        ref, _, path = spec[4:].partition(":")
        return load_git(ref, path or None, other, spec)
    if os.path.exists(spec):
        return _load_file(spec)
    if _is_revision(spec):
        return load_git(spec, None, other, f"git:{spec}")
    raise SourceError(f"`{spec}` is neither a file nor a git revision")


def load_pair(base: str, head: str) -> tuple[Loaded, Loaded]:
    """Load BASE and HEAD; a side without a path takes the other side's file."""
    if _definite(head) and not _definite(base):
        right = load(head)
        return load(base, other=right.file), right
    left = load(base, other=head if os.path.isfile(head) else None)
    return left, load(head, other=left.file)


def _definite(spec: str) -> bool:
    """Does the spec name its file (a file, or `git:REF:PATH`)?"""
    if is_git_spec(spec):
        return ":" in spec[4:]
    return os.path.exists(spec)


def _load_file(path: str) -> Loaded:
    if os.path.isdir(path):
        raise SourceError(f"`{path}` is a directory; pass the policy file")
    try:
        result = check_policy(path)
    except OSError as exc:
        raise SourceError(f"cannot read `{path}`: {exc.strerror or exc}") from exc
    return Loaded(path, result, os.path.relpath(path))


# --- git ----------------------------------------------------------------------------------------

def _git(args: list[str], cwd: str | None = None, stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True,
                              check=False)
    except OSError as exc:
        raise SourceError(f"cannot run git: {exc.strerror or exc}") from exc
    if done.returncode != 0:
        raise SourceError(done.stderr.decode("utf-8", "replace").strip() or "git failed")
    return done.stdout


def _is_revision(spec: str) -> bool:
    try:
        _commit(spec)
    except SourceError:
        return False
    return True


def _commit(ref: str) -> str:
    if not ref or ref.startswith("-"):
        raise SourceError(f"`{ref}` is not a git revision")
    try:
        out = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"])
    except SourceError as exc:
        raise SourceError(f"unknown git revision `{ref}`") from exc
    return out.decode().strip()


def repo_relative(file: str) -> str:
    """`file` (relative to the current directory) relative to the repository root, for links;
    unchanged outside a repository."""
    try:
        root = _root()
    except SourceError:
        return file
    rel = os.path.relpath(os.path.realpath(file), os.path.realpath(root))
    return file if rel.startswith("..") else Path(rel).as_posix()


def _root() -> str:
    try:
        return _git(["rev-parse", "--show-toplevel"]).decode().strip()
    except SourceError as exc:
        raise SourceError(f"not inside a git repository ({exc})") from exc


def _repo_path(path: str | None, other: str | None, root: str) -> str:
    """The policy's path relative to the repository root."""
    if path is None:
        absolute = os.path.abspath(other or DEFAULT_POLICY)
    elif path.startswith(("./", "../")) or path in (".", ".."):
        absolute = os.path.abspath(path)
    else:
        absolute = os.path.join(root, path)
    rel = os.path.relpath(os.path.realpath(absolute), os.path.realpath(root))
    if rel.startswith(".."):
        raise SourceError(f"`{path or other}` is outside the repository at {root}")
    return Path(rel).as_posix()


def load_git(ref: str, path: str | None, other: str | None, spec: str) -> Loaded:
    """Check the policy at `ref`, read with its includes from that revision."""
    root = _root()
    commit = _commit(ref)
    rel = _repo_path(path, other, root)
    blobs = _listing(commit, rel, root)
    if rel not in blobs:
        raise SourceError(f"`{rel}` does not exist at `{ref}` ({commit[:12]})")
    with tempfile.TemporaryDirectory(prefix="alignctl-git-") as tmp:
        _materialise(blobs, tmp, root)
        result = check_policy(os.path.join(tmp, rel))
        display = _mapper(tmp, root)
    return Loaded(spec, _mapped(result, display), display(os.path.join(tmp, rel)), commit,
                  display)


def _listing(commit: str, rel: str, root: str) -> dict[str, str]:
    """{repo path: blob id} of the policy and the YAML files beside and below it."""
    folder = posixpath.dirname(rel)
    args = ["ls-tree", "-r", "-z", "-l", "--full-tree", commit]
    out = _git([*args, "--", folder] if folder else args, cwd=root)
    blobs = {}
    for entry in filter(None, out.split(b"\0")):
        meta, _, name_bytes = entry.partition(b"\t")
        mode, kind, blob, size = meta.decode().split()
        name = name_bytes.decode("utf-8", "surrogateescape")
        if kind != "blob" or mode == "120000":
            continue
        if name == rel or (name.endswith(INCLUDABLE) and int(size) <= MAX_BLOB):
            blobs[name] = blob
    return blobs


def _materialise(blobs: dict[str, str], tmp: str, root: str) -> None:
    names = list(blobs)
    out = _git(["cat-file", "--batch"], cwd=root,
               stdin="".join(f"{blobs[n]}\n" for n in names).encode())
    at = 0
    for name in names:
        header_end = out.index(b"\n", at)
        size = int(out[at:header_end].split()[2])
        data = out[header_end + 1: header_end + 1 + size]
        at = header_end + 1 + size + 1
        dest = Path(tmp, *name.split("/"))
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)


def _mapper(tmp: str, root: str) -> Callable[[str], str]:
    """File names under the temporary tree -> the same files' paths in the repository."""
    cwd = os.getcwd()
    tmp_abs = os.path.normpath(os.path.join(cwd, tmp))

    def display(file: str) -> str:
        absolute = os.path.normpath(os.path.join(cwd, file))
        if absolute != tmp_abs and not absolute.startswith(tmp_abs + os.sep):
            return file
        in_repo = os.path.join(root, os.path.relpath(absolute, tmp_abs))
        return Path(os.path.relpath(in_repo, cwd)).as_posix()
    return display


def _mapped(result: Result, display: Callable[[str], str]) -> Result:
    diags = [_map_diagnostic(d, display) for d in result.diagnostics]
    sources = {display(k): v for k, v in result.sources.items()}
    return Result(result.policy, diags, sources, result.doc)


def _map_span(span: Span, display: Callable[[str], str]) -> Span:
    return replace(span, file=display(span.file))


def _map_diagnostic(d: Diagnostic, display: Callable[[str], str]) -> Diagnostic:
    related = tuple((label, _map_span(s, display)) for label, s in d.related)
    return replace(d, span=_map_span(d.span, display), related=related)
