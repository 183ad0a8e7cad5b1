"""SLA compliance per handoff and capacity per sales team, from the `leads` table.

The handoff time of `F -> S` is `alignctl.history.handoff_time`: `S_accept_due_at -
accept_within` when the export has `S_accept_due_at`, else `F_entered_at`. The decision is `S_accepted_at` (else `S_entered_at`), or a disqualification
after the handoff for a lead that never reached S (a rejection). Durations run on the SLA clock
of `elapsed_hours`.
"""

from __future__ import annotations

from alignctl.compiler import ir

from .metrics import Window, entered, q, r4, ratio, rows

BANDS = (("under_5m", 5 / 60), ("under_1h", 1.0), ("under_24h", 24.0))
BREACH_LIMIT = 100          # breaches listed per handoff in the JSON (all are counted)


def elapsed_hours(start: str, end: str, team: ir.Team | None = None) -> str:
    """SQL: hours from `start` to `end` on the SLA clock. Wall-clock for now; a business
    calendar for `team` (compiler/calendar.py `elapsed()`) switches in here, and only here."""
    return f"((epoch({end}) - epoch({start})) / 3600.0)"


def handed_sql(history, h: ir.Handoff) -> str | None:
    from alignctl.history import handoff_time

    return handoff_time(h, history.has)


def _decided_sql(history, h: ir.Handoff, handed: str) -> str | None:
    s = h.to_stage
    picks = [q(c) for c in (f"{s}_accepted_at", entered(s)) if history.has(c)]
    if history.has("disqualified_at"):
        reached = f"{q(entered(s))} IS NULL AND " if history.has(entered(s)) else ""
        picks.append(f"CASE WHEN {reached}disqualified_at >= {handed} THEN disqualified_at END")
    return f"coalesce({', '.join(picks)})" if picks else None


def sla(history, win: Window) -> tuple[list[dict], list[dict]]:
    policy, out, missing = history.policy, [], []
    hands = list(policy.handoffs)
    for i, h in enumerate(hands):
        handed = handed_sql(history, h)
        if handed is None:
            missing.append({"section": f"sla {h.from_stage} -> {h.to_stage}",
                            "needs": [entered(h.from_stage)]})
            continue
        nxt = handed_sql(history, hands[i + 1]) if i + 1 < len(hands) else None
        row, lacking = _handoff(history, win, h, handed, nxt)
        missing += lacking
        if row is not None:
            out.append(row)
    return out, missing


def _handoff(history, win: Window, h: ir.Handoff, handed: str, nxt: str | None):
    policy, con, s, sla_ = history.policy, history.con, h.to_stage, h.sla
    team = policy.teams.get(policy.stage(s).owner) if policy.stage(s) else None
    decided = _decided_sql(history, h, handed)
    touch = q(f"{s}_first_touch_at") if history.has(f"{s}_first_touch_at") else None
    tries = q(f"{s}_attempts") if history.has(f"{s}_attempts") else None
    as_of = f"TIMESTAMP '{win.as_of}'"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE h AS SELECT lead_id, owner, _row,
        {handed} AS handed, {decided or 'CAST(NULL AS TIMESTAMP)'} AS decided,
        {touch or 'CAST(NULL AS TIMESTAMP)'} AS touch, {tries or 'CAST(NULL AS BIGINT)'} AS tries,
        disqualification_reason AS reason, disqualified_at AS disq,
        {nxt or 'CAST(NULL AS TIMESTAMP)'} AS next_handed
        FROM leads WHERE ok AND {win.where(handed)}""").fetchall()
    row = {"handoff": f"{h.from_stage} -> {s}", "from": h.from_stage, "to": s,
           "team": team.id if team else None,
           "leads": rows(con, "SELECT count(*) AS n FROM h")[0]["n"]}
    missing, breaches = [], []
    within = sla_.accept_within if sla_ else None
    if decided and within:
        row["accept"] = _timed(con, "decided", within, as_of, team)
        breaches += _breaches(con, "decided", within, as_of, team, "accept")
    elif within:
        missing.append({"section": f"sla {h.from_stage} -> {s}: accept",
                        "needs": [f"{s}_accepted_at"]})
    ft = sla_.first_touch_within if sla_ else None
    if touch and ft:
        row["first_touch"] = _timed(con, "touch", ft, as_of, team)
        row["bands"] = _bands(con, as_of, team)
        breaches += _breaches(con, "touch", ft, as_of, team, "first_touch")
    elif ft:
        missing.append({"section": f"sla {h.from_stage} -> {s}: first touch",
                        "needs": [f"{s}_first_touch_at"]})
    if sla_ and sla_.attempts and tries and history.has("disqualification_reason"):
        row["attempts"] = _attempts(con, sla_.attempts)
        breaches += _short(con, sla_.attempts)
    elif sla_ and sla_.attempts:
        missing.append({"section": f"sla {h.from_stage} -> {s}: attempts",
                        "needs": [c for c in (f"{s}_attempts", "disqualification_reason")
                                  if not history.has(c)]})
    row["accepted_in_time"] = row.get("accept", {}).get("in_time")
    row["first_touch_in_time"] = row.get("first_touch", {}).get("in_time")
    row["attempts_met"] = row.get("attempts", {}).get("met")
    row["periods"] = _periods(con, win, within, as_of, team) if decided and within else []
    row["breaches_total"] = len(breaches)
    row["breaches"] = sorted(breaches, key=lambda b: (-(b["hours"] or 0), b["lead_id"])
                             )[:BREACH_LIMIT]
    return row, missing


def _timed(con, col: str, within: ir.Dur, as_of: str, team) -> dict:
    """Leads whose `col` is known or overdue; in time; pending; median/p90 hours."""
    hrs = elapsed_hours("handed", col, team)
    due = f"{elapsed_hours('handed', as_of, team)} >= {within.seconds / 3600}"
    r = rows(con, f"""SELECT count(*) FILTER (WHERE {col} IS NOT NULL OR {due}) AS n,
        count(*) FILTER (WHERE {col} IS NOT NULL AND {hrs} <= {within.seconds / 3600}) AS k,
        count(*) FILTER (WHERE {col} IS NULL AND NOT ({due})) AS pending,
        count(*) FILTER (WHERE {col} IS NULL AND {due}) AS never,
        quantile_cont(greatest({hrs}, 0), 0.5) AS med,
        quantile_cont(greatest({hrs}, 0), 0.9) AS p90 FROM h""")[0]
    return {"within": within.text, "leads": r["n"], "in_time": r["k"],
            "share": ratio(r["k"], r["n"]), "pending": r["pending"], "never": r["never"],
            "median_hours": r4(r["med"]), "p90_hours": r4(r["p90"])}


def _bands(con, as_of: str, team) -> dict:
    """Speed to lead: first touch under 5 min / 1 h / 24 h, later, never (no touch 24 h on)."""
    hrs = f"greatest({elapsed_hours('handed', 'touch', team)}, 0)"
    cases = " ".join(f"WHEN {hrs} < {limit} THEN '{name}'" for name, limit in BANDS)
    old = f"{elapsed_hours('handed', as_of, team)} >= 24"
    got = {r["b"]: r["n"] for r in rows(con, f"""SELECT CASE WHEN touch IS NULL THEN 'never'
        {cases} ELSE 'later' END AS b, count(*) AS n FROM h
        WHERE touch IS NOT NULL OR {old} GROUP BY 1""")}
    return {name: got.get(name, 0) for name in (*(b for b, _ in BANDS), "later", "never")}


def _breaches(con, col: str, within: ir.Dur, as_of: str, team, kind: str) -> list[dict]:
    hrs = elapsed_hours("handed", col, team)
    late = f"{hrs} > {within.seconds / 3600}"
    due = f"{elapsed_hours('handed', as_of, team)} >= {within.seconds / 3600}"
    return [{"lead_id": r["lead_id"], "owner": r["owner"], "kind": kind,
             "hours": r4(r["hours"]), "handed_at": r["handed"].isoformat(sep=" ")}
            for r in rows(con, f"""SELECT lead_id, owner, handed, {hrs} AS hours FROM h
                WHERE ({col} IS NOT NULL AND {late}) OR ({col} IS NULL AND {due})
                ORDER BY _row""")]


def _no_response() -> str:
    return ("reason = 'no_response' AND disq >= handed AND "
            "(next_handed IS NULL OR next_handed > disq)")


def _attempts(con, attempts: int) -> dict:
    r = rows(con, f"""SELECT count(*) AS n, count(*) FILTER (WHERE tries >= {attempts}) AS k,
        median(tries) AS med FROM h WHERE {_no_response()}""")[0]
    return {"required": attempts, "no_response": r["n"], "met": r["k"],
            "share": ratio(r["k"], r["n"]), "median_attempts": r4(r["med"])}


def _short(con, attempts: int) -> list[dict]:
    return [{"lead_id": r["lead_id"], "owner": r["owner"], "kind": "attempts",
             "hours": None, "attempts": r["tries"], "handed_at": r["handed"].isoformat(sep=" ")}
            for r in rows(con, f"""SELECT lead_id, owner, handed, tries FROM h
                WHERE {_no_response()} AND coalesce(tries, 0) < {attempts}
                ORDER BY _row""")]


def _periods(con, win: Window, within: ir.Dur, as_of: str, team) -> list[dict]:
    hrs = elapsed_hours("handed", "decided", team)
    due = f"{elapsed_hours('handed', as_of, team)} >= {within.seconds / 3600}"
    got = {r["p"].isoformat(): r for r in rows(con, f"""SELECT {win.trunc('handed')} AS p,
        count(*) FILTER (WHERE decided IS NOT NULL OR {due}) AS n,
        count(*) FILTER (WHERE decided IS NOT NULL AND {hrs} <= {within.seconds / 3600}) AS k
        FROM h GROUP BY 1""")}
    out = []
    for p in win.periods:
        r = got.get(p["period_start"], {"n": 0, "k": 0})
        out.append({"period_start": p["period_start"], "leads": r["n"],
                    "accepted_in_time": r["k"], "share": ratio(r["k"], r["n"]),
                    "partial": p["partial"]})
    return out


# --- capacity -----------------------------------------------------------------------------------

def capacity(history, win: Window) -> tuple[list[dict], list[dict]]:
    """Leads handed to each sales team per period against its capacity; per rep where the
    team holds the lead now (`owner_team`) and `owner` is known."""
    policy, con, out, missing = history.policy, history.con, [], []
    for team in policy.teams.values():
        hands = [h for h in policy.handoffs
                 if policy.stage(h.to_stage) and policy.stage(h.to_stage).owner == team.id]
        if team.kind != "sales" or not hands:
            continue
        exprs = [e for e in (handed_sql(history, h) for h in hands) if e]
        if not exprs:
            missing.append({"section": f"capacity {team.id}",
                            "needs": [entered(h.from_stage) for h in hands]})
            continue
        cap = team.capacity_per_period()
        union = " UNION ALL ".join(f"SELECT lead_id, owner, owner_team, {e} AS t FROM leads "
                                   f"WHERE ok AND {win.where(e)}" for e in exprs)
        got = {r["p"].isoformat(): r["n"] for r in rows(
            con, f"SELECT {win.trunc('t')} AS p, count(*) AS n FROM ({union}) GROUP BY 1")}
        reps = _reps(history, win, union, team)
        for p in win.periods:
            n = got.get(p["period_start"], 0)
            out.append({"team": team.id, "period_start": p["period_start"], "handed": n,
                        "capacity": r4(cap), "utilisation": r4(n / cap) if cap else None,
                        "partial": p["partial"],
                        "reps": reps.get(p["period_start"], [])})
    return out, missing


def _reps(history, win: Window, union: str, team: ir.Team) -> dict[str, list[dict]]:
    if not (history.has("owner") and history.has("owner_team")):
        return {}
    cap = team.capacity_per_period()
    per_rep = cap / team.reps if cap and team.reps else None
    out: dict[str, list[dict]] = {}
    for r in rows(history.con, f"""SELECT {win.trunc('t')} AS p, owner, count(*) AS n
            FROM ({union}) WHERE owner_team = ? AND owner IS NOT NULL GROUP BY 1, 2
            ORDER BY 1, 2""", [team.id]):
        out.setdefault(r["p"].isoformat(), []).append(
            {"owner": r["owner"], "handed": r["n"], "capacity": r4(per_rep),
             "utilisation": r4(r["n"] / per_rep) if per_rep else None})
    return out
