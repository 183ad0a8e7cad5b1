"""The Impact section of `alignctl diff --leads`, as text and as markdown (json is the dict)."""

from __future__ import annotations

from collections.abc import Callable


def _n(x) -> str:
    if x is None:
        return "—"
    if isinstance(x, float) and not x.is_integer():
        return f"{x:,.2f}".rstrip("0").rstrip(".")
    return f"{int(x):,}"


def _pct(x) -> str:
    return "—" if x is None else f"{x * 100:.1f} %"


def _change(x) -> str:
    if x is None:
        return "new"
    return "no change" if x == 0 else f"{x:+.1f} %"


def _ratio(x) -> str:
    return "—" if x is None else f"{x:.2f}"


def headline(imp: dict, leads: str) -> str:
    n = imp["now"]["leads"]
    return (f"as of {imp['as_of']}, {_n(n)} leads from `{leads}`, "
            f"{len(imp['periods'])} {imp['period']}s replayed")


def now_lines(imp: dict) -> list[str]:
    now = imp["now"]
    out = []
    if not (now["stage_changed"] or now["grade_changed"] or now["score_changed"]
            or now["thresholds"]):
        return ["No lead changes stage, grade or score now."]
    out.append(f"{_n(now['stage_changed'])} leads change stage, {_n(now['grade_changed'])} "
               f"grade, {_n(now['score_changed'])} score (stages move forward only: a stricter "
               "entry stops new leads, it does not demote current ones).")
    for t in now["thresholds"]:
        out.append(f"{t['stage']} entry: {_n(t['base_only'])} leads meet it under base only, "
                   f"{_n(t['head_only'])} under head only (e.g. {', '.join(t['examples'])}).")
    return out


# --- text ----------------------------------------------------------------------------------------

def render_text(imp: dict | None, info: dict) -> list[str]:
    if imp is None:
        return ["", f"impact: {info['skipped']}"] if info.get("skipped") else []
    out = ["", f"impact ({headline(imp, info['leads'])})"]
    out += [f"  now: {line}" for line in now_lines(imp)]
    for t in imp["now"]["stages"] + imp["now"]["grades"]:
        out.append(f"    {t['from']} -> {t['to']}: {_n(t['count'])} "
                   f"(e.g. {', '.join(t['examples'])})")
    if imp["volume"]:
        out.append(f"  entering per {imp['period']} (base -> head average; plan required)")
        for v in imp["volume"]:
            plan = f"required {_n(v['required'])}" + (
                f", committed {_n(v['committed'])}" if v["committed"] is not None else "")
            out.append(f"    {v['stage']:<12} {_n(v['base_avg']):>8} -> {_n(v['head_avg']):<8} "
                       f"{_change(v['change_pct']):<10} {plan}{_short(v, '; ')}")
    for t in imp["load"]:
        out.append(f"  {t['team']} load: {_load(t, 'base')} -> {_load(t, 'head')}")
    for q in imp["quality"]:
        if "not_measurable" in q:
            out.append(f"  quality: not measurable: {q['not_measurable']}")
            continue
        a, b = q["base"], q["head"]
        if a == b:
            continue
        out.append(f"  {q['stage']} quality: precision {_pct(a['precision'])} -> "
                   f"{_pct(b['precision'])}, recall {_pct(a['recall'])} -> {_pct(b['recall'])}, "
                   f"lift {_ratio(a['lift'])} -> {_ratio(b['lift'])}")
    sc = imp.get("scoring")
    if sc:
        out.append(f"  lead score AUC: {_ratio(sc['base']['auc'])} -> {_ratio(sc['head']['auc'])}")
    out += [f"  note: {n}" for n in imp["notes"]]
    return out


def shortfall(v: dict) -> list[str]:
    """What HEAD's average misses that BASE's met: the commitment, the required volume."""
    out = []
    for key, words in (("committed", "commitment"), ("required", "required volume")):
        goal = v[key]
        if goal is not None and v["head_avg"] < goal <= v["base_avg"]:
            out.append(f"below the {words} ({_n(goal)})")
    return out


def _short(v: dict, sep: str) -> str:
    got = shortfall(v)
    return f"{sep}{', '.join(got)}" if got else ""


def _load(t: dict, side: str) -> str:
    cap = t[f"{side}_capacity"]
    if not cap:
        return f"{_n(t[f'{side}_avg'])} (no capacity stated)"
    return (f"{_n(t[f'{side}_avg'])}/{_n(cap)} ({_pct(t[f'{side}_utilisation'])}, "
            f"{t[f'{side}_over']} over capacity)")


# --- markdown ------------------------------------------------------------------------------------

def render_markdown(imp: dict | None, info: dict, md: Callable[[str], str]) -> list[str]:
    if imp is None:
        return ["#### Impact", "", md(info["skipped"]), ""] if info.get("skipped") else []
    out = ["#### Impact on real leads", "", md(headline(imp, info["leads"])) + ".", ""]
    out += ["**Now.** " + " ".join(md(x) for x in now_lines(imp)), ""]
    for title, rows in (("Stage", imp["now"]["stages"]), ("Grade", imp["now"]["grades"])):
        if rows:
            out += [f"| {title} before | After | Leads | Examples |", "|---|---|--:|---|"]
            out += [f"| {md(str(t['from']))} | {md(str(t['to']))} | {_n(t['count'])} | "
                    f"{md(', '.join(t['examples']))} |" for t in rows]
            out.append("")
    out += _md_volume(imp, md)
    out += _md_quality(imp, md)
    sc = imp.get("scoring")
    if sc:
        out += _md_deciles(sc)
    out += [f"> {md(n)}" for n in imp["notes"]] + ([""] if imp["notes"] else [])
    return out


def _md_volume(imp: dict, md) -> list[str]:
    if not imp["volume"]:
        return []
    p = imp["period"]
    out = [f"**Volume**: leads entering each stage per {p}, replayed over "
           f"{len(imp['periods'])} {p}s (*recorded*: what the export says happened):", "",
           f"| Stage | Recorded /{p} | Base /{p} | Head /{p} | Change | Plan required | "
           "Committed |", "|---|--:|--:|--:|--:|--:|--:|"]
    out += [f"| {v['stage']} | {_n(v['recorded_avg'])} | {_n(v['base_avg'])} | {_n(v['head_avg'])} | "
            f"{_change(v['change_pct'])}{_bold(_short(v, ', '))} | {_n(v['required'])} | "
            f"{_n(v['committed'])} |" for v in imp["volume"]]
    out.append("")
    if imp["load"]:
        out += [f"| Team | Receives | Base load / capacity | Head load / capacity | "
                f"{p.capitalize()}s over capacity |", "|---|---|--:|--:|--:|"]
        for t in imp["load"]:
            cells = [f"{_n(t[f'{s}_avg'])} / {_n(t[f'{s}_capacity'])} "
                     f"({_pct(t[f'{s}_utilisation'])})" for s in ("base", "head")]
            out.append(f"| {t['team']} | {', '.join(t['sources'])} | {cells[0]} | {cells[1]} | "
                       f"{_n(t['base_over'])} → {_n(t['head_over'])} |")
        out.append("")
    changed = [v for v in imp["volume"] if v["base"] != v["head"]]
    if changed:
        out += [f"<details><summary>Per {p}</summary>", "",
                "| " + " | ".join([p.capitalize(), *(f"{v['stage']} base → head"
                                                     for v in changed)]) + " |",
                "|---|" + "--:|" * len(changed)]
        for i, period in enumerate(imp["periods"]):
            cells = [f"{v['base'][i]} → {v['head'][i]}" for v in changed]
            out.append(f"| {period['start'][:10]} | " + " | ".join(cells) + " |")
        out += ["", "</details>", ""]
    return out


def _bold(text: str) -> str:
    return f", **{text[2:]}**" if text else ""


def _md_quality(imp: dict, md) -> list[str]:
    rows = [q for q in imp["quality"] if "not_measurable" in q or q["base"] != q["head"]]
    if not rows:
        return ["**Quality:** no stage definition picks different leads." if imp["quality"]
                else "", ""]
    if "not_measurable" in rows[0]:
        return [f"**Quality:** not measurable: {md(rows[0]['not_measurable'])}", ""]
    q0 = rows[0]
    rate = q0["won"] / q0["known"] if q0["known"] else None
    out = [f"**Quality** (over {_n(q0['known'])} leads whose outcome is known, {_n(q0['won'])} "
           f"won = {_pct(rate)}):", "",
           "| Stage | Qualified | Precision | Recall | Lift |", "|---|--:|--:|--:|--:|"]
    for q in rows:
        a, b = q["base"], q["head"]
        out.append(f"| {q['stage']} | {_n(a['qualified'])} → {_n(b['qualified'])} | "
                   f"{_pct(a['precision'])} → {_pct(b['precision'])} | {_pct(a['recall'])} → "
                   f"{_pct(b['recall'])} | {_ratio(a['lift'])} → {_ratio(b['lift'])} |")
    return out + [""]


def _md_deciles(sc: dict) -> list[str]:
    out = [f"**Lead score** AUC {_ratio(sc['base']['auc'])} → {_ratio(sc['head']['auc'])}; "
           "won rate by decile (1 = highest scores):", "",
           "| Decile | Base rate | Base lift | Head rate | Head lift |", "|--:|--:|--:|--:|--:|"]
    for a, b in zip(sc["base"]["deciles"], sc["head"]["deciles"], strict=False):
        out.append(f"| {a['decile']} | {_pct(a['rate'])} | {_ratio(a['lift'])} | "
                   f"{_pct(b['rate'])} | {_ratio(b['lift'])} |")
    return out + [""]
