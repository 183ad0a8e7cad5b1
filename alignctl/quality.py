"""How well a policy's definitions and scores pick the leads that buy, from a scored `Side`.

Outcome known = the lead reached the won stage (`<won>_entered_at`), or was disqualified
(`disqualified_at` or a reason) without winning. Over those leads, with won rate w:
- a stage definition *qualifies* a lead when its entry held at any replayed period end;
  precision = won qualifying / qualifying, recall = won qualifying / won, lift = precision / w;
- a model's score is the highest it reached at a period end (what would have qualified the lead);
  deciles by that score, best first (ties broken by lead id), each with its won rate and lift;
  AUC = the chance a won lead outscores a lost one (ties count half; Mann-Whitney);
- a rule *fires* for a lead when it gave it points at any period end: hit rate over all replayed
  leads, won rate and lift over the fired leads whose outcome is known.
Without a replay (no first-stage timestamps), the scores as of `as_of` stand in.
"""

from __future__ import annotations

from alignctl.replay import Side


def summarise(side: Side) -> str | None:
    """Table `outcomes`: one row per lead with its outcome, qualifications, peaks and hits.
    Returns why not, when the outcome is not measurable."""
    won = side.won_stage()
    if won is None:
        return "needs a stage with `terminal: won`"
    if not side.history.has(f"{won}_entered_at"):
        return f"needs column {won}_entered_at (which leads were won)"
    source = "replay" if not side.replayable else "now"
    stages = [s.id for s in side.policy.stages if s.entry is not None]
    models = list(side.policy.models)
    rules = [r.id for r in side.policy.rules()]
    cols = [f"bool_or(entry_{s}) AS q_{s}" for s in stages]
    cols += [f"max({m}_score) AS peak_{m}" for m in models] + ["max(lead_score) AS peak_score"]
    cols += [f"bool_or(points_{r} <> 0) AS hit_{r}" for r in rules]
    disq = "h.disqualified_at IS NOT NULL OR h.disqualification_reason IS NOT NULL"
    lost = [f'h."{s.id}_entered_at" IS NOT NULL' for s in side.policy.stages
            if s.terminal == "lost"]
    won_col = f'h."{won}_entered_at"'
    side.con.execute("DROP TABLE IF EXISTS outcomes")
    side.con.execute(f"""CREATE TABLE outcomes AS SELECT s.*, coalesce({won_col} IS NOT NULL,
            false) AS won, ({won_col} IS NOT NULL OR {' OR '.join([disq, *lost])}) AS known
        FROM (SELECT lead_id, {', '.join(cols)} FROM {source} GROUP BY lead_id) s
        JOIN hist h ON h.lead_id = s.lead_id AND h.ok""")
    return None


def base_rate(side: Side) -> tuple[int, int]:
    """(leads with a known outcome, of them won)."""
    return tuple(side.sql("SELECT count(*), count(*) FILTER (WHERE won) FROM outcomes "
                          "WHERE known")[0])


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def stage_quality(side: Side) -> list[dict]:
    known, won = base_rate(side)
    rate = _ratio(won, known)
    out = []
    for s in side.policy.stages:
        if s.entry is None or s.terminal == "won":
            continue
        q, qw = side.sql(f"SELECT count(*) FILTER (WHERE q_{s.id}), count(*) FILTER (WHERE "
                         f"q_{s.id} AND won) FROM outcomes WHERE known")[0]
        precision = _ratio(qw, q)
        out.append({"stage": s.id, "known": known, "won": won, "qualified": q,
                    "qualified_won": qw, "precision": precision, "recall": _ratio(qw, won),
                    "lift": _ratio(precision, rate) if precision is not None else None})
    return out


def score_columns(side: Side) -> list[tuple[str, str]]:
    """(name, outcomes column): each model, then the lead score."""
    models = list(side.policy.models)
    return [(m, f"peak_{m}") for m in models] + [("lead_score", "peak_score")]


def deciles(side: Side, column: str) -> list[dict]:
    known, won = base_rate(side)
    rate = _ratio(won, known)
    rows = side.sql(f"""SELECT d, count(*), count(*) FILTER (WHERE won), min(v), max(v) FROM
        (SELECT {column} AS v, won, ntile(10) OVER (ORDER BY {column} DESC NULLS LAST, lead_id)
         AS d FROM outcomes WHERE known) GROUP BY d ORDER BY d""")
    return [{"decile": d, "leads": n, "won": w, "rate": _ratio(w, n),
             "lift": _ratio(_ratio(w, n), rate) if n and rate else None,
             "min_score": lo, "max_score": hi} for d, n, w, lo, hi in rows]


def auc(side: Side, column: str) -> float | None:
    """Mann-Whitney AUC of `column` against winning, over leads with a known outcome."""
    row = side.sql(f"""WITH r AS (SELECT won, avg(rk) OVER (PARTITION BY v) AS rank FROM
            (SELECT coalesce({column}, -1e308) AS v, won, row_number() OVER (ORDER BY
             coalesce({column}, -1e308)) AS rk FROM outcomes WHERE known))
        SELECT count(*) FILTER (WHERE won), count(*) FILTER (WHERE NOT won),
               sum(rank) FILTER (WHERE won) FROM r""")[0]
    pos, neg, ranks = row
    if not pos or not neg:
        return None
    return (ranks - pos * (pos + 1) / 2) / (pos * neg)


def rule_hits(side: Side) -> list[dict]:
    known, won = base_rate(side)
    rate = _ratio(won, known)
    total = side.sql("SELECT count(*) FROM outcomes")[0][0]
    out = []
    for r in side.policy.rules():
        n, kn, w = side.sql(f"SELECT count(*) FILTER (WHERE hit_{r.id}), count(*) FILTER (WHERE "
                            f"hit_{r.id} AND known), count(*) FILTER (WHERE hit_{r.id} AND known "
                            f"AND won) FROM outcomes")[0]
        won_rate = _ratio(w, kn)
        out.append({"rule": r.id, "model": r.model, "points": r.points, "leads": total,
                    "fired": n, "hit_rate": _ratio(n, total), "known": kn, "won": w,
                    "won_rate": won_rate,
                    "lift": _ratio(won_rate, rate) if won_rate is not None else None})
    return out
