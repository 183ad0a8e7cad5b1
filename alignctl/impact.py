"""What a policy change does to real leads: the Impact section of `alignctl diff --leads`.

`measure(base, head, changes, inputs)` scores the same history under both policies
(`alignctl.replay`, each with its own scoring SQL) and returns a JSON-ready dict:
- `now`: as of `as_of`, how many leads change stage, grade or score, the stage and grade
  transition tables (count, a few example lead ids per cell), and per stage whose entry changed
  how many leads meet it under one side only (they cross the threshold);
- `volume`: per stage, the leads entering it per period under BASE and HEAD, their averages and
  the change, beside the plan's required volume and any commitment; `load`: per sales team, the
  leads handed to it (entering the `from` stage of a handoff into a stage it owns) per period
  against its capacity, and the periods over capacity;
- `quality`: per stage definition, precision, recall and lift (see `alignctl.quality`) under both;
- `scoring` (when scoring changed): score distribution, deciles and AUC before and after.
Only behaviour (and breaking) changes call this; a docs-only diff reads no data.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import mean, median

from alignctl import quality
from alignctl.replay import Inputs, Side, entries, open_side, recorded

EXAMPLES = 3


def triggers(changes) -> bool:
    return any(c.kind in ("breaking", "behavior") for c in changes)


def measure(base_policy, head_policy, changes, inputs: Inputs) -> dict:
    """Raises ReplayError for inputs that cannot be scored."""
    base = open_side(base_policy, inputs)
    head = open_side(head_policy, inputs, as_of=base.as_of, periods=base.periods)
    out = {
        "as_of": base.as_of.isoformat(sep=" "),
        "period": base_policy.meta.period,
        "periods": [{"start": s.isoformat(sep=" "), "end": e.isoformat(sep=" ")}
                    for s, e in base.periods],
        "notes": list(dict.fromkeys(base.notes + head.notes)),
        "data_quality": [{"kind": i.kind, "count": i.count, "examples": list(i.examples)}
                         for i in base.issues],
        "now": now(base, head),
    }
    if base.replayable or head.replayable:
        out["notes"].append(f"volume and quality not measurable: "
                            f"{base.replayable or head.replayable}")
        out["volume"], out["load"], out["quality"] = [], [], []
    else:
        out["volume"] = volume(base, head)
        out["load"] = load(base, head, out["volume"])
        out["quality"] = stage_quality(base, head)
    if any(c.area == "scoring" for c in changes):
        out["scoring"] = scoring(base, head)
    return out


# --- now -----------------------------------------------------------------------------------------

def _rows(side: Side) -> dict[str, tuple]:
    entry_cols = [f"entry_{s.id}" for s in side.policy.stages if s.entry is not None]
    cols = ", ".join(["lead_id", "stage", "fit_grade", "lead_score", *entry_cols])
    rows = side.sql(f"SELECT {cols} FROM now ORDER BY lead_id")
    names = [c.removeprefix("entry_") for c in entry_cols]
    return {r[0]: (r[1], r[2], r[3], dict(zip(names, r[4:], strict=True))) for r in rows}


def now(base: Side, head: Side) -> dict:
    a, b = _rows(base), _rows(head)
    common = [lid for lid in a if lid in b]
    stages, grades = _transitions(common, a, b, 0), _transitions(common, a, b, 1)
    crossing = []
    for s in dict.fromkeys(list(a[common[0]][3]) + list(b[common[0]][3])) if common else ():
        lost = [lid for lid in common if a[lid][3].get(s) and not b[lid][3].get(s)]
        won = [lid for lid in common if b[lid][3].get(s) and not a[lid][3].get(s)]
        if lost or won:
            crossing.append({"stage": s, "base_only": len(lost), "head_only": len(won),
                             "examples": (lost + won)[:EXAMPLES]})
    sa = [a[lid][2] or 0 for lid in common]
    sb = [b[lid][2] or 0 for lid in common]
    return {
        "leads": len(common),
        "stage_counts": {"base": _counts(base), "head": _counts(head)},
        "stage_changed": sum(t["count"] for t in stages),
        "grade_changed": sum(t["count"] for t in grades),
        "score_changed": sum(x != y for x, y in zip(sa, sb, strict=True)),
        "stages": stages, "grades": grades, "thresholds": crossing,
        "scores": _distribution(sa, sb),
    }


def _counts(side: Side) -> dict[str, int]:
    return dict(side.sql("SELECT stage, count(*) FROM now GROUP BY stage ORDER BY stage"))


def _transitions(ids, a, b, i: int) -> list[dict]:
    cells: dict[tuple, list[str]] = defaultdict(list)
    for lid in ids:
        if a[lid][i] != b[lid][i]:
            cells[(a[lid][i], b[lid][i])].append(lid)
    return [{"from": k[0], "to": k[1], "count": len(v), "examples": v[:EXAMPLES]}
            for k, v in sorted(cells.items(), key=lambda kv: (-len(kv[1]), str(kv[0])))]


def _distribution(sa: list[float], sb: list[float]) -> dict:
    if not sa:
        return {}
    return {"base_mean": round(mean(sa), 2), "head_mean": round(mean(sb), 2),
            "base_median": median(sa), "head_median": median(sb),
            "up": sum(y > x for x, y in zip(sa, sb, strict=True)),
            "down": sum(y < x for x, y in zip(sa, sb, strict=True))}


# --- volume and load -----------------------------------------------------------------------------

def volume(base: Side, head: Side) -> list[dict]:
    from alignctl.compiler.plan import compute_plan

    n = len(base.periods)
    got = {"base": entries(base), "head": entries(head)}
    actual = recorded(base)
    plan = compute_plan(head.policy)
    out = []
    for s in head.policy.stages[1:]:
        per = {k: [got[k].get((s.id, p), 0) for p in range(1, n + 1)] for k in got}
        avg = {k: sum(v) / n if n else 0.0 for k, v in per.items()}
        row = plan.stage(s.id)
        out.append({"stage": s.id, "base": per["base"], "head": per["head"],
                    "base_avg": round(avg["base"], 2), "head_avg": round(avg["head"], 2),
                    "change_pct": _pct(avg["base"], avg["head"]),
                    "recorded_avg": round(sum(actual.get((s.id, p), 0) for p in range(1, n + 1))
                                          / n, 2) if n and (s.id, 1) in actual else None,
                    "required": _value(row.required) if row else None,
                    "expected": _value(row.expected) if row else None,
                    "committed": row.commitment if row else None})
    return out


def _value(fig) -> float | None:
    return None if fig is None else round(fig.value, 2)


def _pct(a: float, b: float) -> float | None:
    if a == b:
        return 0.0
    return round((b - a) / a * 100, 1) if a else None


def load(base: Side, head: Side, vol: list[dict]) -> list[dict]:
    from alignctl.compiler.plan import handoff_sources

    by_stage = {v["stage"]: v for v in vol}
    out = []
    for team_id, sources in handoff_sources(head.policy).items():
        per = {k: [sum(by_stage[s][k][p] for s in sources if s in by_stage)
                   for p in range(len(head.periods))] for k in ("base", "head")}
        row = {"team": team_id, "sources": list(sources), "base": per["base"],
               "head": per["head"]}
        for k, side in (("base", base), ("head", head)):
            team = side.policy.teams.get(team_id)
            cap = team.capacity_per_period() if team else None
            avg = sum(per[k]) / len(per[k]) if per[k] else 0.0
            row[f"{k}_capacity"] = cap
            row[f"{k}_avg"] = round(avg, 2)
            row[f"{k}_utilisation"] = round(avg / cap, 3) if cap else None
            row[f"{k}_over"] = sum(x > cap for x in per[k]) if cap else None
        out.append(row)
    return out


# --- quality -------------------------------------------------------------------------------------

def stage_quality(base: Side, head: Side) -> list[dict]:
    why = quality.summarise(base) or quality.summarise(head)
    if why:
        return [{"not_measurable": why}]
    a = {r["stage"]: r for r in quality.stage_quality(base)}
    b = {r["stage"]: r for r in quality.stage_quality(head)}
    keep = ("qualified", "qualified_won", "precision", "recall", "lift")
    return [{"stage": s, "known": b[s]["known"], "won": b[s]["won"],
             "base": {k: _round(a[s][k]) for k in keep},
             "head": {k: _round(b[s][k]) for k in keep}}
            for s in b if s in a]


def _round(x):
    return round(x, 4) if isinstance(x, float) else x


def scoring(base: Side, head: Side) -> dict:
    out = {}
    for name, side in (("base", base), ("head", head)):
        if quality.summarise(side):
            return {}
        out[name] = {"auc": _round(quality.auc(side, "peak_score")),
                     "deciles": [{k: _round(v) for k, v in d.items()}
                                 for d in quality.deciles(side, "peak_score")]}
    return out


def over_threshold(impact: dict, pct: float) -> list[str]:
    """Stages whose average volume per period moves more than `pct` percent."""
    return [v["stage"] for v in impact.get("volume", ())
            if v["change_pct"] is None and v["head_avg"] or
            v["change_pct"] is not None and abs(v["change_pct"]) > pct]

