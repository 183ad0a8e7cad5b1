"""The target interface and registry.

A target reads only the IR and returns its files as data; `alignctl build` validates, then writes
them atomically under `OUT/<target>/`. Built-ins are listed here and imported lazily; third-party
targets register under the entry-point group `alignctl.targets` (value: `module:ClassName`).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from alignctl.compiler import ir

ENTRY_POINT_GROUP = "alignctl.targets"

BUILTINS: Mapping[str, str] = {
    "crm": "alignctl.targets.crm:CrmTarget",
    "scoring": "alignctl.targets.scoring:ScoringTarget",
    "docs": "alignctl.targets.docs:DocsTarget",
}


class TargetError(Exception):
    """The policy asks a target for something it cannot make; `attr` is where (a Targets
    attribute such as "scoring"), so the build can point at it like any other diagnostic."""

    def __init__(self, message: str, attr: str = "", help: str | None = None) -> None:
        super().__init__(message)
        self.attr, self.help = attr, help


class Target:
    """A build target: `emit(policy)` returns {relative posix path: bytes}."""

    name: str = ""
    description: str = ""

    def emit(self, policy: ir.Policy) -> dict[str, bytes]:
        raise NotImplementedError


def _entry_points() -> dict[str, str]:
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available() -> dict[str, str]:
    """Every target name -> `module:Class`; built-ins win over plugins of the same name."""
    return {**_entry_points(), **BUILTINS}


def load(name: str) -> Target:
    """An instance of the target called `name`; LookupError when there is none."""
    spec = BUILTINS.get(name) or _entry_points().get(name)
    if spec is None:
        raise LookupError(f"unknown target `{name}`")
    module, _, attr = spec.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    target = cls()
    if not isinstance(target, Target):
        raise LookupError(f"target `{name}` ({spec}) is not an alignctl Target")
    return target
