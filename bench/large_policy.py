"""How `alignctl validate` scales: a generated policy at 1x and 10x size, timed in-process.

Run `python bench/large_policy.py [--scale N] [--runs N] [--keep DIR]`. The 1x policy has 500
fields, 5,000 scoring rules and 50 stages (with their teams, handoffs, terms, reasons and plan);
10x multiplies every section by ten. Both are valid (the error count is printed to show it).
Prints the median CPU time of `check_policy` (the whole of validate) and of the checks alone, and
the ratio 10x / 1x; the target is under 12x. CPU time rather than wall time, so that other work on
a shared machine does not blur the ratio. Prints figures only; asserts nothing.

Each size is timed twice: as the CLI runs today, and with Python's cyclic garbage collector
paused during the run. The difference is the collector's full passes over a heap that grows with
the policy, which cost more than linearly; the work of alignctl itself is the second figure.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGES_PER_TEAM = 4
TYPES = ("integer", "enum", "boolean", "string", "date")
SLA = {"accept_within": "24h", "first_touch_within": "4h", "attempts": 6, "over": "10d"}


# --- the generator ------------------------------------------------------------------------------

def owner_of(i: int, stages: int) -> str:
    """Stages 0-1 are Marketing's; then each sales team owns a block of stages."""
    return "marketing" if i < 2 else f"sales_{(i - 2) // STAGES_PER_TEAM}"


def teams(stages: int) -> dict:
    out = {"marketing": {"kind": "marketing", "lead": "Dana"}}
    for t in range((stages - 2 + STAGES_PER_TEAM - 1) // STAGES_PER_TEAM):
        out[f"sales_{t}"] = {"kind": "sales", "reps": 10, "capacity": {"leads_per_rep": 10**6}}
    return out


def fields(n: int, stages: int) -> dict:
    out = {f"q_{i}": {"type": "integer", "owner": owner_of(i, stages), "source": "sales"}
           for i in range(stages)}
    for k in range(n - stages):
        kind = TYPES[k % len(TYPES)]
        spec = {"type": kind, "owner": "marketing", "source": "form"}
        if kind == "enum":
            spec["values"] = [f"v{j}" for j in range(5)]
        out[f"g_{k}"] = spec
    return out


def condition(k: int, j: int) -> str:
    """A satisfiable condition on generic field g_k, varied by j."""
    name = f"g_{k}"
    return {
        "integer": f"{name} >= {10 + j % 50} and {name} <= {5000 + j % 100}",
        "enum": f'{name} in ["v{j % 5}", "v{(j + 1) % 5}"]',
        "boolean": name,
        "string": f'{name} contains "x{j % 10}"',
        "date": f"days_since({name}) > {j % 100}",
    }[TYPES[k % len(TYPES)]]


def events(n: int) -> dict:
    kinds = {"type": "enum", "values": ["a", "b", "c"]}
    return {f"e_{i}": {"properties": {"kind": kinds, "url": "string"}} for i in range(n)}


def fit_model(m: int, rules: int, generic: int, graded: bool) -> dict:
    out = {"kind": "fit", "rules": [
        {"id": f"r_{m}_{j}", "when": condition((m * rules + j) % generic, j), "points": 1 + j % 9}
        for j in range(rules)]}
    if graded:
        out["grades"] = {"A": 30, "B": 10}
    return out


def engagement_model(m: int, rules: int, n_events: int) -> dict:
    return {"kind": "engagement", "decay": {"half_life": "30d"}, "cap": 100, "rules": [
        {"id": f"r_{m}_{j}", "on": f"e_{(m + j) % n_events}",
         "where": f'kind == "{"abc"[j % 3]}" and url contains "/p{j % 20}"',
         "points": 1 + j % 5, "max": 20} for j in range(rules)]}


def scoring(n_rules: int, generic: int, n_events: int) -> dict:
    per_model = 100
    models = {}
    for m in range(n_rules // per_model):
        models[f"m_{m}"] = (engagement_model(m, per_model, n_events) if m % 5 == 4 else
                            fit_model(m, per_model, generic, graded=m == 0))
    return {"models": models}


def stage(i: int, stages: int, handed: bool) -> dict:
    out = {"id": f"s_{i}", "owner": owner_of(i, stages), "definition": f"Stage {i} of the funnel.",
           "term": f"t_{i}"}
    if i:
        out["entry"] = f"accepted and q_{i} >= 1" if handed else f"q_{i} >= 1"
    if i == stages - 1:
        out["terminal"] = "won"
    else:
        out["max_age"] = "30d"
    return out


def handoff_points(stages: int) -> list[int]:
    return [i for i in range(1, stages) if owner_of(i, stages) != owner_of(i - 1, stages)]


def terms(stages: int) -> dict:
    out = {}
    for i in range(stages):
        link = f", after a [[t_{i - 1}]]" if i else ""
        out[f"t_{i}"] = {"name": f"Stage {i} lead", "aliases": [f"S{i} lead"],
                         "definition": f"A lead at stage {i}{link}.",
                         "approved_by": ["marketing", owner_of(max(i, 2), stages)]}
    return out


def reasons(n: int) -> dict:
    out = {f"reason_{k}": {"label": f"Reason {k}", "recycle": {"to": "s_0", "after": "90d"}}
           for k in range(n)}
    out["no_response"] = {"recycle": {"to": "s_0", "after": "60d"}}
    return out


def plan(stages: int) -> dict:
    rate = round(0.5 ** (1 / (stages - 1)), 4)
    return {"revenue_target": {"amount": 13000, "currency": "USD", "per": "quarter"},
            "average_deal_size": 1000, "volumes": {"s_0": 10000},
            "conversion": {f"s_{i}": rate for i in range(stages - 1)}}


def policy(scale: int) -> dict:
    """The generated policy at `scale` (1 = 500 fields, 5,000 rules, 50 stages)."""
    n_fields, n_rules, n_stages = 500 * scale, 5000 * scale, 50 * scale
    points = handoff_points(n_stages)
    n_reasons = 10 * scale
    return {
        "policy": {"name": f"Generated x{scale}", "version": "1.0.0", "period": "week"},
        "teams": teams(n_stages),
        "fields": fields(n_fields, n_stages),
        "events": events(20 * scale),
        "terms": terms(n_stages),
        "scoring": scoring(n_rules, n_fields - n_stages, 20 * scale),
        "stages": [stage(i, n_stages, i in points) for i in range(n_stages)],
        "handoffs": [{"from": f"s_{i - 1}", "to": f"s_{i}", "sla": SLA,
                      "reject_reasons": [f"reason_{i % n_reasons}", "no_response"]}
                     for i in points],
        "disqualification": {"max_recycles": 3, "reasons": reasons(n_reasons)},
        "plan": plan(n_stages),
    }


def write(scale: int, folder: Path) -> Path:
    import yaml

    path = folder / f"large_x{scale}.yaml"
    path.write_text(yaml.safe_dump(policy(scale), sort_keys=False, width=120), "utf-8")
    return path


# --- timing -------------------------------------------------------------------------------------

def clear_caches() -> None:
    """Forget parsed expressions, so every run does the whole work."""
    from alignctl.policy import expr

    if hasattr(expr.parse, "cache_clear"):
        expr.parse.cache_clear()


def timed(fn, pause_gc: bool = False) -> tuple[float, object]:
    clear_caches()
    gc.collect()
    if pause_gc:
        gc.disable()
    try:
        start = time.process_time()
        value = fn()
        return time.process_time() - start, value
    finally:
        gc.enable()


def measure(path: Path, runs: int, pause_gc: bool) -> dict:
    from alignctl.api import check_policy
    from alignctl.compiler.checks import run_checks

    totals, checks = [], []
    result = None
    for _ in range(runs):
        elapsed, result = timed(lambda: check_policy(path), pause_gc)
        totals.append(elapsed)
        ir = result.policy
        checks.append(timed(lambda ir=ir: run_checks(ir), pause_gc)[0] if ir else 0.0)
    return {"validate": statistics.median(totals), "checks": statistics.median(checks),
            "errors": len(result.errors), "warnings": len(result.warnings),
            "first": result.errors[:3], "size": path.stat().st_size}


def report(scale: int, m: dict) -> None:
    print(f"  x{scale:<3} {m['size'] / 1e6:7.2f} MB  validate {m['validate'] * 1000:9.1f} ms  "
          f"checks {m['checks'] * 1000:8.1f} ms  ({m['errors']} errors, {m['warnings']} warnings)")
    for d in m["first"]:
        print(f"        {d.code} {d.span.line}:{d.span.column} {d.message}")


def compare(paths: dict[int, Path], runs: int, pause_gc: bool) -> None:
    figures = {s: measure(p, runs, pause_gc) for s, p in paths.items()}
    print("gc paused during each run:" if pause_gc else "as the CLI runs (gc on):")
    for scale, m in figures.items():
        report(scale, m)
    (small, large), scale = figures.values(), max(figures)
    print(f"  ratio x{scale}/x1: validate {large['validate'] / small['validate']:.2f}x, "
          f"checks {large['checks'] / max(small['checks'], 1e-9):.2f}x  "
          f"(target < {1.2 * scale:g}x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=10, help="the large size, as a multiple of 1x")
    ap.add_argument("--runs", type=int, default=3, help="runs per size; the median is shown")
    ap.add_argument("--keep", type=Path, help="write the policies here instead of a temp dir")
    args = ap.parse_args()
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {s: write(s, folder) for s in (1, args.scale)}
        print(f"alignctl validate, in-process, CPU time, median of {args.runs} runs")
        for pause_gc in (False, True):
            compare(paths, args.runs, pause_gc)


if __name__ == "__main__":
    main()
