"""The report as one self-contained HTML page: the tables of the text report, the findings, and
charts drawn with Vega-Altair and rendered to inline SVG by vl-convert (no script, no network).

Charts: volume against plan per period, the funnel's observed rates against planned, the SLA
accept share per period and the speed-to-lead bands, and conversion lift by fit grade.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from alignctl.policy.diagnostics import Diagnostic

from . import render as text

TEMPLATE = "report/report.html.j2"
WIDTH = 560


def to_html(doc: dict, diags: Sequence[Diagnostic], sources: Mapping[str, str]) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("alignctl", "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    tables = []
    for name, fn in text.SECTIONS:
        head, body = fn(doc)
        if body:
            tables.append({"name": name, "head": head, "rows": body,
                           "notes": text.EXTRA.get(name, text._none)(doc)})
    return env.get_template(TEMPLATE).render(
        title=text.title(doc), inputs=text._inputs(doc), tables=tables, charts=charts(doc),
        findings=diags, data_quality=doc["data_quality"], missing=doc["not_measurable"])


def svg(chart) -> str:
    import jinja2
    import vl_convert

    spec = json.dumps(chart.to_dict(), sort_keys=True)
    return jinja2.utils.markupsafe.Markup(vl_convert.vegalite_to_svg(spec))


def charts(doc: dict) -> list[dict]:
    out = []
    for name, fn in (("Volume against plan", volume_chart), ("Funnel: observed against "
                     "planned", funnel_chart), ("Accept SLA per period", sla_chart),
                     ("Speed to lead", bands_chart), ("Lift by fit grade", grade_chart)):
        chart = fn(doc)
        if chart is not None:
            out.append({"name": name, "svg": svg(chart)})
    return out


def volume_chart(doc: dict):
    import altair as alt

    rows = [v for v in doc["volumes"] if not v["partial"]]
    if not rows:
        return None
    plan = [{"stage": v["stage"], "line": k, "value": v[k]} for v in rows
            for k in ("expected", "required", "committed") if v[k] is not None]
    plan = list({(p["stage"], p["line"]): p for p in plan}.values())
    base = alt.Chart(alt.Data(values=rows))
    bars = base.mark_bar(color="#4c78a8").encode(
        x=alt.X("period_start:O", title=None), y=alt.Y("entered:Q", title="entered"))
    rules = alt.Chart(alt.Data(values=plan)).mark_rule(strokeDash=[4, 3]).encode(
        y="value:Q", color=alt.Color("line:N", title="plan"))
    stages = list(dict.fromkeys(v["stage"] for v in rows))
    layers = [alt.layer(bars.transform_filter(alt.datum.stage == s),
                        rules.transform_filter(alt.datum.stage == s)).properties(
        title=s, width=WIDTH, height=120) for s in stages]
    return alt.vconcat(*layers)


def funnel_chart(doc: dict):
    import altair as alt

    rows = [r for r in doc["conversion"] if r["consecutive"] and r["rate"] is not None]
    if not rows:
        return None
    data = [{"pair": f"{r['from']} -> {r['to']}", "rate": r["rate"], "low": r["ci_low"],
             "high": r["ci_high"], "planned": r["planned"]} for r in rows]
    base = alt.Chart(alt.Data(values=data)).encode(
        y=alt.Y("pair:N", sort=None, title=None))
    bar = base.mark_bar(color="#4c78a8").encode(x=alt.X("rate:Q", title="rate (95 % interval)",
                                                       axis=alt.Axis(format="%")))
    err = base.mark_rule(color="black").encode(x="low:Q", x2="high:Q")
    planned = base.mark_tick(color="#e45756", thickness=3, size=18).encode(x="planned:Q")
    return alt.layer(bar, err, planned).properties(width=WIDTH, height=28 * len(data),
                                                   title="observed (bars) and planned (red)")


def sla_chart(doc: dict):
    import altair as alt

    data = [{"handoff": r["handoff"], "period_start": p["period_start"], "share": p["share"]}
            for r in doc["sla"] for p in r["periods"] if not p["partial"] and p["share"]
            is not None]
    if not data:
        return None
    line = alt.Chart(alt.Data(values=data)).mark_line(point=True).encode(
        x=alt.X("period_start:O", title=None),
        y=alt.Y("share:Q", title="accepted in time", axis=alt.Axis(format="%")),
        color=alt.Color("handoff:N"))
    target = alt.Chart(alt.Data(values=[{"target": 0.95}])).mark_rule(
        strokeDash=[4, 3], color="#e45756").encode(y="target:Q")
    return alt.layer(line, target).properties(width=WIDTH, height=180)


def bands_chart(doc: dict):
    import altair as alt

    order = list(text.BAND_LABELS)
    data = [{"handoff": r["handoff"], "band": text.BAND_LABELS[b], "order": order.index(b),
             "leads": n} for r in doc["sla"] for b, n in (r.get("bands") or {}).items()]
    if not data:
        return None
    return alt.Chart(alt.Data(values=data)).mark_bar().encode(
        y=alt.Y("handoff:N", title=None),
        x=alt.X("sum(leads):Q", stack="normalize", title="first touch after the handoff",
                axis=alt.Axis(format="%")),
        color=alt.Color("band:N", sort=[text.BAND_LABELS[b] for b in order],
                        scale=alt.Scale(scheme="redyellowgreen", reverse=True)),
        order=alt.Order("order:Q")).properties(width=WIDTH, height=40 * len(doc["sla"]))


def grade_chart(doc: dict):
    import altair as alt

    rows = [r for r in doc["quality"] if r["by"] == "fit_grade"]
    if not rows:
        return None
    data = [{"grade": r["value"], "to": f"-> {r[to]}", "lift": r[key]}
            for r in rows for to, key in (("next", "next_lift"), ("to", "lift"))
            if r[key] is not None]
    return alt.Chart(alt.Data(values=data)).mark_bar().encode(
        x=alt.X("grade:N", title="fit grade", sort=None), xOffset="to:N",
        y=alt.Y("lift:Q", title="lift against the average"),
        color=alt.Color("to:N", title=None)).properties(width=WIDTH, height=180)
