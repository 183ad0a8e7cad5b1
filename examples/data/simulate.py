"""A seeded simulation of the acme-saas funnel: the CRM export `alignctl report` reads.

    python examples/data/simulate.py                   # examples/data/history/, 26 weeks
    python examples/data/simulate.py --leads 1000000 --out /tmp/big

The window is the 26 weeks from 2025-07-07; inquiries from the three weeks before it are in the
export too (they feed the window's first MQLs), so report on it with `--from 2025-07-07`.
Inquiries arrive at the plan's 500 a week with noise and three busy weeks (a webinar, an event, a
list import); fit grade drives every conversion; MQLs are handed to six SDRs whose accept and
first-touch times stretch when a week brings more MQLs than they can work (the accept SLA breaks
in busy weeks); the SDRs accept ~62 % (the plan says 70 %); rejections and disqualifications carry
reasons; contact attempts are activity rows; disqualified leads get a `recycle_on`, and some
inquiries are recycled leads coming back (a few past `max_recycles`). Events after the as-of time
(the end of the window) have not happened yet, so recent cohorts are still maturing. As in any
real export, a few rows are broken: timestamps out of order, a stage the policy does not have,
a duplicated lead id.

Only the standard library: the same seed gives the same bytes on any machine.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
from datetime import datetime, timedelta
from pathlib import Path

START = datetime(2025, 7, 7)                 # a Monday
WEEKS = 26
WARMUP = 3                                   # weeks of inquiries before the window starts
PER_WEEK = 500
BUSY = {8: 1.6, 17: 1.5, 22: 1.7}            # week index -> inquiry multiplier
SDRS = [f"sdr-{i}" for i in range(1, 7)]
AES = [f"ae-{i:02d}" for i in range(1, 11)]
GRADES = (("A", 0.20, 60), ("B", 0.35, 42), ("C", 0.30, 25), ("D", 0.15, 8))
P_MQL = {"A": 0.45, "B": 0.31}
P_ACCEPT = {"A": 0.70, "B": 0.57}            # SDR accepts the MQL (plan: 0.70 overall)
P_HANDED = {"A": 0.62, "B": 0.52}            # the SDR hands the SAL to an AE ...
P_AE_ACCEPT = 0.78                           # ... who accepts it: SAL -> SQL ~0.45
P_OPP = 0.70
P_WON = {"A": 0.36, "B": 0.22}
SOURCES = (("organic_search", 0.25), ("paid_search", 0.2), ("paid_social", 0.15),
           ("webinar", 0.12), ("event", 0.08), ("partner_referral", 0.06),
           ("content_syndication", 0.09), ("list_import", 0.05))
INDUSTRIES = ("saas", "fintech", "ecommerce", "media", "healthcare", "other")
MQL_REJECT = (("bad_fit", 0.35), ("duplicate", 0.1), ("not_ready", 0.3),
              ("competitor_contract", 0.1), ("no_response", 0.15))
SAL_DROP = (("no_response", 0.45), ("not_ready", 0.35), ("bad_fit", 0.2))
AE_REJECT = (("not_ready", 0.4), ("no_budget", 0.35), ("competitor_contract", 0.25))
RECYCLE_DAYS = {"not_ready": 90, "no_budget": 120, "no_response": 60, "lost_deal": 180}
SDR_WEEK = 120                               # leads the SDRs can work a week (the policy's)

COLUMNS = ["lead_id", "lead_source", "industry", "fit_grade", "lead_score", "lifecycle_stage",
           "owner", "owner_team", "inquiry_entered_at", "mql_entered_at", "sal_accept_due_at",
           "sal_accepted_at", "sal_first_touch_at", "sal_entered_at", "sql_accept_due_at",
           "sql_accepted_at", "sql_first_touch_at", "sql_entered_at", "opportunity_entered_at",
           "customer_entered_at", "disqualified_at", "disqualification_reason", "recycle_on",
           "recycle_count", "contract_renewal_date"]
STAGE_OWNER = {"inquiry": "marketing", "mql": "marketing", "sal": "sdr", "sql": "ae",
               "opportunity": "ae", "customer": "ae"}


def pick(rng: random.Random, table) -> str:
    x, acc = rng.random(), 0.0
    for value, weight in table:
        acc += weight
        if x < acc:
            return value
    return table[-1][0]


def hours(h: float) -> timedelta:
    return timedelta(seconds=round(h * 3600))


class Sim:
    def __init__(self, seed: int, weeks: int, per_week: float) -> None:
        self.rng = random.Random(seed)
        self.weeks, self.per_week = weeks, per_week
        self.as_of = START + timedelta(weeks=weeks)
        self.leads: list[dict] = []
        self.activities: list[tuple[str, str, datetime]] = []
        self.mql_load: dict[int, int] = {}
        self.made: dict[str, tuple[int, datetime]] = {}

    def run(self) -> None:
        n = 0
        for week in range(-WARMUP, self.weeks):
            count = max(0, round(self.rng.gauss(self.per_week * BUSY.get(week, 1.0),
                                                self.per_week * 0.08)))
            for _ in range(count):
                n += 1
                at = START + timedelta(weeks=week, seconds=self.rng.randrange(7 * 86400))
                self.lead(f"L{n:07d}", at)

    def known(self, when: datetime | None) -> datetime | None:
        """A timestamp only if it has happened by the as-of time."""
        return when if when is not None and when <= self.as_of else None

    def lead(self, lead_id: str, at: datetime) -> None:
        rng = self.rng
        grade = pick(rng, [(g, p) for g, p, _ in GRADES])
        fit = dict((g, s) for g, _, s in GRADES)[grade] + rng.randrange(-6, 7)
        recycled = rng.random() < 0.08
        row = {"lead_id": lead_id, "lead_source": pick(rng, SOURCES),
               "industry": rng.choice(INDUSTRIES), "fit_grade": grade,
               "lead_score": fit + rng.randrange(0, 60), "inquiry_entered_at": at,
               "recycle_count": (1 + min(int(rng.expovariate(1.6)), 4)) if recycled else 0,
               "lifecycle_stage": "inquiry"}
        self.leads.append(row)
        p_mql = P_MQL.get(grade, 0.0) * (1.25 if recycled else 1.0)
        if rng.random() >= p_mql:
            if rng.random() < 0.04:
                self.disqualify(row, at + hours(rng.uniform(24, 24 * 60)),
                                pick(rng, (("bad_fit", 0.7), ("duplicate", 0.3))))
            return
        self.mql(row, grade, at + hours(rng.expovariate(1 / 96)))

    def mql(self, row: dict, grade: str, at: datetime) -> None:
        rng = self.rng
        if self.known(at) is None:
            return
        row.update(mql_entered_at=at, lifecycle_stage="mql",
                   sal_accept_due_at=at + timedelta(hours=24))
        week = (at - START).days // 7
        self.mql_load[week] = self.mql_load.get(week, 0) + 1
        busy = self.busy(week)
        owner = rng.choice(SDRS)
        decide = at + hours(rng.lognormvariate(1.8, 0.7) * (4.5 if busy else 1.0))
        touch = at + hours(rng.lognormvariate(-0.6, 1.3) * (5.0 if busy else 1.0))
        never = rng.random() < 0.04
        if not never:
            row["sal_first_touch_at"] = self.known(touch)
            self.attempts(row["lead_id"], touch, rng.randint(1, 7))
        if self.known(decide) is None:
            return
        row.update(owner=owner)
        if rng.random() < P_ACCEPT[grade]:
            row.update(sal_accepted_at=decide, sal_entered_at=decide, lifecycle_stage="sal")
            self.sal(row, grade, decide)
        else:
            reason = pick(rng, MQL_REJECT)
            self.disqualify(row, decide, reason)

    def busy(self, week: int) -> bool:
        """A week that brings the SDRs more MQLs than their capacity (at the plan's MQL rate)."""
        return BUSY.get(week, 1.0) * self.per_week * 0.2 > SDR_WEEK

    def attempts(self, lead_id: str, first: datetime, n: int) -> None:
        when = first
        for i in range(n):
            if self.known(when) is None:
                return
            self.activities.append((lead_id, "call" if i % 2 == 0 else "email", when))
            self.made[lead_id] = (self.made.get(lead_id, (0, when))[0] + 1, when)
            when += hours(self.rng.uniform(8, 40))

    def chase(self, lead_id: str, until: datetime) -> None:
        """Before `no_response`, the SDR makes most of the SLA's 6 attempts (not always all)."""
        if lead_id not in self.made:
            return                              # never touched: no attempts at all
        made, last = self.made[lead_id]
        for i in range(made, self.rng.choice((4, 5, 6, 6, 6, 7))):
            last = min(last + hours(self.rng.uniform(4, 30)), until)
            self.activities.append((lead_id, "call" if i % 2 == 0 else "email", last))

    def sal(self, row: dict, grade: str, at: datetime) -> None:
        rng = self.rng
        handed = at + hours(rng.uniform(24, 24 * 6))
        if rng.random() >= P_HANDED[grade]:
            reason = pick(rng, SAL_DROP)
            self.disqualify(row, handed + hours(rng.uniform(24, 120)), reason)
            return
        if self.known(handed) is None:
            return
        row.update(sql_accept_due_at=handed + timedelta(hours=48), owner=rng.choice(AES))
        decide = handed + hours(rng.lognormvariate(2.6, 0.8))
        touch = handed + hours(rng.lognormvariate(1.8, 0.9))
        row["sql_first_touch_at"] = self.known(touch)
        self.attempts(row["lead_id"], touch, rng.randint(1, 5))
        if self.known(decide) is None:
            return
        if rng.random() >= P_AE_ACCEPT:
            self.disqualify(row, decide, pick(rng, AE_REJECT))
            return
        row.update(sql_accepted_at=decide, sql_entered_at=decide, lifecycle_stage="sql")
        opp = decide + hours(rng.lognormvariate(4.9, 0.6))
        if rng.random() >= P_OPP or self.known(opp) is None:
            return
        row.update(opportunity_entered_at=opp, lifecycle_stage="opportunity")
        close = opp + hours(rng.lognormvariate(6.7, 0.5))
        if self.known(close) is None:
            return
        if rng.random() < P_WON[grade]:
            row.update(customer_entered_at=close, lifecycle_stage="customer")
        else:
            self.disqualify(row, close, "lost_deal")

    def disqualify(self, row: dict, at: datetime, reason: str) -> None:
        if self.known(at) is None:
            return
        row.update(disqualified_at=at, disqualification_reason=reason)
        if reason == "no_response":
            self.chase(row["lead_id"], at)
        if reason in RECYCLE_DAYS:
            row["recycle_on"] = (at + timedelta(days=RECYCLE_DAYS[reason])).date()
        elif reason == "competitor_contract":
            renewal = (at + timedelta(days=self.rng.randrange(120, 400))).date()
            row.update(contract_renewal_date=renewal, recycle_on=renewal - timedelta(days=90))

    def finish(self) -> None:
        for row in self.leads:
            stage = row["lifecycle_stage"]
            row["owner_team"] = STAGE_OWNER[stage]
            if STAGE_OWNER[stage] == "marketing":
                row.pop("owner", None)
        self.break_some()

    def break_some(self) -> None:
        """The data-quality problems of a real export, about one row in 500."""
        rng, rows = self.rng, self.leads
        for row in rng.sample(rows, len(rows) // 500):
            if row.get("mql_entered_at"):
                row["mql_entered_at"] = row["inquiry_entered_at"] - timedelta(days=2)
        for row in rng.sample(rows, max(1, len(rows) // 2000)):
            row["lifecycle_stage"] = "nurture"
        for row in rng.sample(rows, max(1, len(rows) // 2000)):
            rows.append(dict(row))


def cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def to_csv(header: list[str], rows) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def simulate(seed: int = 11, weeks: int = WEEKS, per_week: float = PER_WEEK
             ) -> dict[str, bytes]:
    """File name -> bytes: leads.csv and activities.csv."""
    sim = Sim(seed, weeks, per_week)
    sim.run()
    sim.finish()
    leads = ([cell(r.get(c)) for c in COLUMNS] for r in sim.leads)
    acts = ([lid, kind, cell(at)] for lid, kind, at in sorted(sim.activities,
                                                              key=lambda a: (a[2], a[0])))
    return {"leads.csv": to_csv(COLUMNS, leads),
            "activities.csv": to_csv(["lead_id", "type", "occurred_at"], acts)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "history")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--weeks", type=int, default=WEEKS)
    ap.add_argument("--leads", type=int, help="about this many leads in all (default: the plan)")
    args = ap.parse_args()
    per_week = (args.leads / (args.weeks + WARMUP) / (1 + 0.8 / args.weeks) if args.leads
                else PER_WEEK)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in simulate(args.seed, args.weeks, per_week).items():
        (args.out / name).write_bytes(data)
        print(f"wrote {args.out / name} ({len(data):,} bytes)")


if __name__ == "__main__":
    main()
