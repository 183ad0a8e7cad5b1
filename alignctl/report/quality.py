"""Lead quality (fit grade and score decile against conversion), rejection reasons by segment,
and disqualification and recycling, from the `leads` table.

The quality cohort is every lead that entered the first stage in the window; it converts "next"
when it reached the second stage and "won" when it reached the won stage. Grades are compared
inside one cohort, so censoring (recent leads that have not converted yet) weighs on every
grade alike and the comparison stays fair even where the absolute rates are still maturing.
"""

from __future__ import annotations

from datetime import timedelta

from alignctl.compiler import ir

from .metrics import INTERVALS, Window, entered, q, r4, ratio, rows, wilson, won_stage


def segment_field(policy: ir.Policy) -> str | None:
    """The field rejections are broken down by: `lead_source` if the policy has it, else its
    first enum field filled by an integration, a form or enrichment."""
    if "lead_source" in policy.fields:
        return "lead_source"
    return next((f.id for f in policy.fields.values() if f.type == "enum"
                 and f.source in ("integration", "form", "enrichment")), None)


def quality(history, win: Window) -> tuple[list[dict], list[dict]]:
    policy = history.policy
    if len(policy.stages) < 2 or not history.has(entered(policy.stages[0])):
        return [], [{"section": "quality", "needs": [entered(s) for s in policy.stages[:2]]}]
    out, missing = [], []
    grades = [g for g, _ in policy.grades] + ["D"]
    if history.has("fit_grade"):
        out += _by(history, win, "fit_grade", "fit_grade", grades)
    else:
        missing.append({"section": "quality by fit grade", "needs": ["fit_grade"]})
    if history.has("lead_score"):
        decile = "ntile(10) OVER (ORDER BY lead_score, _row)"
        out += _by(history, win, "score_decile", decile, None, "lead_score IS NOT NULL")
    else:
        missing.append({"section": "quality by score decile", "needs": ["lead_score"]})
    return out, missing


def _by(history, win: Window, by: str, expr: str, order: list[str] | None,
        extra: str = "true") -> list[dict]:
    policy, con = history.policy, history.con
    first, second = policy.stages[0], policy.stages[1]
    won = won_stage(policy)
    nxt = q(entered(second)) if history.has(entered(second)) else "NULL"
    wcol = q(entered(won)) if won and history.has(entered(won)) else "NULL"
    base = f"FROM leads WHERE ok AND {win.where(q(entered(first)))} AND {extra}"
    got = rows(con, f"""SELECT v, count(*) AS n, count(nx) AS nk, count(w) AS wk FROM
        (SELECT {expr} AS v, {nxt} AS nx, {wcol} AS w {base}) WHERE v IS NOT NULL
        GROUP BY 1""")
    total = rows(con, f"SELECT count(*) AS n, count({nxt}) AS nk, count({wcol}) AS wk {base}"
                      f" AND ({expr if by == 'fit_grade' else 'true'}) IS NOT NULL")[0]
    base_won, base_next = ratio(total["wk"], total["n"]), ratio(total["nk"], total["n"])
    key = {g: i for i, g in enumerate(order)} if order else None
    got.sort(key=lambda r: key.get(str(r["v"]), len(key)) if key else r["v"])
    out = []
    for r in got:
        rate, nrate = ratio(r["wk"], r["n"]), ratio(r["nk"], r["n"])
        lo, hi = wilson(r["wk"], r["n"])
        nlo, nhi = wilson(r["nk"], r["n"])
        out.append({"by": by, "value": str(r["v"]), "leads": r["n"], "converted": r["wk"],
                    "rate": rate, "ci_low": lo, "ci_high": hi,
                    "lift": r4(rate / base_won) if base_won and rate is not None else None,
                    "to": won.id if won else None,
                    "next": second.id, "next_converted": r["nk"], "next_rate": nrate,
                    "next_ci_low": nlo, "next_ci_high": nhi,
                    "next_lift": r4(nrate / base_next) if base_next and nrate is not None
                    else None})
    return out


def rejections(history, win: Window) -> tuple[list[dict], list[dict]]:
    """Disqualifications in the window by reason and segment value."""
    seg = segment_field(history.policy)
    lacking = [c for c in ("disqualified_at", "disqualification_reason") if not history.has(c)]
    if seg is None or not history.has(seg):
        lacking.append(seg or "a segment field (lead_source)")
    if lacking:
        return [], [{"section": "rejections by segment", "needs": lacking}]
    got = rows(history.con, f"""SELECT coalesce({q(seg)}, '(none)') AS v,
        disqualification_reason AS reason, count(*) AS n FROM leads
        WHERE ok AND reason_ok AND disqualification_reason IS NOT NULL
        AND {win.where('disqualified_at')} GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2""")
    totals: dict[str, int] = {}
    for r in got:
        totals[r["v"]] = totals.get(r["v"], 0) + r["n"]
    return [{"segment": seg, "value": r["v"], "reason": r["reason"], "count": r["n"],
             "share": ratio(r["n"], totals[r["v"]])} for r in got], []


def recycling(history, win: Window) -> tuple[dict | None, list[dict]]:
    policy, con = history.policy, history.con
    d = policy.disqualification
    if d is None:
        return None, []
    lacking = [c for c in ("disqualified_at", "disqualification_reason")
               if not history.has(c)]
    if lacking:
        return None, [{"section": "disqualification and recycling", "needs": lacking}]
    counts = {r["reason"]: r["n"] for r in rows(con, f"""SELECT disqualification_reason AS reason,
        count(*) AS n FROM leads WHERE ok AND reason_ok AND disqualification_reason IS NOT NULL
        AND {win.where('disqualified_at')} GROUP BY 1""")}
    due: dict[str, int] = {}
    nxt_end = None
    missing = []
    if history.has("recycle_on"):
        nxt_end = rows(con, f"SELECT CAST(?::DATE + {INTERVALS[win.period]} AS DATE) AS e",
                       [win.as_of.date()])[0]["e"]
        due = {r["reason"]: r["n"] for r in rows(con, """SELECT disqualification_reason AS reason,
            count(*) AS n FROM leads WHERE ok AND reason_ok AND recycle_on >= ? AND
            recycle_on < ? GROUP BY 1""", [win.as_of.date(), nxt_end])}
    else:
        missing.append({"section": "recycles due", "needs": ["recycle_on"]})
    reasons = [{"reason": r.id, "label": r.label, "count": counts.get(r.id, 0),
                "recycle": _rule(r), "due_next_period": due.get(r.id, 0)}
               for r in d.reasons.values()]
    out = {"reasons": reasons, "disqualified": sum(counts.values()),
           "next_period": {"from": win.as_of.date().isoformat(),
                           "to": (nxt_end - timedelta(days=1)).isoformat() if nxt_end else None},
           "max_recycles": d.max_recycles}
    if history.has("recycle_count"):
        out.update(_recycled(history, win, d))
    else:
        missing.append({"section": "recycled leads", "needs": ["recycle_count"]})
    return out, missing


def _rule(r: ir.Reason) -> str | None:
    rc = r.recycle
    if rc is None:
        return None
    if rc.never:
        return "never"
    if rc.after:
        return f"to {rc.to} after {rc.after.text}"
    return f"to {rc.to} {rc.lead_time.text if rc.lead_time else ''} before {rc.before}".strip()


def _recycled(history, win: Window, d: ir.Disqualification) -> dict:
    policy, con = history.policy, history.con
    first = q(entered(policy.stages[0]))
    second = q(entered(policy.stages[1])) if len(policy.stages) > 1 and history.has(
        entered(policy.stages[1])) else "NULL"
    won = won_stage(policy)
    wcol = q(entered(won)) if won and history.has(entered(won)) else "NULL"
    r = rows(con, f"""SELECT count(*) AS n, count({second}) AS k, count({wcol}) AS w FROM leads
        WHERE ok AND recycle_count >= 1 AND {win.where(first)}""")[0]
    out = {"recycled_back": r["n"], "recycled_requalified": r["k"], "recycled_won": r["w"]}
    if d.max_recycles is not None:
        n, ids = rows(con, """SELECT count(*) AS n, list(lead_id ORDER BY _row)[1:5] AS ids
            FROM leads WHERE ok AND recycle_count > ?""", [d.max_recycles])[0].values()
        out["over_max_recycles"] = {"count": n, "examples": list(ids or [])}
    return out
