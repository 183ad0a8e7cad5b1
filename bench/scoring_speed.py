"""Speed of the scoring runtimes: the generated DuckDB SQL, a hand-written expert query, and the
reference evaluator.

    python bench/scoring_speed.py [POLICY] [--leads 100000] [--events 10000000] [--threads 2]

Synthetic data comes from `bench/make_synthetic.py` into `bench/out/*.duckdb` (kept between
runs). Each measurement runs in a fresh process, so its peak memory (max RSS) is its own; a
query's time is the best of `--runs` after one warm-up. For the acme example it also times an
expert's hand-written DuckDB query (aggregate FILTERs, `max(age)` for `once`, `round_even`),
checks that both give the same scores, and prints the ratio (target: generated <= 1.5x expert).
The evaluator scores the events of the first leads, about `--eval-events` of them
(target: >= 100k events/s).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_synthetic  # noqa: E402

CHECK = ("SELECT count(*), round(sum(lead_score + fit_score + engagement_score), 2), "
         "count(fit_grade), sum(hash(fit_grade || stage)) FROM ({query})")

EXPERT_ACME = """
WITH e AS (
  SELECT e.lead_id, e.event, e.url, e.form, e.asset, epoch(p.as_of) - epoch(e.occurred_at) AS age
  FROM events e, scoring_params p
  WHERE e.occurred_at <= p.as_of
), w AS (
  SELECT *, pow(0.5, age / 2592000) AS w FROM e
), a AS (
  SELECT lead_id,
    least(10 * coalesce(sum(w) FILTER (event = 'page_view' AND contains(url, '/pricing')), 0), 30)
      + least(2 * coalesce(sum(w) FILTER (event = 'page_view' AND starts_with(url, '/docs/')), 0), 10)
      + coalesce(40 * pow(0.5, max(age) FILTER (event = 'form_submit'
          AND form IN ('demo_request', 'contact_sales')) / 2592000), 0)
      + coalesce(30 * pow(0.5, max(age) FILTER (event = 'form_submit' AND form = 'free_trial')
          / 2592000), 0)
      + least(10 * coalesce(sum(w) FILTER (event = 'webinar_attended'), 0), 20)
      + least(5 * coalesce(sum(w) FILTER (event = 'content_download'), 0), 15)
      + coalesce(15 * pow(0.5, max(age) FILTER (event = 'content_download'
          AND asset = 'roi_calculator') / 2592000), 0)
      + least(3 * coalesce(sum(w) FILTER (event = 'email_click'), 0), 15)
      + coalesce(-50 * pow(0.5, max(age) FILTER (event = 'unsubscribe') / 2592000), 0)
      AS engagement,
    count(*) FILTER (event = 'page_view' AND age <= 2592000) AS views_30d
  FROM w GROUP BY lead_id
), s AS (
  SELECT l.*, coalesce(a.views_30d, 0) AS views_30d, p.as_of,
    round_even(
        CASE WHEN industry IN ('saas', 'fintech', 'ecommerce') THEN 20 ELSE 0 END
      + CASE WHEN employees BETWEEN 50 AND 2000 THEN 20 ELSE 0 END
      + CASE WHEN country IN ('US', 'CA', 'GB', 'IE', 'DE', 'NL', 'FR', 'SE') THEN 10 ELSE 0 END
      + CASE WHEN regexp_matches(job_title,
          '(?i)(vp|vice president|head of|director|chief|founder)') THEN 15 ELSE 0 END
      + CASE WHEN monthly_tracked_users >= 0.1 THEN 10 ELSE 0 END
      + CASE WHEN suffix(email, '@gmail.com') OR suffix(email, '@yahoo.com')
          OR suffix(email, '@hotmail.com') OR suffix(email, '@outlook.com') THEN -30 ELSE 0 END
      + CASE WHEN recycle_count >= 2 THEN -10 ELSE 0 END, 2) AS fit,
    round_even(least(coalesce(a.engagement, 0), 100), 2) AS engagement
  FROM leads l LEFT JOIN a USING (lead_id), scoring_params p
), g AS (
  SELECT *, round_even(fit + engagement, 2) AS score,
    CASE WHEN fit >= 55 THEN 'A' WHEN fit >= 35 THEN 'B' WHEN fit >= 15 THEN 'C' ELSE 'D' END
      AS grade
  FROM s
)
SELECT lead_id, fit AS fit_score, engagement AS engagement_score, score AS lead_score,
  grade AS fit_grade,
  CASE
    WHEN contract_signed OR stage = 'customer' THEN 'customer'
    WHEN (opportunity_amount >= 5000 AND win_probability >= 20) OR stage = 'opportunity'
      THEN 'opportunity'
    WHEN (sql_accepted AND budget_confirmed AND authority_confirmed
          AND timeline IN ('this_quarter', 'next_quarter')
          AND date_diff('day', discovery_call_date, as_of::DATE) >= 0) OR stage = 'sql' THEN 'sql'
    WHEN sal_accepted OR stage = 'sal' THEN 'sal'
    WHEN (grade IN ('A', 'B') AND engagement >= 40 AND views_30d >= 2) OR stage = 'mql' THEN 'mql'
    ELSE 'inquiry'
  END AS stage
FROM g
"""


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return rss_mb()


# --- children: one measurement each ------------------------------------------------------------


def child_sql(db: str, query: str, threads: int, runs: int) -> dict:
    import duckdb

    con = duckdb.connect(db, read_only=True)
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SELECT count(*) FROM events").fetchall()
    base = current_rss_mb()
    check = CHECK.format(query=query)
    result = con.execute(check).fetchall()[0]          # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        con.execute(check).fetchall()
        times.append(time.perf_counter() - start)
    return {"seconds": min(times), "all": times, "peak_mb": rss_mb(), "base_mb": base,
            "check": [str(v) for v in result]}


def child_evaluator(db: str, policy: str, n_events: int) -> dict:
    import duckdb

    from alignctl.evaluator import compile_model, score_leads

    doc = make_synthetic.scoring_doc(Path(policy))
    con = duckdb.connect(db, read_only=True)
    per_lead = con.execute("SELECT count(*) / count(DISTINCT lead_id) FROM events").fetchone()[0]
    n_leads = max(1, int(n_events / per_lead))
    lead_ids = [f"L{i:07d}" for i in range(n_leads)]
    leads = _dicts(con, "SELECT * FROM leads WHERE lead_id <= ?", [lead_ids[-1]])
    events = _dicts(con, "SELECT * FROM events WHERE lead_id <= ?", [lead_ids[-1]])
    as_of = con.execute("SELECT as_of FROM scoring_params").fetchone()[0]
    con.close()
    base = current_rss_mb()
    compile_model(doc)
    start = time.perf_counter()
    scored = sum(1 for _ in score_leads(doc, leads, events, as_of))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "events": len(events), "leads": scored, "peak_mb": rss_mb(),
            "base_mb": base}


def _dicts(con, query: str, params: list) -> list[dict]:
    cursor = con.execute(query, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def run_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"measurement failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the parent -------------------------------------------------------------------------------


def database(policy: Path, doc: dict, n_leads: int, n_events: int) -> Path:
    import duckdb

    out = HERE / "out"
    out.mkdir(exist_ok=True)
    db = out / f"{policy.parent.name}-{n_leads}-{n_events}.duckdb"
    if not db.exists():
        print(f"generating {n_events:,} events for {n_leads:,} leads into {db} ...",
              file=sys.stderr)
        con = duckdb.connect(str(db))
        make_synthetic.generate(con, doc, n_leads, n_events)
        con.close()
    return db


def report(name: str, r: dict, n_events: int) -> None:
    rate = n_events / r["seconds"]
    print(f"{name:<22} {r['seconds']:7.3f} s  {rate / 1e6:7.2f} M events/s  "
          f"peak {r['peak_mb']:6.0f} MB (+{r['peak_mb'] - r['base_mb']:.0f} MB over the loaded "
          f"process)")


def main() -> None:
    ap = argparse.ArgumentParser(description="scoring speed: generated SQL, expert SQL, evaluator")
    ap.add_argument("policy", nargs="?", type=Path, default=make_synthetic.DEFAULT_POLICY)
    ap.add_argument("--leads", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--eval-events", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    from alignctl.targets import sql

    doc = make_synthetic.scoring_doc(args.policy)
    db = str(database(args.policy, doc, args.leads, args.events))
    print(f"{args.policy.parent.name}: {args.events:,} events, {args.leads:,} leads, "
          f"{args.threads} DuckDB threads, best of {args.runs}")
    generated = run_child("sql", db, sql.query(doc, "duckdb").sql("duckdb"), str(args.threads),
                          str(args.runs))
    report("generated SQL", generated, args.events)
    if args.policy.resolve() == make_synthetic.DEFAULT_POLICY.resolve():
        expert = run_child("sql", db, EXPERT_ACME, str(args.threads), str(args.runs))
        report("hand-written SQL", expert, args.events)
        same = "same scores" if expert["check"] == generated["check"] else \
            f"DIFFERENT scores: {expert['check']} vs {generated['check']}"
        print(f"generated / hand-written: {generated['seconds'] / expert['seconds']:.2f}x "
              f"(target <= 1.5x), {same}")
    evaluator = run_child("evaluator", db, str(args.policy), str(args.eval_events))
    print(f"{'reference evaluator':<22} {evaluator['seconds']:7.3f} s  "
          f"{evaluator['events'] / evaluator['seconds'] / 1e3:7.0f} k events/s "
          f"({evaluator['events']:,} events, {evaluator['leads']:,} leads; target >= 100k/s)  "
          f"peak {evaluator['peak_mb']:.0f} MB")


def child(argv: list[str]) -> None:
    kind, *rest = argv
    if kind == "sql":
        db, query, threads, runs = rest
        result = child_sql(db, query, int(threads), int(runs))
    else:
        db, policy, n_events = rest
        result = child_evaluator(db, policy, int(n_events))
    print(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
    else:
        main()
