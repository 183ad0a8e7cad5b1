"""Speed of `alignctl report` against one DuckDB scan of the same files.

    python bench/report_speed.py [--leads 1000000] [--threads 2] [--runs 2]

The history comes from `examples/data/simulate.py` scaled to `--leads` (and a quarter of that,
to see whether time grows linearly), written as CSV and as Parquet under `bench/out/` (kept
between runs). For each size and format it times, in this process and best of `--runs`:

- scan: one DuckDB query reading every column of the leads and activities files;
- report: `alignctl.history.load` + `alignctl.report.build` + `findings`, the real path
  `alignctl report` runs (rendering excluded; it reads only the result).

and prints both and their ratio (aim: report <= 3x the scan) and the report's time per million
rows at both sizes (linear: about equal). The quality section reads `fit_grade` / `lead_score`
from the export, so no events are scored.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
POLICY = ROOT / "examples/acme-saas/alignment.yaml"


def simulator():
    spec = importlib.util.spec_from_file_location("simulate", ROOT / "examples/data/simulate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make(leads: int) -> dict[str, Path]:
    """CSV and Parquet files for about `leads` leads, generated once."""
    import duckdb

    out = HERE / "out" / f"history-{leads}"
    files = {"csv": out / "leads.csv", "csv_act": out / "activities.csv",
             "parquet": out / "leads.parquet", "parquet_act": out / "activities.parquet"}
    if all(p.exists() for p in files.values()):
        return files
    out.mkdir(parents=True, exist_ok=True)
    sim = simulator()
    per_week = leads / (sim.WEEKS + sim.WARMUP)
    t = time.perf_counter()
    for name, data in sim.simulate(11, sim.WEEKS, per_week).items():
        (out / name).write_bytes(data)
    for kind in ("leads", "activities"):
        duckdb.sql(f"COPY (SELECT * FROM read_csv('{out / kind}.csv', all_varchar=true)) "
                   f"TO '{out / kind}.parquet' (FORMAT parquet)")
    print(f"  generated {out} in {time.perf_counter() - t:.1f} s")
    return files


def scan(leads: Path, acts: Path, threads: int) -> float:
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    reader = (lambda p: f"read_parquet('{p}')") if leads.suffix == ".parquet" else (
        lambda p: f"read_csv('{p}', header=true, all_varchar=true)")
    t = time.perf_counter()
    con.execute(f"SELECT count(*), max(length(CAST(COLUMNS(*) AS VARCHAR))) FROM {reader(leads)}").fetchall()
    con.execute(f"SELECT count(*), max(length(CAST(COLUMNS(*) AS VARCHAR))) FROM {reader(acts)}").fetchall()
    return time.perf_counter() - t


def report(leads: Path, acts: Path, threads: int) -> tuple[float, int]:
    from alignctl.api import check_policy
    from alignctl.history import connect, load
    from alignctl.report import build, findings

    policy = check_policy(POLICY).policy
    con = connect()
    con.execute(f"SET threads = {threads}")
    t = time.perf_counter()
    history = load(policy, leads, activities=acts, con=con)
    doc = build(policy, history)
    diags = findings(policy, doc)
    elapsed = time.perf_counter() - t
    con.close()
    return elapsed, len(diags)


def best(fn, runs: int, *args):
    return min((fn(*args) for _ in range(runs)), key=lambda r: r if isinstance(r, float) else r[0])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--leads", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    per_million: dict[str, list[float]] = {}
    for size in (args.leads // 4, args.leads):
        files = make(size)
        rows = sum(1 for _ in files["csv"].open("rb")) - 1
        for fmt in ("parquet", "csv"):
            leads, acts = files[fmt], files[f"{fmt}_act"]
            s = best(scan, args.runs, leads, acts, args.threads)
            r, _ = best(report, args.runs, leads, acts, args.threads)
            per_million.setdefault(fmt, []).append(r / rows * 1e6)
            verdict = "ok" if r <= 3 * s else "over the 3x aim"
            print(f"{fmt:8s} {rows:>10,} leads  scan {s:6.2f} s  report {r:6.2f} s  "
                  f"ratio {r / s:4.1f}x  ({verdict})")
    for fmt, values in per_million.items():
        print(f"{fmt:8s} report per million leads: " + " -> ".join(f"{v:.2f} s" for v in values)
              + f"  (growth {values[-1] / values[0]:.2f}x per row; 1.0 = linear)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
