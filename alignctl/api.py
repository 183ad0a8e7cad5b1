"""The Python API: load and check a policy, with every diagnostic.

    >>> from alignctl.api import check_policy
    >>> result = check_policy("examples/acme-saas/alignment.yaml")
    >>> result.ok, result.policy.meta.name
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from alignctl.compiler import ir
from alignctl.policy.codes import Severity
from alignctl.policy.diagnostics import Diagnostic, Sink
from alignctl.policy.loader import RawDocument, read_policy

# Structural problems cannot be silenced by the policy: it could not be read to say so.
UNSILENCEABLE = {"ALN001", "ALN002", "ALN003", "ALN004", "ALN005", "ALN006"}


@dataclass
class Result:
    """What `check_policy` found: the IR when the policy could be lowered, and diagnostics."""

    policy: ir.Policy | None
    diagnostics: list[Diagnostic]
    sources: dict[str, str] = field(default_factory=dict)
    doc: RawDocument | None = None

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.WARNING]

    def ok(self, *, strict: bool = False) -> bool:
        return not self.errors and not (strict and self.warnings)


def check_policy(path: str | Path, *, run_checks: bool = True,
                 texts: Mapping[str, str] | None = None) -> Result:
    """Load, schema-check, lower and check the policy at `path`.

    `texts` maps absolute file paths to text that replaces the file's (unsaved editor buffers).

    Raises OSError only when the root file itself cannot be read (a usage problem, exit 2).
    The garbage collector is paused meanwhile: the pipeline builds a large acyclic heap that
    repeated collections would rescan for nothing (bench/large_policy.py: 15x -> 10x at 10x size).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _check_policy(path, run_checks, texts)
    finally:
        if enabled:
            gc.enable()


def _check_policy(path: str | Path, run_checks: bool, texts: Mapping[str, str] | None) -> Result:
    sink = Sink()
    doc = read_policy(path, sink, texts)
    if doc is None or doc.data is None:
        if doc is not None and not sink.items and doc.data is None:
            from alignctl.policy.diagnostics import Span, make
            sink.add(make("ALN002", "the policy is empty", Span.point(doc.root_file, 1, 1),
                          help="start from `alignctl init`"))
        return Result(None, sink.items, doc.sources if doc else {}, doc)
    return _check_document(doc, sink, run_checks)


def _check_document(doc: RawDocument, sink: Sink, run_checks: bool) -> Result:
    from alignctl.policy.schema import check_schema

    sink.extend(check_schema(doc))
    if sink.has_errors():
        return Result(None, sink.items, doc.sources, doc)
    from alignctl.compiler.lower import lower

    policy = lower(doc, sink)
    if run_checks and not sink.has_errors():
        from alignctl.compiler.checks import run_checks as run

        sink.extend(run(policy))
    diags = _apply_severity(sink.items, policy.severity)
    return Result(policy, diags, doc.sources, doc)


def _apply_severity(diags: list[Diagnostic], overrides: dict[str, str]) -> list[Diagnostic]:
    out = []
    for d in diags:
        wanted = overrides.get(d.code)
        if wanted is None or d.code in UNSILENCEABLE:
            out.append(d)
        elif wanted != "off":
            out.append(d.with_severity(Severity(wanted)))
    return out
