"""Findings of the report (ALN970-ALN977): diagnostics pointing at the policy line a measured
figure contradicts (the planned rate, the commitment, the SLA, the team, the grades), so
`--format github|sarif` annotates the policy in a pull request. Each is a yielding function
over the report document, run in order from `FINDINGS`.
"""

from __future__ import annotations

from collections.abc import Iterator

from alignctl.compiler import ir
from alignctl.compiler.plan import noun, num, percent
from alignctl.policy.diagnostics import Diagnostic, Span, make

SLA_TARGET = 0.95           # an SLA held for fewer of the leads than this is a finding


def pct(x: float | None) -> str:
    return "n/a" if x is None else percent(x)


def find_conversion(policy: ir.Policy, doc: dict) -> Iterator[Diagnostic]:
    """ALN970: the planned rate is outside the observed 95 % interval."""
    for r in doc["conversion"]:
        if not r["consecutive"] or r["planned"] is None or r["ci_low"] is None:
            continue
        if r["ci_low"] <= r["planned"] <= r["ci_high"]:
            continue
        side = "below" if r["ci_high"] < r["planned"] else "above"
        yield make("ALN970", f"`{r['from']}` -> `{r['to']}` converts at {pct(r['rate'])}, "
                   f"{side} the planned {pct(r['planned'])}",
                   policy.plan.loc.of(f"conversion.{r['from']}"),
                   notes=(f"{num(r['converted'])} of {num(r['entered'])} "
                          f"{noun(r['from'])} reached `{r['to']}` (cohorts that had "
                          f"{r['maturity_days']} days to convert; {num(r['maturing'])} "
                          "more are still maturing)",
                          f"95 % interval {pct(r['ci_low'])} to {pct(r['ci_high'])} "
                          "(Wilson)"),
                   help=f"set `conversion.{r['from']}` to the observed rate (the plan "
                        "recomputed with it is in the report), or act on the gap")


def find_commitments(policy: ir.Policy, doc: dict) -> Iterator[Diagnostic]:
    """ALN971: a commitment missed in full periods of the window."""
    for stage, committed in (policy.plan.commitments if policy.plan else {}).items():
        rows = [v for v in doc["volumes"] if v["stage"] == stage and not v["partial"]]
        missed = [v for v in rows if v["entered"] < committed]
        if not missed:
            continue
        worst = min(missed, key=lambda v: v["entered"])
        period = doc["window"]["period"]
        yield make("ALN971", f"the commitment of {num(committed)} {noun(stage)}/{period} was "
                   f"missed in {len(missed)} of {len(rows)} {period}s",
                   policy.plan.loc.of(f"commitments.{stage}"),
                   notes=(f"worst: {num(worst['entered'])} in the {period} of "
                          f"{worst['period_start']}, {num(committed - worst['entered'])} short",
                          "missed: " + ", ".join(f"{v['period_start']} ({num(v['entered'])})"
                                                 for v in missed[:8])
                          + (" ..." if len(missed) > 8 else "")))


def find_target(policy: ir.Policy, doc: dict) -> Iterator[Diagnostic]:
    """ALN972: with the observed rates, the plan's volumes do not reach the revenue target."""
    obs = doc.get("plan_observed")
    if not obs or not obs["observed"] or obs["shortfall"] is None or obs["shortfall"] <= 1e-9:
        return
    first = next((s for s in obs["stages"] if s["required"] is not None), None)
    notes = ["observed rates: " + ", ".join(f"{k} {obs['rates'][k]}" for k in obs["observed"])]
    if first:
        notes.append(f"the target needs {num(first['required'])} {noun(first['stage'])}/"
                     f"{doc['window']['period']} at these rates (the plan says "
                     f"{num(first['planned_required'] or 0)})")
    yield make("ALN972", f"at the observed conversion rates the plan yields "
               f"{num(obs['expected_won'])} {noun(obs['won_stage'])}/{doc['window']['period']}, "
               f"{num(obs['shortfall'])} short of the {num(obs['deals_needed'])} the revenue "
               "target needs", policy.plan.loc.of("revenue_target"), notes=notes)


def find_sla(policy: ir.Policy, doc: dict) -> Iterator[Diagnostic]:
    """ALN973: a handoff SLA held for fewer than SLA_TARGET of the leads handed over."""
    for row in doc["sla"]:
        h = next(h for h in policy.handoffs if h.to_stage == row["to"]
                 and h.from_stage == row["from"])
        for key, attr, what in (("accept", "accept_within", "accepted within"),
                                ("first_touch", "first_touch_within", "first touched within")):
            m = row.get(key)
            if not m or m["share"] is None or m["share"] >= SLA_TARGET:
                continue
            worst = _worst(row) if key == "accept" else None
            yield make("ALN973", f"handoff `{row['handoff']}`: {pct(m['share'])} of leads "
                       f"{what} {m['within']} (SLA target {pct(SLA_TARGET)})",
                       h.sla.loc.of(attr),
                       notes=tuple(n for n in (
                           f"{num(m['in_time'])} of {num(m['leads'])} in time; median "
                           f"{num(m['median_hours'] or 0)} h, p90 {num(m['p90_hours'] or 0)} h",
                           worst) if n),
                       help="the breaches are listed with lead id and owner in the report")
        a = row.get("attempts")
        if a and a["share"] is not None and a["share"] < SLA_TARGET:
            yield make("ALN973", f"handoff `{row['handoff']}`: {pct(a['share'])} of "
                       f"`no_response` disqualifications made the {a['required']} attempts "
                       "the SLA requires", h.sla.loc.of("attempts"),
                       notes=(f"{num(a['met'])} of {num(a['no_response'])}; median "
                              f"{num(a['median_attempts'] or 0)} attempts",))


def _worst(row: dict) -> str | None:
    full = [p for p in row["periods"] if not p["partial"] and p["share"] is not None]
    if not full:
        return None
    worst = sorted(full, key=lambda p: p["share"])[:3]
    return "worst periods: " + ", ".join(f"{p['period_start']} ({pct(p['share'])} of "
                                         f"{num(p['leads'])})" for p in worst)


def find_capacity(policy: ir.Policy, doc: dict) -> Iterator[Diagnostic]:
    """ALN974: a team received more leads than its capacity in full periods."""
    teams: dict[str, list[dict]] = {}
    for r in doc["capacity"]:
        teams.setdefault(r["team"], []).append(r)
    for team_id, rows in teams.items():
        full = [r for r in rows if not r["partial"] and r["utilisation"] is not None]
        over = [r for r in full if r["utilisation"] > 1 + 1e-9]
        if not over:
            continue
        team, period = policy.teams[team_id], doc["window"]["period"]
        peak = max(over, key=lambda r: r["handed"])
        yield make("ALN974", f"team `{team_id}` received more leads than it can work "
                   f"({num(peak['capacity'])}/{period}) in {len(over)} of {len(full)} "
                   f"{period}s", team.loc.of("capacity"),
                   notes=(f"peak: {num(peak['handed'])} in the {period} of "
                          f"{peak['period_start']} ({pct(peak['utilisation'])} utilised)",))


def find_grades(policy: ir.Policy, doc: dict) -> Iterator[Diagnostic]:
    """ALN975: a better fit grade converts worse than a lower one (intervals apart)."""
    model = next((m for m in policy.models.values() if m.grades), None)
    rows = [r for r in doc["quality"] if r["by"] == "fit_grade"]
    if model is None:
        return
    for key, lo, hi, to in (("rate", "ci_low", "ci_high", "to"),
                            ("next_rate", "next_ci_low", "next_ci_high", "next")):
        for better, worse in zip(rows, rows[1:], strict=False):
            if better[hi] is None or worse[lo] is None or not better[hi] < worse[lo]:
                continue
            yield make("ALN975", f"fit grade {better['value']} converts to `{better[to]}` at "
                       f"{pct(better[key])}, worse than grade {worse['value']} at "
                       f"{pct(worse[key])}", model.loc.of("grades"),
                       notes=(f"grade {better['value']}: {num(better['leads'])} leads, 95 % "
                              f"interval up to {pct(better[hi])}; grade {worse['value']}: "
                              f"{num(worse['leads'])} leads, from {pct(worse[lo])}",),
                       help="the fit rules reward the wrong leads: revisit their points "
                            "with Sales")


def find_recycles(policy: ir.Policy, doc: dict) -> Iterator[Diagnostic]:
    """ALN976: leads recycled more often than max_recycles."""
    rec = doc.get("recycling") or {}
    over = rec.get("over_max_recycles")
    if not over or not over["count"]:
        return
    d = policy.disqualification
    yield make("ALN976", f"{num(over['count'])} leads were recycled more than max_recycles "
               f"({d.max_recycles}) times", d.loc.of("max_recycles"),
               notes=("e.g. " + ", ".join(over["examples"]),),
               help="the CRM's recycling automation does not enforce max_recycles")


def find_data(policy: ir.Policy, doc: dict) -> Iterator[Diagnostic]:
    """ALN977: data-quality problems in the export, at the first affected row of the file."""
    path = doc["inputs"].get("leads", "<leads>")
    csv = not path.lower().endswith((".parquet", ".pq"))
    for issue in doc["data_quality"]:
        line = (issue["first_row"] or 0) + 1 if csv and issue["first_row"] else 1
        examples = ", ".join(issue["examples"])
        yield make("ALN977", f"the history has {issue['message']}", Span.point(path, line, 1),
                   notes=(f"e.g. {examples}",) if examples else ())


FINDINGS = (find_conversion, find_commitments, find_target, find_sla, find_capacity,
            find_grades, find_recycles, find_data)


def findings(policy: ir.Policy, doc: dict) -> list[Diagnostic]:
    """Every finding, with the policy's `checks.severity` applied."""
    from alignctl.api import _apply_severity

    out = [d for f in FINDINGS for d in f(policy, doc)]
    return _apply_severity(out, dict(policy.severity))
