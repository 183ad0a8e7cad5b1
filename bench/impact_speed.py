"""Speed of `alignctl diff --leads` (the Impact replay) against one `alignctl score` run.

    python bench/impact_speed.py [--leads 100000] [--events 2000000] [--scales 0.5,1]

Data: the acme funnel simulation (`examples/data/simulate.py`) sized to `--leads`, given its
scoring fields and events by `examples/data/enrich.py`, then padded with extra web and email
events up to `--events` (kept in `bench/out/impact-<leads>/` between runs). Times, each in a fresh
process: one `alignctl score` of those files, then `alignctl diff BASE HEAD --leads --events`
on the golden review pair (MQL threshold 40 -> 50), whose replay covers 26 weekly periods and
both policies. Prints the time, the ratio to one scoring run and to `periods x scoring run`
(aim: <= 2x), and, over `--scales`, the seconds per 1,000 leads (linear in leads: about equal).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "examples" / "data"))

import enrich  # noqa: E402
import simulate  # noqa: E402

REVIEW = ROOT / "tests" / "golden" / "diff" / "acme-review"
PERIODS = 26


def make(leads: int, events: int) -> Path:
    out = HERE / "out" / f"impact-{leads}-{events}"
    if (out / "events.csv").exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    per_week = leads / PERIODS / (1 + 0.8 / PERIODS)
    files = simulate.simulate(11, PERIODS, per_week)
    (out / "history.csv").write_bytes(files["leads.csv"])
    for name, data in enrich.enrich(out / "history.csv").items():
        (out / name).write_bytes(data)
    pad(out / "events.csv", events)
    return out


def pad(path: Path, target: int) -> None:
    """Add page views and email clicks (shifted copies of each lead's events) up to `target`."""
    import duckdb

    con = duckdb.connect()
    have = con.execute(f"SELECT count(*) FROM read_csv('{path}', all_varchar=true)").fetchone()[0]
    extra = max(0, target - have)
    if not extra:
        return
    copies = -(-extra // have)
    con.execute(f"""COPY (
        SELECT * FROM read_csv('{path}', all_varchar=true)
        UNION ALL
        (SELECT lead_id, CASE WHEN i % 2 = 0 THEN 'page_view' ELSE 'email_click' END AS event,
                strftime(CAST(occurred_at AS TIMESTAMP) - INTERVAL (i * 4111) SECOND,
                         '%Y-%m-%d %H:%M:%S') AS occurred_at,
                CASE WHEN i % 2 = 0 THEN '/docs/page-' || i END AS url, NULL AS form,
                NULL AS asset
         FROM read_csv('{path}', all_varchar=true), range(1, {copies + 1}) r(i)
         LIMIT {extra})
        ORDER BY occurred_at, lead_id) TO '{path}.tmp' (HEADER, DELIMITER ',')""")
    Path(f"{path}.tmp").replace(path)


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(leads: int, events: int) -> tuple[float, float]:
    data = make(leads, events)
    alignctl = str(Path(sys.executable).with_name("alignctl"))
    files = ["--leads", str(data / "leads.csv"), "--events", str(data / "events.csv")]
    one = timed([alignctl, "score", str(REVIEW / "base.yaml"), *files,
                 "--as-of", "2026-01-05T00:00:00", "--out", str(data / "scores.csv")])
    full = timed([alignctl, "diff", str(REVIEW / "base.yaml"), str(REVIEW / "alignment.yaml"),
                  *files, "--format", "json"])
    return one, full


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--leads", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--scales", default="0.5,1", help="fractions of --leads/--events to time")
    args = ap.parse_args()
    per_k = []
    for scale in (float(s) for s in args.scales.split(",")):
        leads, events = int(args.leads * scale), int(args.events * scale)
        one, full = measure(leads, events)
        per_k.append(full / leads * 1000)
        print(f"{leads:>9,} leads {events:>10,} events: score {one:6.2f} s, diff --leads "
              f"{full:6.2f} s = {full / one:5.1f}x one scoring run = "
              f"{full / (PERIODS * one):4.2f}x ({PERIODS} periods x scoring run; aim <= 2x); "
              f"{per_k[-1]:.3f} s per 1,000 leads")
    if len(per_k) > 1:
        print(f"linear in leads: s per 1,000 leads from {per_k[0]:.3f} to {per_k[-1]:.3f} "
              f"({per_k[-1] / per_k[0]:.2f}x)")


if __name__ == "__main__":
    main()
