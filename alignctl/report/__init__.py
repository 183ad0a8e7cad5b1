"""`alignctl report`: the policy measured against CRM history (issue 11, docs/report.md).

    history = alignctl.history.load(policy, leads, activities=...)
    doc = build(policy, history, start=None, end=None)   # the JSON contract, version 1
    diags = findings(policy, doc)                        # Diagnostics with policy spans

`metrics` computes the six sections in DuckDB, `findings` turns them into diagnostics,
`render` prints text/markdown/json and `html` the self-contained page.
"""

from __future__ import annotations

from .build import build
from .findings import findings

__all__ = ["build", "findings"]
