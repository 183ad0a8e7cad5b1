"""The report as text (a terminal summary), Markdown (a PR comment or chat post) and JSON (the
contract of docs/report.md). The findings render as `validate` renders diagnostics."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from alignctl.compiler.plan import noun, num
from alignctl.policy.diagnostics import Diagnostic
from alignctl.targets.markdown import md

BAND_LABELS = {"under_5m": "< 5 min", "under_1h": "< 1 h", "under_24h": "< 24 h",
               "later": "later", "never": "never"}


def pct(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{x * 100:.{digits}f} %"


def to_json(doc: dict, diags: Sequence[Diagnostic]) -> str:
    from alignctl.render import diagnostic_dict, summary

    out = {**doc, "findings": [diagnostic_dict(d) for d in diags], "summary": summary(diags)}
    return json.dumps(out, indent=2, ensure_ascii=False, sort_keys=True, default=str) + "\n"


# --- one model of the summary, drawn as text or Markdown -------------------------------------

def title(doc: dict) -> str:
    w, p = doc["window"], doc["policy"]
    full = sum(not x["partial"] for x in w["periods"])
    span = f"{w['from']} to {w['to']}, {full} full {w['period']}s" if w["from"] else "no dates"
    return f"{p['name']} {p['version']}: measured {span}"


def volume_table(doc: dict) -> tuple[list[str], list[list[str]]]:
    head = ["stage", "average", "min", "max", "expected", "required", "committed", "missed"]
    out = []
    stages = list(dict.fromkeys(v["stage"] for v in doc["volumes"]))
    for s in stages:
        full = [v for v in doc["volumes"] if v["stage"] == s and not v["partial"]]
        if not full:
            continue
        n = [v["entered"] for v in full]
        first = full[0]
        committed = first["committed"]
        missed = (f"{sum(x < committed for x in n)} of {len(n)}" if committed is not None
                  else "")
        out.append([s, num(sum(n) / len(n)), num(min(n)), num(max(n)), _n(first["expected"]),
                    _n(first["required"]), _n(committed), missed])
    return head, out


def _n(x) -> str:
    return "" if x is None else num(x)


def conversion_table(doc: dict) -> tuple[list[str], list[list[str]]]:
    head = ["from -> to", "rate", "95 % interval", "planned", "converted", "median days",
            "p90 days", "maturing"]
    out = []
    for r in doc["conversion"]:
        ci = f"{pct(r['ci_low'])} - {pct(r['ci_high'])}" if r["ci_low"] is not None else ""
        flag = ""
        if r["planned"] is not None and r["ci_low"] is not None and r["consecutive"] and not (
                r["ci_low"] <= r["planned"] <= r["ci_high"]):
            flag = " !"
        out.append([f"{r['from']} -> {r['to']}", pct(r["rate"]), ci,
                    pct(r["planned"]) + flag if r["planned"] is not None else "",
                    f"{num(r['converted'])} / {num(r['entered'])}", _n(r["median_days"]),
                    _n(r["p90_days"]), num(r["maturing"])])
    return head, out


def plan_lines(doc: dict) -> list[str]:
    obs = doc.get("plan_observed")
    if not obs or not obs["observed"] or obs["expected_won"] is None:
        return []
    period = doc["window"]["period"]
    line = (f"At the observed rates the plan yields {num(obs['expected_won'])} "
            f"{noun(obs['won_stage'])}/{period}; the revenue target needs "
            f"{num(obs['deals_needed'] or 0)}")
    short = obs["shortfall"]
    line += f" ({num(short)} short)." if short and short > 0 else " (reached)."
    req = [f"{s['stage']} {num(s['required'])}" for s in obs["stages"] if s["required"]]
    return [line, f"Required per {period} at observed rates: " + ", ".join(req) + "."]


def sla_table(doc: dict) -> tuple[list[str], list[list[str]]]:
    head = ["handoff", "team", "accepted in time", "first touch in time", "attempts met",
            *BAND_LABELS.values(), "breaches"]
    out = []
    for r in doc["sla"]:
        def share(key: str, r=r) -> str:
            m = r.get(key)
            if not m or m.get("share") is None:
                return "n/a"
            within = m.get("within") or f"{m.get('required')} attempts"
            return f"{pct(m['share'])} ({within})"
        bands = r.get("bands") or {}
        total = sum(bands.values())
        cells = [pct(bands[b] / total, 0) if total else "" for b in BAND_LABELS]
        out.append([r["handoff"], r["team"] or "", share("accept"), share("first_touch"),
                    share("attempts"), *cells, num(r["breaches_total"])])
    return head, out


def capacity_table(doc: dict) -> tuple[list[str], list[list[str]]]:
    head = ["team", "capacity", "average", "peak", "peak period", "over capacity"]
    out, teams = [], list(dict.fromkeys(r["team"] for r in doc["capacity"]))
    for t in teams:
        full = [r for r in doc["capacity"] if r["team"] == t and not r["partial"]]
        if not full:
            continue
        peak = max(full, key=lambda r: r["handed"])
        avg = sum(r["handed"] for r in full) / len(full)
        cap = full[0]["capacity"]
        over = sum(1 for r in full if r["utilisation"] is not None and r["utilisation"] > 1)
        out.append([t, _n(cap), f"{num(avg)} ({pct(avg / cap, 0) if cap else 'n/a'})",
                    f"{num(peak['handed'])} ({pct(peak['utilisation'], 0)})",
                    peak["period_start"], f"{over} of {len(full)}"])
    return head, out


def quality_table(doc: dict, by: str) -> tuple[list[str], list[list[str]]]:
    rows = [r for r in doc["quality"] if r["by"] == by]
    if not rows:
        return [], []
    head = [by.replace("_", " "), "leads", f"-> {rows[0]['next']}", "lift",
            f"-> {rows[0]['to']}", "lift"]
    return head, [[r["value"], num(r["leads"]), pct(r["next_rate"]), _n(r["next_lift"]),
                   pct(r["rate"]), _n(r["lift"])] for r in rows]


def recycling_table(doc: dict) -> tuple[list[str], list[list[str]]]:
    rec = doc.get("recycling")
    if not rec:
        return [], []
    head = ["reason", "disqualified", "recycle", "due next period"]
    return head, [[r["reason"], num(r["count"]), r["recycle"] or "", num(r["due_next_period"])]
                  for r in rec["reasons"]]


def recycling_lines(doc: dict) -> list[str]:
    rec = doc.get("recycling") or {}
    out = []
    if "recycled_back" in rec:
        out.append(f"Recycled leads back in the window: {num(rec['recycled_back'])}; "
                   f"requalified {num(rec['recycled_requalified'])}, won "
                   f"{num(rec['recycled_won'])}.")
    over = rec.get("over_max_recycles")
    if over and over["count"]:
        out.append(f"Recycled more than max_recycles ({rec['max_recycles']}): "
                   f"{num(over['count'])} leads.")
    return out


SECTIONS = (("Volumes per period (full periods)", volume_table),
            ("Conversion (cohorts, 95 % Wilson interval; ! = plan outside it)",
             conversion_table),
            ("SLA per handoff (speed to lead: share of leads first touched)", sla_table),
            ("Capacity (leads handed per period)", capacity_table),
            ("Lead quality by fit grade", lambda d: quality_table(d, "fit_grade")),
            ("Lead quality by lead-score decile (10 = highest)",
             lambda d: quality_table(d, "score_decile")),
            ("Disqualification and recycling", recycling_table))
EXTRA = {"Conversion (cohorts, 95 % Wilson interval; ! = plan outside it)": plan_lines,
         "Disqualification and recycling": recycling_lines}


# --- text -------------------------------------------------------------------------------------

def to_text(doc: dict, diags: Sequence[Diagnostic], sources: Mapping[str, str], *,
            color: bool = False, findings: bool = True) -> str:
    from alignctl.render import printable, render_text

    out = [title(doc), _inputs(doc), ""]
    for name, fn in SECTIONS:
        head, body = fn(doc)
        if not body:
            continue
        out += [name, *_grid(head, body), *("  " + x for x in EXTRA.get(name, _none)(doc)), ""]
    out += _tail(doc)
    text = "\n".join(printable(line) for line in out) + "\n"
    if findings:
        text += "\nFindings\n" + render_text(diags, sources, color=color)
    return text


def _none(doc: dict) -> list[str]:
    return []


def _inputs(doc: dict) -> str:
    i = doc["inputs"]
    extra = f", activities {i['activities']}" if i.get("activities") else ""
    return f"leads {i.get('leads')} ({num(i['rows'])} rows){extra}; as of {doc['window']['as_of']}"


def _tail(doc: dict) -> list[str]:
    out = []
    if doc["data_quality"]:
        out.append("Data quality")
        out += [f"  {d['message']} (e.g. {', '.join(d['examples'][:3])})" for d in
                doc["data_quality"]]
        out.append("")
    if doc["not_measurable"]:
        out.append("Not measurable")
        out += [f"  {m['section']}: needs columns {', '.join(m['needs'])}"
                for m in doc["not_measurable"]]
        out.append("")
    return out


def _grid(head: list[str], body: list[list[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [head, *body]) for i in range(len(head))]
    fmt = lambda r: "  " + "  ".join(  # noqa: E731
        str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(
            zip(r, widths, strict=True))).rstrip()
    return [fmt(head), *(fmt(r) for r in body)]


# --- markdown ---------------------------------------------------------------------------------

_PLAIN = re.compile(r"[\w .,%/:+\-!]*")


def _cell(value) -> str:
    """A table cell: figures and ids as they are, anything else escaped."""
    text = str(value)
    return text if _PLAIN.fullmatch(text) and not text.startswith(("-", "+")) else md(text)

def to_markdown(doc: dict, diags: Sequence[Diagnostic]) -> str:
    out = [f"## {md(title(doc))}", "", md(_inputs(doc)), ""]
    for name, fn in SECTIONS:
        head, body = fn(doc)
        if not body:
            continue
        out += [f"### {md(name)}", "", "| " + " | ".join(md(h) for h in head) + " |",
                "|" + "|".join("---" if i == 0 else "---:" for i in range(len(head))) + "|"]
        out += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in body]
        out += ["", *(md(x) for x in EXTRA.get(name, _none)(doc)), ""]
    tail = _tail(doc)
    if tail:
        out += [f"### {md(x)}" if x and not x.startswith("  ") else
                (f"- {md(x.strip())}" if x else "") for x in tail]
    out += ["### Findings", ""]
    if not diags:
        out.append("No findings.")
    for d in diags:
        where = f"{d.span.file}:{d.span.line}"
        out.append(f"- **{d.severity.value}** `{d.code}` {md(d.message)} ({md(where)})")
        out += [f"  - {md(n)}" for n in d.notes]
    return "\n".join(out).rstrip("\n") + "\n"


# --- summary ----------------------------------------------------------------------------------

def to_summary(doc: dict, diags: Sequence[Diagnostic]) -> str:
    """A few lines for a terminal or a chat: the headline figures, then one line per finding."""
    from alignctl.render import printable, summary

    out = [title(doc)]
    for r in doc["conversion"]:
        if r["consecutive"] and r["rate"] is not None:
            plan = f" (plan {pct(r['planned'])})" if r["planned"] is not None else ""
            out.append(f"  {r['from']} -> {r['to']}: {pct(r['rate'])}{plan}")
    for r in doc["sla"]:
        parts = [f"{label} {pct(r[key]['share'])}" for key, label in
                 (("accept", "accepted in time"), ("first_touch", "first touch in time"))
                 if r.get(key)]
        out.append(f"  handoff {r['handoff']}: " + ", ".join(parts or ["n/a"]))
    counts = summary(diags)
    out.append(f"{len(diags)} findings ({counts['errors']} errors, {counts['warnings']} "
               "warnings)")
    out += [f"  {d.severity.value} {d.code} {d.span.file}:{d.span.line} {d.message}"
            for d in diags]
    if doc["not_measurable"]:
        out.append("not measurable: " + "; ".join(m["section"] for m in doc["not_measurable"]))
    return "\n".join(printable(x) for x in out) + "\n"
