"""dbt models of `alignctl report`'s metrics, beside the scoring package: `alignment_funnel`,
`alignment_conversion` and `alignment_sla` (with `alignment_leads` and `alignment_window` under
them), so the report's core figures run in the warehouse when the export outgrows one machine.

They read `{{ source('alignctl', 'crm_leads') }}`: the CRM's lead table with every canonical
column of docs/report.md (NULL where unknown), typed, timestamps in UTC. The window comes from
the vars `alignctl_from` / `alignctl_to` (ISO dates, inclusive), defaulting as the command does.
They are disabled unless the var `alignctl_alignment` is true, so a package built only for the
scoring never needs `crm_leads`.
The definitions are the report's (cohorts, maturity, Wilson, SLA denominators); a test checks
the numbers against `alignctl report` on DuckDB. Written for DuckDB (`target.type` duckdb);
other warehouses get a compile error naming the gap. Policy ids are `[a-z0-9_]` (the schema),
so they are safe inside SQL literals and identifiers.
"""

from __future__ import annotations

from alignctl.compiler import ir
from alignctl.compiler.plan import compute_plan

GUARD = ("{% if target.type != 'duckdb' %}{{ exceptions.raise_compiler_error('alignctl: the "
         "alignment models are written for DuckDB; target type `' ~ target.type ~ '` is not "
         "supported yet') }}{% endif %}\n")
Z = 1.959963984540054
TRUNC = {"week": "week", "month": "month", "quarter": "quarter"}


def _entered(stage: str) -> str:
    return f"{stage}_entered_at"


def _won(policy: ir.Policy) -> ir.Stage | None:
    return next((s for s in policy.stages if s.terminal == "won"), None)


def leads_sql(policy: ir.Policy) -> str:
    entered = [_entered(s.id) for s in policy.stages]
    order = " OR ".join(f"coalesce({b} < {a}, false)" for i, a in enumerate(entered)
                        for b in entered[i + 1:]) or "false"
    stages = ", ".join(f"'{s.id}'" for s in policy.stages)
    return (GUARD + "{{ config(materialized='table', enabled=var('alignctl_alignment', false)) }}\n"
            "-- The export's rows that the report's figures may use: the first row per lead id "
            "(which one is arbitrary in a warehouse), stages in order, a known stage.\n"
            "SELECT * EXCLUDE (_dup, _out_of_order, _bad_stage) FROM (\n"
            "  SELECT *, row_number() OVER (PARTITION BY lead_id ORDER BY lead_id) > 1 AS _dup,\n"
            f"    ({order}) AS _out_of_order,\n"
            f"    coalesce(lifecycle_stage NOT IN ({stages}), false) AS _bad_stage\n"
            "  FROM {{ source('alignctl', 'crm_leads') }} WHERE lead_id IS NOT NULL\n"
            ") WHERE NOT (_dup OR _out_of_order OR _bad_stage)\n")


def window_sql(policy: ir.Policy) -> str:
    first = _entered(policy.stages[0].id)
    stamps = [_entered(s.id) for s in policy.stages]
    for h in dict.fromkeys(h.to_stage for h in policy.handoffs):
        stamps += [f"{h}_accepted_at", f"{h}_first_touch_at"]
    stamps.append("disqualified_at")
    latest = ", ".join(f"max({c})" for c in stamps)
    return (GUARD + "{{ config(materialized='table', enabled=var('alignctl_alignment', false)) }}\n"
            "{% set f = var('alignctl_from', none) %}{% set t = var('alignctl_to', none) %}\n"
            "SELECT CAST(coalesce({% if f %}DATE '{{ f | replace(\"'\", \"\") }}'{% else %}"
            f"NULL{{% endif %}}, CAST(min({first}) AS DATE)) AS TIMESTAMP) AS start_at,\n"
            "  CAST(coalesce({% if t %}DATE '{{ t | replace(\"'\", \"\") }}'{% else %}"
            f"NULL{{% endif %}}, CAST(greatest({latest}) AS DATE)) + INTERVAL 1 DAY AS TIMESTAMP)"
            " AS as_of\nFROM {{ ref('alignment_leads') }}\n")


def funnel_sql(policy: ir.Policy) -> str:
    table = compute_plan(policy) if policy.plan else None
    parts = []
    for s in policy.stages:
        row = table.stage(s.id) if table else None
        exp = row.expected.value if row and row.expected else None
        req = row.required.value if row and row.required else None
        com = row.commitment if row else None
        col = _entered(s.id)
        parts.append(
            f"SELECT CAST(date_trunc('{TRUNC[policy.meta.period]}', {col}) AS DATE) AS "
            f"period_start, '{s.id}' AS stage, count(*) AS entered, {_lit(exp)} AS expected, "
            f"{_lit(req)} AS required, {_lit(com)} AS committed\n"
            f"FROM {{{{ ref('alignment_leads') }}}}, {{{{ ref('alignment_window') }}}} w\n"
            f"WHERE {col} >= w.start_at AND {col} < w.as_of GROUP BY 1")
    return GUARD + "{{ config(materialized='table', enabled=var('alignctl_alignment', false)) }}\n" + "\nUNION ALL\n".join(parts) + "\n"


def _lit(value: float | None) -> str:
    return "CAST(NULL AS DOUBLE)" if value is None else f"CAST({round(value, 4)!r} AS DOUBLE)"


def conversion_sql(policy: ir.Policy) -> str:
    stages, won = policy.stages, _won(policy)
    pairs = [(a, b, True) for a, b in zip(stages, stages[1:], strict=False)]
    if won is not None:
        pairs += [(a, won, False) for a in stages[: won.index - 1]]
    parts = [_pair(a.id, b.id, consecutive) for a, b, consecutive in pairs]
    z2 = Z * Z
    return (GUARD + "{{ config(materialized='table', enabled=var('alignctl_alignment', false)) }}\n"
            "-- Cohorts: leads that entered `from_stage` in the window; a lead counts once it had "
            "maturity_days (the p90 of the observed days between the stages) to convert.\n"
            "WITH pairs AS (\n" + "\nUNION ALL\n".join(parts) + "\n)\n"
            "SELECT *, round(converted / nullif(entered, 0), 4) AS rate,\n"
            f"  round(greatest(0, (p + {z2} / (2 * n) - {Z} * sqrt(p * (1 - p) / n + {z2} / "
            f"(4 * n * n))) / (1 + {z2} / n)), 4) AS ci_low,\n"
            f"  round(least(1, (p + {z2} / (2 * n) + {Z} * sqrt(p * (1 - p) / n + {z2} / "
            f"(4 * n * n))) / (1 + {z2} / n)), 4) AS ci_high\n"
            "FROM (SELECT *, CAST(nullif(entered, 0) AS DOUBLE) AS n, converted / "
            "nullif(entered, 0) AS p FROM pairs)\n")


def _pair(a: str, b: str, consecutive: bool) -> str:
    at, bt = _entered(a), _entered(b)
    lag = f"(epoch({bt}) - epoch({at})) / 86400.0"
    return (f"SELECT '{a}' AS from_stage, '{b}' AS to_stage, {str(consecutive).lower()} AS "
            f"consecutive,\n"
            f"  count(*) FILTER (WHERE {at} + to_days(l.horizon) <= w.as_of) AS entered,\n"
            f"  count({bt}) FILTER (WHERE {at} + to_days(l.horizon) <= w.as_of) AS converted,\n"
            f"  count(*) FILTER (WHERE {at} + to_days(l.horizon) > w.as_of) AS maturing,\n"
            f"  any_value(l.horizon) AS maturity_days, round(any_value(l.med), 4) AS median_days,"
            f" round(any_value(l.p90), 4) AS p90_days\n"
            f"FROM {{{{ ref('alignment_leads') }}}} c, {{{{ ref('alignment_window') }}}} w,\n"
            f"  (SELECT quantile_cont({lag}, 0.5) AS med, quantile_cont({lag}, 0.9) AS p90,\n"
            f"     CAST(coalesce(ceil(quantile_cont({lag}, 0.9)), 0) AS INTEGER) AS horizon\n"
            f"   FROM {{{{ ref('alignment_leads') }}}}, {{{{ ref('alignment_window') }}}} w\n"
            f"   WHERE {at} >= w.start_at AND {at} < w.as_of AND {bt} IS NOT NULL) l\n"
            f"WHERE {at} >= w.start_at AND {at} < w.as_of")


def sla_sql(policy: ir.Policy) -> str:
    hands = list(policy.handoffs)
    parts = [_handoff(h, hands[i + 1] if i + 1 < len(hands) else None) for i, h in
             enumerate(hands) if h.sla]
    if not parts:
        parts = ["SELECT NULL AS handoff WHERE false"]
    return (GUARD + "{{ config(materialized='table', enabled=var('alignctl_alignment', false)) }}\n"
            "-- Per handoff: the report's SLA figures (wall-clock hours).\n"
            + "\nUNION ALL\n".join(parts) + "\n")


def _handed(h: ir.Handoff) -> str:
    if h.sla and h.sla.accept_within:
        return f"({h.to_stage}_accept_due_at - INTERVAL {h.sla.accept_within.seconds} SECOND)"
    return _entered(h.from_stage)


def _hours(a: str, b: str) -> str:
    return f"((epoch({b}) - epoch({a})) / 3600.0)"


def _handoff(h: ir.Handoff, nxt: ir.Handoff | None) -> str:
    s, sla = h.to_stage, h.sla
    acc = sla.accept_within.seconds / 3600 if sla.accept_within else None
    ft = sla.first_touch_within.seconds / 3600 if sla.first_touch_within else None
    decided = (f"coalesce({s}_accepted_at, {_entered(s)}, CASE WHEN {_entered(s)} IS NULL AND "
               f"disqualified_at >= handed THEN disqualified_at END)")
    due = _hours("handed", "as_of")
    cols = [f"'{h.from_stage} -> {s}' AS handoff", "count(*) AS leads"]
    if acc is not None:
        cols += [f"count(*) FILTER (WHERE decided IS NOT NULL OR {due} >= {acc}) AS accept_leads",
                 f"count(*) FILTER (WHERE decided IS NOT NULL AND {_hours('handed', 'decided')}"
                 f" <= {acc}) AS accepted_in_time"]
    else:
        cols += ["NULL AS accept_leads", "NULL AS accepted_in_time"]
    if ft is not None:
        touch = f"greatest({_hours('handed', 'touch')}, 0)"
        cols += [f"count(*) FILTER (WHERE touch IS NOT NULL OR {due} >= {ft}) AS touch_leads",
                 f"count(*) FILTER (WHERE touch IS NOT NULL AND {_hours('handed', 'touch')} <= "
                 f"{ft}) AS first_touch_in_time"]
    else:
        touch = f"greatest({_hours('handed', 'touch')}, 0)"
        cols += ["NULL AS touch_leads", "NULL AS first_touch_in_time"]
    for name, lo, hi in (("under_5m", None, 5 / 60), ("under_1h", 5 / 60, 1),
                         ("under_24h", 1, 24)):
        low = f" AND {touch} >= {lo}" if lo is not None else ""
        cols.append(f"count(*) FILTER (WHERE touch IS NOT NULL AND {touch} < {hi}{low}) AS {name}")
    cols += [f"count(*) FILTER (WHERE touch IS NOT NULL AND {touch} >= 24) AS later",
             f"count(*) FILTER (WHERE touch IS NULL AND {due} >= 24) AS never"]
    nr = ("reason = 'no_response' AND disq >= handed AND (next_handed IS NULL OR next_handed > "
          "disq)")
    cols += [f"count(*) FILTER (WHERE {nr}) AS no_response",
             f"count(*) FILTER (WHERE {nr} AND tries >= {sla.attempts or 0}) AS attempts_met"]
    next_handed = _handed(nxt) if nxt else "CAST(NULL AS TIMESTAMP)"
    return (f"SELECT {', '.join(cols)} FROM (\n"
            f"  SELECT *, {decided} AS decided FROM (\n"
            f"    SELECT {_handed(h)} AS handed, {s}_accepted_at, {_entered(s)},\n"
            f"      disqualified_at, {s}_first_touch_at AS touch, {s}_attempts AS tries,\n"
            f"      disqualification_reason AS reason, disqualified_at AS disq,\n"
            f"      {next_handed} AS next_handed, w.as_of, w.start_at\n"
            f"    FROM {{{{ ref('alignment_leads') }}}}, {{{{ ref('alignment_window') }}}} w)\n"
            f"  WHERE handed >= start_at AND handed < as_of)")


def sources(policy: ir.Policy) -> dict:
    """The `crm_leads` source entry for models/sources.yml."""
    return {"name": "crm_leads",
            "identifier": "{{ var('alignctl_crm_leads', 'crm_leads') }}",
            "description": "The CRM's lead table with the canonical columns of alignctl's "
                           "report (docs/report.md), typed, timestamps in UTC."}


def files(policy: ir.Policy) -> dict[str, str]:
    """{path under dbt/: text} for the alignment models."""
    if not policy.stages:
        return {}
    return {"models/alignment/alignment_leads.sql": leads_sql(policy),
            "models/alignment/alignment_window.sql": window_sql(policy),
            "models/alignment/alignment_funnel.sql": funnel_sql(policy),
            "models/alignment/alignment_conversion.sql": conversion_sql(policy),
            "models/alignment/alignment_sla.sql": sla_sql(policy)}
