"""The report's figures, computed in DuckDB over the `leads` table of `alignctl.history`.

`build(policy, history, start, end)` returns the JSON contract (docs/report.md): the window and
its periods, then volumes, conversion (+ the plan recomputed with observed rates), SLA,
capacity, quality, rejections, recycling, data quality, and the sections not measurable with
the columns the input lacks. Every figure counts only rows the history marks `ok`.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, datetime, timedelta

from alignctl.compiler import ir
from alignctl.compiler.plan import compute_plan

Z95 = 1.959963984540054
INTERVALS = {"week": "INTERVAL 7 DAY", "month": "INTERVAL 1 MONTH", "quarter": "INTERVAL 3 MONTH"}


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def rows(con, sql: str, params=None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def r4(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(x, 4)


def wilson(k: int, n: int) -> tuple[float | None, float | None]:
    """The Wilson score interval (95 %) for k successes in n trials."""
    if n == 0:
        return None, None
    p, z2 = k / n, Z95 * Z95
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return r4(max(0.0, centre - half)), r4(min(1.0, centre + half))


def ratio(k: int, n: int) -> float | None:
    return r4(k / n) if n else None


def entered(stage: ir.Stage | str) -> str:
    return f"{stage.id if isinstance(stage, ir.Stage) else stage}_entered_at"


def won_stage(policy: ir.Policy) -> ir.Stage | None:
    return next((s for s in policy.stages if s.terminal == "won"), None)


# --- the window ---------------------------------------------------------------------------------

class Window:
    """[start, as_of) in naive UTC, its periods (policy.period) and which are partial."""

    def __init__(self, con, period: str, start: date | None, end: date | None) -> None:
        self.period = period
        self.start, self.end = start, end
        self.as_of = datetime.combine(end + timedelta(days=1), datetime.min.time()) if end else None
        self.begin = datetime.combine(start, datetime.min.time()) if start else None
        self.periods: list[dict] = []
        if start and end:
            for r in rows(con, f"""SELECT CAST(p AS DATE) AS s, CAST(p + {INTERVALS[period]} AS DATE)
                    AS e FROM generate_series(date_trunc('{period}', ?::DATE),
                    date_trunc('{period}', ?::DATE), {INTERVALS[period]}) g(p)""", [start, end]):
                self.periods.append({"period_start": r["s"].isoformat(),
                                     "partial": r["s"] < start or r["e"] > end + timedelta(1)})

    def where(self, column: str) -> str:
        return f"{column} >= TIMESTAMP '{self.begin}' AND {column} < TIMESTAMP '{self.as_of}'"

    def trunc(self, column: str) -> str:
        return f"CAST(date_trunc('{self.period}', {column}) AS DATE)"

    @property
    def full(self) -> list[str]:
        return [p["period_start"] for p in self.periods if not p["partial"]]

    def to_dict(self) -> dict:
        return {"from": self.start.isoformat() if self.start else None,
                "to": self.end.isoformat() if self.end else None, "period": self.period,
                "as_of": self.as_of.isoformat() if self.as_of else None,
                "periods": self.periods}


def window(history, start: date | None, end: date | None) -> Window:
    """The window: --from/--to, else the first stage's earliest entry to the latest timestamp."""
    policy, con = history.policy, history.con
    ts = [c for c, kind in _ts_columns(history)]
    if ts and (start is None or end is None):
        first = next((entered(s) for s in policy.stages if history.has(entered(s))), ts[0])
        lo, hi = rows(con, f"SELECT CAST(min({q(first)}) AS DATE) AS lo, CAST(greatest("
                      + ", ".join(f"max({q(c)})" for c in ts) + ") AS DATE) AS hi "
                      "FROM leads WHERE ok")[0].values()
        start, end = start or lo, end or hi
    if start and end and end < start:
        start, end = end, start
    return Window(con, policy.meta.period, start, end)


def _ts_columns(history) -> list[tuple[str, str]]:
    from alignctl.history import TS, canonical

    return [(c, k) for c, k in canonical(history.policy).items()
            if k == TS and history.has(c) and not c.endswith("_accept_due_at")]


# --- volumes ------------------------------------------------------------------------------------

def volumes(history, win: Window) -> list[dict]:
    """Per period and stage: leads entering the stage, against the plan's figures."""
    policy, con = history.policy, history.con
    table = compute_plan(policy) if policy.plan else None
    out = []
    for s in policy.stages:
        if not history.has(entered(s)) or win.as_of is None:
            continue
        col = q(entered(s))
        counts = {r["p"].isoformat(): r["n"] for r in rows(
            con, f"SELECT {win.trunc(col)} AS p, count(*) AS n FROM leads WHERE ok AND "
                 f"{win.where(col)} GROUP BY 1")}
        row = table.stage(s.id) if table else None
        for p in win.periods:
            out.append({"period_start": p["period_start"], "stage": s.id,
                        "entered": counts.get(p["period_start"], 0), "partial": p["partial"],
                        "expected": r4(row.expected.value) if row and row.expected else None,
                        "required": r4(row.required.value) if row and row.required else None,
                        "committed": row.commitment if row else None})
    return out


# --- conversion ---------------------------------------------------------------------------------

def pairs(policy: ir.Policy) -> list[tuple[ir.Stage, ir.Stage, bool]]:
    """(from, to, consecutive): each consecutive pair, then each stage to the won stage."""
    stages, won = policy.stages, won_stage(policy)
    out = [(a, b, True) for a, b in zip(stages, stages[1:], strict=False)]
    if won is not None:
        out += [(a, won, False) for a in stages[: won.index - 1]]
    return out


def conversion(history, win: Window) -> tuple[list[dict], list[dict]]:
    """Cohort conversion per pair; returns (rows, not measurable)."""
    policy, out, missing = history.policy, [], []
    for a, b, consecutive in pairs(policy):
        lacking = [c for c in (entered(a), entered(b)) if not history.has(c)]
        if lacking:
            missing.append({"section": f"conversion {a.id} -> {b.id}", "needs": lacking})
            continue
        if win.as_of is not None:
            out.append(_pair(history, win, a, b, consecutive))
    return out, missing


def planned_rate(policy: ir.Policy, a: ir.Stage, b: ir.Stage) -> float | None:
    conv = policy.plan.conversion if policy.plan else {}
    rate = 1.0
    for s in policy.stages[a.index: b.index]:
        if s.id not in conv:
            return None
        rate *= conv[s.id]
    return r4(rate)


def _pair(history, win: Window, a: ir.Stage, b: ir.Stage, consecutive: bool) -> dict:
    con, at, bt = history.con, q(entered(a)), q(entered(b))
    lag = f"(epoch({bt}) - epoch({at})) / 86400.0"
    base = f"FROM leads WHERE ok AND {win.where(at)}"
    med, p90 = rows(con, f"SELECT quantile_cont({lag}, 0.5) AS m, quantile_cont({lag}, 0.9) "
                         f"AS p {base} AND {bt} IS NOT NULL")[0].values()
    horizon = math.ceil(p90) if p90 is not None else 0
    mature = f"{at} + INTERVAL {horizon} DAY <= TIMESTAMP '{win.as_of}'"
    n, k, maturing = rows(con, f"""SELECT count(*) FILTER (WHERE {mature}) AS n,
        count({bt}) FILTER (WHERE {mature}) AS k, count(*) FILTER (WHERE NOT ({mature})) AS m
        {base}""")[0].values()
    lo, hi = wilson(k, n)
    cohorts = {r["p"].isoformat(): r for r in rows(
        con, f"SELECT {win.trunc(at)} AS p, count(*) AS n, count({bt}) AS k {base} GROUP BY 1")}
    per = []
    for p in win.periods:
        c = cohorts.get(p["period_start"], {"n": 0, "k": 0})
        end = date.fromisoformat(p["period_start"]) + _period_days(win.period, p["period_start"])
        ripe = datetime.combine(end, datetime.min.time()) + timedelta(days=horizon) <= win.as_of
        per.append({"period_start": p["period_start"], "entered": c["n"], "converted": c["k"],
                    "rate": ratio(c["k"], c["n"]), "maturing": not ripe})
    return {"from": a.id, "to": b.id, "consecutive": consecutive, "entered": n,
            "converted": k, "rate": ratio(k, n), "ci_low": lo, "ci_high": hi,
            "planned": planned_rate(history.policy, a, b), "median_days": r4(med),
            "p90_days": r4(p90), "maturity_days": horizon, "maturing": maturing,
            "cohorts": per}


def _period_days(period: str, start: str) -> timedelta:
    d = date.fromisoformat(start)
    if period == "week":
        return timedelta(days=7)
    months = 1 if period == "month" else 3
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, 1) - d


def observed_plan(policy: ir.Policy, conv: list[dict]) -> dict | None:
    """The plan recomputed with the observed consecutive rates (where measured)."""
    if policy.plan is None or not policy.plan.conversion:
        return None
    observed = {r["from"]: r["rate"] for r in conv
                if r["consecutive"] and r["rate"] is not None and r["from"] in
                policy.plan.conversion}
    rates = {**policy.plan.conversion, **{k: v for k, v in observed.items() if v > 0}}
    table = compute_plan(replace(policy, plan=replace(policy.plan, conversion=rates)))
    planned = compute_plan(policy)
    won = table.won_stage
    exp = table.stage(won).expected if won and table.stage(won) else None
    stages = []
    for row in table.stages:
        before = planned.stage(row.stage)
        stages.append({"stage": row.stage,
                       "rate": r4(row.conversion) if row.conversion is not None else None,
                       "observed": row.stage in observed,
                       "expected": r4(row.expected.value) if row.expected else None,
                       "required": r4(row.required.value) if row.required else None,
                       "planned_required": r4(before.required.value)
                       if before and before.required else None})
    deals = table.deals.value if table.deals else None
    return {"rates": {k: r4(v) for k, v in rates.items()}, "observed": sorted(observed),
            "stages": stages, "won_stage": won, "deals_needed": r4(deals),
            "expected_won": r4(exp.value) if exp else None,
            "shortfall": r4(deals - exp.value) if deals is not None and exp else None}
