"""`alignctl backtest`: how well one policy's definitions and scores pick the leads that bought.

`run(policy, inputs)` replays the history under the policy (`alignctl.replay`) and returns the
JSON contract (`"version": 1`): per stage definition precision, recall and lift; per model (and
the lead score) a decile table and the AUC against reaching the won stage; per rule its hit rate
and the won rate of the leads it fired for. Definitions: `alignctl.quality`, docs/review.md.
"""

from __future__ import annotations

from alignctl import quality
from alignctl.replay import Inputs, open_side


def _r(x):
    return round(x, 4) if isinstance(x, float) else x


def run(policy, inputs: Inputs) -> dict:
    """Raises ReplayError for inputs that cannot be scored."""
    side = open_side(policy, inputs)
    doc = {
        "version": 1,
        "policy": {"name": policy.meta.name, "version": policy.meta.version},
        "as_of": side.as_of.isoformat(sep=" "),
        "period": policy.meta.period,
        "periods": len(side.periods),
        "leads": side.sql("SELECT count(*) FROM now")[0][0],
        "notes": list(side.notes),
        "data_quality": [{"kind": i.kind, "count": i.count, "examples": list(i.examples)}
                         for i in side.issues],
    }
    if side.replayable:
        doc["notes"].append(f"no replay ({side.replayable}): scores as of {doc['as_of']} "
                            "stand in for the scores at each period end")
    why = quality.summarise(side)
    if why:
        doc["not_measurable"] = why
        return doc
    known, won = quality.base_rate(side)
    doc["outcomes"] = {"known": known, "won": won, "rate": _r(won / known) if known else None}
    doc["stages"] = [{k: _r(v) for k, v in r.items()} for r in quality.stage_quality(side)]
    doc["models"] = [{"model": name, "auc": _r(quality.auc(side, column)),
                      "deciles": [{k: _r(v) for k, v in d.items()}
                                  for d in quality.deciles(side, column)]}
                     for name, column in quality.score_columns(side)]
    doc["rules"] = [{k: _r(v) for k, v in r.items()} for r in quality.rule_hits(side)]
    return doc
