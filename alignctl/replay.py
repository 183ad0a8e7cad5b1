"""One policy's scoring run over a lead history: now, and replayed per policy period.

`open_side(policy, inputs)` loads the CRM export twice into one DuckDB connection: as
`alignctl score` reads it (`score.load`, the same columns and casts, kept as `score_in`/`ev_in`)
and as the report's lead history (`alignctl.history`, kept as `hist`: stage timestamps, flags).
Then it runs the policy's own scoring SQL (`targets/sql.py`, with `detail=True` so each stage's
entry and each rule's points come along unchanged) into:

- `now`: every lead as of `as_of`, exactly the rows `alignctl score` writes (so counts agree);
- `replay`: one scoring run per period end (period 0 is the window's start, a baseline that is
  not reported), on leads that had entered the first stage by then, each starting at the first
  stage, with `<stage>_accepted` true once `<stage>_accepted_at` (else `<stage>_entered_at`) has
  passed and events up to that time. Lead fields keep their exported values: an export has no
  field history.

Everything else (`impact`, `backtest`) is SQL over those tables. Cost: one DuckDB pass per period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from alignctl.compiler import ir

MAX_PERIODS = 26


class ReplayError(Exception):
    """Inputs that cannot be scored (exit 2); the message says which and why."""


@dataclass(frozen=True)
class Inputs:
    leads: Path
    events: Path | None = None
    as_of: datetime | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    periods: int = MAX_PERIODS


@dataclass
class Side:
    """One policy scored over the history; tables `now`, `replay`, `hist` in `con`."""

    policy: ir.Policy
    doc: dict
    con: object
    as_of: datetime
    periods: list[tuple[datetime, datetime]]       # (start, end) of each reported period
    issues: list = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    replayable: str | None = None                  # why not, when the replay cannot run
    history: object = None                         # the alignctl.history.History

    def sql(self, query: str, params=None) -> list:
        cur = self.con.execute(query, params) if params is not None else self.con.execute(query)
        return cur.fetchall()

    @property
    def stage_ids(self) -> list[str]:
        return [s.id for s in self.policy.stages]

    def won_stage(self) -> str | None:
        return next((s.id for s in self.policy.stages if s.terminal == "won"), None)


def open_side(policy: ir.Policy, inputs: Inputs, *, as_of: datetime | None = None,
              periods: list[tuple[datetime, datetime]] | None = None,
              replay: bool = True) -> Side:
    """Load, score now, and (with `replay`) score per period. `as_of`/`periods` default to the
    data's (the latest timestamp in it; the periods up to it), so a second side can share them."""
    import duckdb

    from alignctl.columns import ColumnError
    from alignctl.commands.score import InputError
    from alignctl.history import HistoryError

    try:
        return _open(policy, inputs, as_of or inputs.as_of, periods, replay)
    except (InputError, HistoryError, ColumnError) as exc:
        raise ReplayError(str(exc)) from None
    except duckdb.Error as exc:
        raise ReplayError(f"cannot score these inputs: {str(exc).strip().splitlines()[0]}"
                          ) from None


def _open(policy, inputs: Inputs, as_of, periods, replay: bool) -> Side:
    from alignctl import history
    from alignctl.columns import Columns
    from alignctl.commands import score
    from alignctl.targets.scoring_model import build

    doc = build(policy)
    con = history.connect()
    notes = []
    events = inputs.events
    if events is None:
        events = _empty_events(con, doc)
        if doc["inputs"]["events"]["event"]["values"]:
            notes.append("no --events: every engagement score is 0")
    try:
        score.load(con, doc, inputs.leads, events, as_of or datetime(1970, 1, 1),
                   Columns(policy, inputs.mapping))
        for name in ("leads", "events"):
            con.execute(f"CREATE TABLE {_IN[name]} AS SELECT * FROM {name}")
            con.execute(f"DROP VIEW {name}")
            con.execute(f"DROP VIEW IF EXISTS raw_{name}")
    finally:
        if inputs.events is None:
            events.unlink(missing_ok=True)
    h = history.load(policy, inputs.leads, mapping=inputs.mapping, con=con)
    con.execute("ALTER TABLE leads RENAME TO hist")
    con.execute("CREATE VIEW leads AS SELECT * FROM score_in")
    con.execute("CREATE VIEW events AS SELECT * FROM ev_in")
    side = Side(policy, doc, con, as_of or _latest(con, h), [], h.issues, notes, history=h)
    _set_as_of(side, side.as_of)
    con.execute(f"CREATE TABLE now AS {_query(doc)}")
    first = f"{policy.stages[0].id}_entered_at"
    if not h.has(first):
        side.replayable = f"needs column {first} (when each lead entered the funnel)"
        return side
    side.periods = periods if periods is not None else window(con, policy, side.as_of,
                                                               inputs.periods)
    if replay:
        _replay(side, h)
    return side


_IN = {"leads": "score_in", "events": "ev_in"}


def _empty_events(con, doc: dict) -> Path:
    """No events file: an empty one with the columns the scoring reads."""
    import tempfile

    cols = list(doc["inputs"]["events"])
    fd, name = tempfile.mkstemp(suffix=".csv", prefix="alignctl-events-")
    with open(fd, "w", encoding="utf-8") as fh:
        fh.write(",".join(cols) + "\n")
    return Path(name)


def _query(doc: dict, tables: dict | None = None) -> str:
    from alignctl.targets.sql import query

    return query(doc, "duckdb", tables, detail=True).sql("duckdb")


def _set_as_of(side: Side, when: datetime) -> None:
    side.con.execute("DELETE FROM scoring_params")
    side.con.execute("INSERT INTO scoring_params VALUES (?)", [when])


def _latest(con, h) -> datetime:
    """The latest timestamp in the data: events, stage entries, disqualifications (not due
    dates, which lie ahead)."""
    cols = [c for c, kind in _ts_columns(h) if kind]
    parts = ["SELECT max(occurred_at) AS t FROM ev_in"]
    parts += [f'SELECT max("{c}") FROM hist' for c in cols]
    got = con.execute(f"SELECT max(t) FROM ({' UNION ALL '.join(parts)})").fetchone()[0]
    if got is None:
        raise ReplayError("the inputs hold no timestamps to score as of; pass --as-of")
    return got


def _ts_columns(h) -> list[tuple[str, bool]]:
    from alignctl import history

    return [(c, kind == history.TS and h.has(c) and not c.endswith("_due_at"))
            for c, kind in history.canonical(h.policy).items()]


# --- periods -------------------------------------------------------------------------------------

def period_start(when: datetime, period: str) -> datetime:
    day = datetime(when.year, when.month, when.day)
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)


def next_start(start: datetime, period: str) -> datetime:
    if period == "week":
        return start + timedelta(days=7)
    months = 1 if period == "month" else 3
    y, m = divmod(start.month - 1 + months, 12)
    return start.replace(year=start.year + y, month=m + 1)


def window(con, policy: ir.Policy, as_of: datetime, limit: int) -> list[tuple[datetime, datetime]]:
    """The policy periods from the first lead's entry to `as_of`, the last `limit` of them."""
    first = f'"{policy.stages[0].id}_entered_at"'
    lo = con.execute(f"SELECT min({first}) FROM hist WHERE ok AND {first} <= ?",
                     [as_of]).fetchone()[0]
    if lo is None:
        return []
    out, start = [], period_start(lo, policy.meta.period)
    while start < as_of:
        end = next_start(start, policy.meta.period)
        out.append((start, min(end, as_of)))
        start = end
    return out[-limit:] if limit > 0 else out


# --- the replay ----------------------------------------------------------------------------------

def _replay(side: Side, h) -> None:
    con, policy = side.con, side.policy
    first = policy.stages[0]
    replace = [f"'{first.id}' AS stage"]
    for s in policy.stages:
        col = f"{s.id}_accepted"
        if col not in side.doc["inputs"]["leads"]:
            continue
        at = [f'h."{c}"' for c in (f"{s.id}_accepted_at", f"{s.id}_entered_at") if h.has(c)]
        if at:
            replace.append(f"coalesce(coalesce({', '.join(at)}) <= p.as_of, false) AS {col}")
    con.execute("CREATE TABLE score_one AS SELECT * FROM score_in "
                "QUALIFY row_number() OVER (PARTITION BY lead_id ORDER BY rowid) = 1")
    con.execute(f"""CREATE VIEW replay_leads AS SELECT i.* REPLACE ({', '.join(replace)})
        FROM score_one i JOIN hist h ON h.lead_id = i.lead_id AND h.ok AND NOT h.dup
        CROSS JOIN scoring_params p WHERE h."{first.id}_entered_at" <= p.as_of""")
    from sqlglot import exp

    sql = _query(side.doc, {"leads": exp.to_table("replay_leads")})
    ends = [side.periods[0][0]] + [end for _, end in side.periods] if side.periods else []
    for k, end in enumerate(ends):
        _set_as_of(side, end)
        verb = "CREATE TABLE replay AS" if k == 0 else "INSERT INTO replay"
        con.execute(f"{verb} SELECT {k} AS period, q.* FROM ({sql}) q")
    _set_as_of(side, side.as_of)
    if not ends:
        side.replayable = "no lead entered the funnel before the as-of time"


def stage_case(side: Side, column: str = "stage") -> str:
    """SQL: the stage's index (0 for an unknown stage)."""
    whens = " ".join(f"WHEN '{s.id}' THEN {s.index}" for s in side.policy.stages)
    return f"(CASE {column} {whens} ELSE 0 END)"


def entries(side: Side) -> dict[tuple[str, int], int]:
    """(stage, period) -> leads whose replayed stage first reached `stage` in that period.
    Forward only: a lead's stage is the furthest it reached by then."""
    if side.replayable or not side.periods:
        return {}
    rows = side.sql(f"""WITH r AS (SELECT lead_id, period, max({stage_case(side)}) OVER
            (PARTITION BY lead_id ORDER BY period) AS reached FROM replay),
        firsts AS (SELECT lead_id, s.i, min(period) FILTER (WHERE reached >= s.i) AS p
            FROM r CROSS JOIN range(1, {len(side.policy.stages)}) s(i) GROUP BY ALL)
        SELECT i, p, count(*) FROM firsts WHERE p >= 1 GROUP BY ALL""")
    ids = side.stage_ids
    return {(ids[i], p): n for i, p, n in rows}


def recorded(side: Side) -> dict[tuple[str, int], int]:
    """(stage, period) -> leads the export says entered the stage in that period (1-based)."""
    out: dict[tuple[str, int], int] = {}
    for s in side.policy.stages[1:]:
        column = f"{s.id}_entered_at"
        if not side.history.has(column):
            continue
        for k, (start, end) in enumerate(side.periods, 1):
            out[(s.id, k)] = side.sql(f'SELECT count(*) FROM hist WHERE ok AND "{column}" >= ? '
                                      f'AND "{column}" < ?', [start, end])[0][0]
    return out
