"""Checks: CRM bindings, which platform field each policy field is (ALN110, ALN111).

`compiler/bindings.py` resolves the bindings; these checks point each problem at the `crm:`
entry that states it, or at the field when the binding was automatic.
"""

from __future__ import annotations

from collections.abc import Iterator

from alignctl.compiler import bindings
from alignctl.compiler.ir import Policy
from alignctl.policy.diagnostics import Diagnostic, make


def check_bindings(policy: Policy) -> Iterator[Diagnostic]:
    """ALN110 (a `crm:` binding that does not fit) and ALN111 (a near-name clash not bound)."""
    for p in bindings.problems(policy):
        f = policy.fields[p.field]
        explicit = p.code == "ALN110" and f.crm_loc is not None
        span = f.crm_loc.of(p.platform) if explicit else f.loc.span
        yield make(p.code, p.message, span, help=p.help)


CHECKS = (check_bindings,)
