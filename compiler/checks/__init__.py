"""Semantic checks over the IR: small functions `check_x(policy) -> Iterator[Diagnostic]`,
one module per area, each listing its checks in a `CHECKS` tuple; all run in the order below.
A check yields diagnostics and never raises."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from alignctl.compiler.ir import Policy
from alignctl.policy.diagnostics import Diagnostic

from . import capacity, conditions, crm, funnel, glossary, ownership, recycling, scoring

Check = Callable[[Policy], Iterator[Diagnostic]]

CHECKS: tuple[Check, ...] = (
    *funnel.CHECKS,
    *scoring.CHECKS,
    *conditions.CHECKS,
    *capacity.CHECKS,
    *recycling.CHECKS,
    *ownership.CHECKS,
    *glossary.CHECKS,
    *crm.CHECKS,
)


def run_checks(policy: Policy) -> list[Diagnostic]:
    """Every diagnostic of every check, in check order."""
    return [d for check in CHECKS for d in check(policy)]
