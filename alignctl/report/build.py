"""Assemble the report document (the JSON contract, version 1) from a loaded history."""

from __future__ import annotations

from datetime import date

from alignctl.compiler import ir

from . import metrics, quality, sla


def build(policy: ir.Policy, history, start: date | None = None, end: date | None = None
          ) -> dict:
    """Every section of the report as plain data; `findings` and the renderers read it."""
    win = metrics.window(history, start, end)
    missing: list[dict] = []
    if win.as_of is None:
        missing.append({"section": "every section", "needs": [metrics.entered(s)
                                                               for s in policy.stages]})
    doc = {"version": 1,
           "policy": {"name": policy.meta.name, "version": policy.meta.version},
           "window": win.to_dict(),
           "inputs": {**history.files, "rows": history.rows,
                      "columns": dict(sorted(history.source.items()))}}
    doc["volumes"] = metrics.volumes(history, win) if win.as_of else []
    if win.as_of and not any(history.has(metrics.entered(s)) for s in policy.stages):
        missing.append({"section": "volumes", "needs": [metrics.entered(s)
                                                         for s in policy.stages]})
    for name, fn in (("conversion", metrics.conversion), ("sla", sla.sla),
                     ("capacity", sla.capacity), ("quality", quality.quality),
                     ("rejections", quality.rejections), ("recycling", quality.recycling)):
        if win.as_of is None:
            doc[name] = None if name == "recycling" else []
            continue
        doc[name], lacking = fn(history, win)
        missing += lacking
    doc["plan_observed"] = metrics.observed_plan(policy, doc["conversion"])
    doc["data_quality"] = [{"kind": i.kind, "count": i.count, "examples": list(i.examples),
                            "message": i.message, "first_row": i.first_row}
                           for i in history.issues]
    doc["not_measurable"] = missing
    return doc
