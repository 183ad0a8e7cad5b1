"""Atomic, confined writing of a target's files under `OUT/<target>/`.

Everything goes to a temporary sibling directory first; only when every file is written does it
replace `OUT/<target>` (two renames). A failure at any point leaves the previous build untouched.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath


class UnsafePath(ValueError):
    """A target produced a path that would land outside its output directory."""


def check_relative(path: str) -> PurePosixPath:
    p = PurePosixPath(path)
    if (not path or p.is_absolute() or "\\" in path or ".." in p.parts or ":" in path
            or any(part in ("", ".") for part in path.split("/"))):
        raise UnsafePath(f"unsafe output path `{path}`")
    return p


def write_target(out: Path, name: str, files: Mapping[str, bytes]) -> Path:
    """Write `files` as OUT/NAME atomically; return the final directory."""
    checked = {check_relative(rel): data for rel, data in files.items()}
    check_relative(name)
    out.mkdir(parents=True, exist_ok=True)
    final = out / name
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=out))
    try:
        for rel, data in sorted(checked.items()):
            dest = tmp.joinpath(*rel.parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        _swap(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _swap(tmp: Path, final: Path) -> None:
    old = None
    if final.is_symlink() or final.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
        os.rmdir(old)
        os.replace(final, old)
    try:
        os.replace(tmp, final)
    except BaseException:
        if old is not None:
            os.replace(old, final)
        raise
    if old is not None:
        if old.is_symlink() or old.is_file():
            old.unlink()
        else:
            shutil.rmtree(old, ignore_errors=True)
