"""The acme history with what the scoring reads: lead fields and the events behind each score.

    python examples/data/enrich.py          # reads history/leads.csv, writes replay/

`history/leads.csv` (simulate.py) says when each lead entered each stage; `diff --leads` and
`backtest` also need what the policy scores them on. This adds, per lead, firmographics that give
it its fit grade under the acme policy (the `fit_grade` column is rewritten to the grade they
give), the qualification answers and deal data its stages need (`sal_accepted`, `budget_confirmed`,
`opportunity_amount`, `contract_signed`, ...) and the web, email and form events behind its
engagement: a lead that became an MQL at time t has engagement between 42 and 95 just before t and
two page views in the 30 days before it; leads that went on to buy lean to the top of that range
(so a stricter MQL threshold drops mostly leads that never bought); A and B leads that stayed
inquiries stay below 40. Each lead has its own seeded generator, so the same history gives the
same bytes on any machine. Standard library only.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET_INDUSTRY = {"saas", "fintech", "ecommerce"}
GRADE_RANGE = {"A": (55, 999), "B": (35, 54), "C": (15, 34), "D": (-999, 14)}
REGIONS_IN = ("US", "CA", "GB", "DE", "NL", "FR", "SE", "IE")
REGIONS_OUT = ("BR", "IN", "JP", "AU", "ES", "IT", "MX")
TITLES_IN = ("VP Engineering", "Head of Product", "Director of Data", "CTO", "Founder",
             "Chief Product Officer")
TITLES_OUT = ("Product Manager", "Data Analyst", "Software Engineer", "Marketing Manager",
              "Student")
FIELDS = ["employees", "country", "job_title", "monthly_tracked_users", "email", "sal_accepted",
          "sql_accepted", "budget_confirmed", "authority_confirmed", "timeline",
          "discovery_call_date", "opportunity_amount", "win_probability", "contract_signed"]
EVENTS = ["lead_id", "event", "occurred_at", "url", "form", "asset"]
AS_OF = datetime(2026, 1, 5)
FMT = "%Y-%m-%d %H:%M:%S"


def ts(text: str) -> datetime | None:
    return datetime.strptime(text, FMT) if text else None


def firmographics(rng: random.Random, row: dict) -> dict:
    """Attributes whose fit points land in the lead's grade (the closest grade when none can)."""
    base = 20 if row["industry"] in TARGET_INDUSTRY else 0
    base -= 10 if int(row["recycle_count"] or 0) >= 2 else 0
    lo, hi = GRADE_RANGE[row["fit_grade"]]
    combos = []
    for mask in range(32):
        size, region, dm, scale, free = ((mask >> i) & 1 for i in range(5))
        total = base + 20 * size + 10 * region + 15 * dm + 10 * scale - 30 * free
        combos.append((max(lo - total, total - hi, 0), rng.random(), mask, total))
    _, _, mask, total = min(combos)
    size, region, dm, scale, free = ((mask >> i) & 1 for i in range(5))
    grade = next(g for g, (a, b) in GRADE_RANGE.items() if a <= total <= b)
    return {
        "employees": rng.randint(50, 2000) if size else rng.choice((rng.randint(2, 49),
                                                                   rng.randint(2001, 20000))),
        "country": rng.choice(REGIONS_IN if region else REGIONS_OUT),
        "job_title": rng.choice(TITLES_IN if dm else TITLES_OUT),
        "monthly_tracked_users": round(rng.uniform(0.1, 40), 2) if scale
        else round(rng.uniform(0.001, 0.09), 3),
        "email": f"{row['lead_id'].lower()}@" + (rng.choice(("gmail.com", "outlook.com"))
                                                  if free else "example.com"),
        "fit_grade": grade,
    }


def qualification(rng: random.Random, row: dict) -> dict:
    sql_at, opp_at = ts(row["sql_entered_at"]), ts(row["opportunity_entered_at"])
    out = {"sal_accepted": str(bool(row["sal_accepted_at"])).lower(),
           "sql_accepted": str(bool(row["sql_accepted_at"])).lower(),
           "contract_signed": str(bool(row["customer_entered_at"])).lower()}
    if sql_at:
        out |= {"budget_confirmed": "true", "authority_confirmed": "true",
                "timeline": rng.choice(("this_quarter", "next_quarter")),
                "discovery_call_date": (sql_at - timedelta(days=rng.randint(0, 3))).date()}
    elif row["sal_entered_at"]:
        out |= {"budget_confirmed": rng.choice(("true", "false")), "authority_confirmed": "false",
                "timeline": rng.choice(("this_year", "unknown"))}
    if opp_at:
        out |= {"opportunity_amount": rng.randrange(5000, 80000, 500),
                "win_probability": rng.randrange(20, 95, 5)}
    return out


def at(rng: random.Random, start: datetime, end: datetime) -> datetime:
    span = max(1, int((end - start).total_seconds()))
    return start + timedelta(seconds=rng.randrange(span))


def engagement_events(rng: random.Random, row: dict, grade: str) -> list[tuple]:
    """(occurred_at, event, url, form, asset) rows for one lead."""
    start, mql = ts(row["inquiry_entered_at"]), ts(row["mql_entered_at"])
    if start is None:
        return []
    end = min(AS_OF, ts(row["disqualified_at"]) or AS_OF)
    out = [(at(rng, start, max(end, start + timedelta(hours=1))), "email_click", "", "", "")
           for _ in range(rng.randint(0, 2))]
    out.append((start, "page_view", "/", "", ""))
    if mql and mql >= start:
        out += qualifying(rng, row, mql)
    elif grade in ("A", "B"):
        out += [(at(rng, start, start + timedelta(days=60)), "webinar_attended", "", "", "")
                for _ in range(rng.randint(0, 1))]
        out += [(at(rng, start, start + timedelta(days=90)), "page_view", "/docs/sdk", "", "")
                for _ in range(rng.randint(0, 2))]
    else:
        out += [(at(rng, start, start + timedelta(days=30)), "page_view", "/pricing", "", "")
                for _ in range(rng.randint(0, 3))]
        if rng.random() < 0.3:
            out.append((at(rng, start, start + timedelta(days=30)), "form_submit", "",
                        "demo_request", ""))
    if rng.random() < 0.03:
        out.append((at(rng, start, max(end, start + timedelta(hours=1))), "unsubscribe", "", "",
                    ""))
    return [e for e in out if e[0] <= AS_OF]


def qualifying(rng: random.Random, row: dict, mql: datetime) -> list[tuple]:
    """Events in the two days before `mql` worth `target` points at that time (decay is small)."""
    won = bool(row["customer_entered_at"])
    lost = bool(row["disqualified_at"])
    if won:
        target = rng.randint(52, 95)
    elif lost and rng.random() < 0.55:
        target = rng.randint(42, 49)
    else:
        target = rng.randint(42, 90)
    before = mql - timedelta(hours=48)
    out = [(at(rng, before, mql), "page_view", "/pricing", "", "") for _ in range(2)]
    points = 20
    for pts, times, event, url, form, asset in CHOICES:
        for _ in range(times):
            if points + pts > target:
                break
            out.append((at(rng, before, mql), event, url, form, asset))
            points += pts
    return out


# (points it adds, how often at most, event, url, form, asset); an roi_calculator download also
# counts for the content rule (15 + 5).
CHOICES = ((40, 1, "form_submit", "", "demo_request", ""),
           (30, 1, "form_submit", "", "free_trial", ""),
           (20, 1, "content_download", "", "", "roi_calculator"),
           (10, 2, "webinar_attended", "", "", ""),
           (10, 1, "page_view", "/pricing", "", ""),
           (5, 2, "content_download", "", "", "benchmark_report"),
           (3, 5, "email_click", "", "", ""))


def enrich(history: Path) -> dict[str, bytes]:
    with history.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    header = list(rows[0]) + [f for f in FIELDS if f not in rows[0]]
    leads, events = [], []
    seen = set()
    for row in rows:
        rng = random.Random(f"acme:{row['lead_id']}")
        out = dict(row) | firmographics(rng, row) | qualification(rng, row)
        leads.append([str(out.get(c, "")) for c in header])
        if row["lead_id"] in seen:
            continue
        seen.add(row["lead_id"])
        for when, *rest in engagement_events(rng, row, out["fit_grade"]):
            events.append((row["lead_id"], when.strftime(FMT), *rest))
    events.sort(key=lambda e: (e[1], e[0], e[2:]))
    return {"leads.csv": _csv(header, leads),
            "events.csv": _csv(EVENTS, ([lid, ev, when, *p] for lid, when, ev, *p in events))}


def _csv(header: list[str], rows) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--history", type=Path, default=HERE / "history" / "leads.csv")
    ap.add_argument("--out", type=Path, default=HERE / "replay")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in enrich(args.history).items():
        (args.out / name).write_bytes(data)
        print(f"wrote {args.out / name} ({len(data):,} bytes)")


if __name__ == "__main__":
    main()
