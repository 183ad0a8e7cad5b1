"""Lead history: a CRM export (one row per lead, plus optional activities) read into DuckDB.

`load(policy, leads, activities=..., mapping=...)` reads CSV or Parquet, finds each canonical
column with `alignctl.columns` (policy ids, the platform names the `crm` build gives, an explicit
mapping from `report.columns:` or `--columns`) and materialises one DuckDB table `leads` with
canonical names and types, every canonical column present (NULL when the input lacks it), and
the data-quality flags. What it returns, `History`, is all a reader needs:

    h = load(policy, Path("leads.csv"))
    h.con.sql("SELECT count(*) FROM leads WHERE ok")     # rows the figures may use
    h.missing("sla:sal")      # () when measurable, else the input columns it needs
    h.issues                  # data-quality findings: kind, count, example lead ids

Canonical columns (see `canonical`): `lead_id`; `<stage>_entered_at` per stage;
`lifecycle_stage`, `owner`, `owner_team`; per handoff into S, `S_accept_due_at`, `S_accepted_at`,
`S_first_touch_at`, `S_attempts`; `disqualified_at`, `disqualification_reason`, `recycle_on`,
`recycle_count`; `fit_grade`, `lead_score`; and every policy field (as text, for segments).
`S_attempts` and `S_first_touch_at` are rolled up from `activities` rows (`lead_id, type,
occurred_at`) when the leads file lacks them: the activities from the handoff (`handoff_time`)
until the next handoff. Timestamps are naive UTC.

Flags: `dup` (a lead id seen on an earlier row; the first row is kept), `out_of_order` (entered
a later stage before an earlier one), `bad_stage`, `bad_reason`, `bad_time` (a value that is not
a timestamp). `ok` is none of `dup`, `out_of_order`, `bad_stage`, `bad_time`; an unknown reason
only leaves the lead out of the disqualification figures (`reason_ok`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from alignctl.compiler import ir

EXAMPLES = 5                     # example lead ids kept per data-quality kind
TS, INT, NUM, TEXT, DATE = "timestamp", "integer", "number", "text", "date"


class HistoryError(Exception):
    """An input that cannot be read at all (exit 2); the message says which and why."""


@dataclass(frozen=True)
class Issue:
    """One data-quality finding: what is wrong, on how many rows, and a few lead ids."""

    kind: str
    count: int
    examples: tuple[str, ...]
    message: str
    first_row: int | None = None      # 1-based data row of the first example (header not counted)


@dataclass
class History:
    """A loaded history: the DuckDB connection holding table `leads`, what was found where."""

    con: object
    policy: ir.Policy
    source: dict[str, str]            # canonical column -> input header (or "activities")
    rows: int
    issues: list[Issue] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)   # "leads"/"activities" -> path

    def has(self, column: str) -> bool:
        return column in self.source

    def missing(self, section: str) -> tuple[str, ...]:
        """The canonical columns `section` needs that the input lacks ("" for none)."""
        return tuple(c for c in needs(self.policy, section) if not self.has(c))


# --- the canonical columns --------------------------------------------------------------------

def canonical(policy: ir.Policy) -> dict[str, str]:
    """canonical column -> kind, in a stable order."""
    cols = {"lead_id": TEXT, "lifecycle_stage": TEXT, "owner": TEXT, "owner_team": TEXT}
    cols |= {f"{s.id}_entered_at": TS for s in policy.stages}
    for s in handoff_stages(policy):
        cols |= {f"{s}_accept_due_at": TS, f"{s}_accepted_at": TS, f"{s}_first_touch_at": TS,
                 f"{s}_attempts": INT}
    cols |= {"disqualified_at": TS, "disqualification_reason": TEXT, "recycle_on": DATE,
             "recycle_count": INT, "fit_grade": TEXT, "lead_score": NUM}
    for f in policy.fields.values():
        cols.setdefault(f.id, TEXT)
    return cols


def handoff_stages(policy: ir.Policy) -> list[str]:
    return list(dict.fromkeys(h.to_stage for h in policy.handoffs))


def reason_field(policy: ir.Policy) -> str:
    d = policy.disqualification
    return d.field if d else "disqualification_reason"


def needs(policy: ir.Policy, section: str) -> tuple[str, ...]:
    """Columns a section needs. Sections: volumes, conversion, `sla:<stage>`, `capacity:<team>`,
    quality, recycling. (`conversion` needs two stages; see `report` for per-pair needs.)"""
    first = f"{policy.stages[0].id}_entered_at" if policy.stages else "lead_id"
    kind, _, subject = section.partition(":")
    if kind == "volumes":
        return (first,)
    if kind == "conversion":
        return tuple(f"{s.id}_entered_at" for s in policy.stages[:2])
    if kind == "sla":
        h = next(h for h in policy.handoffs if h.to_stage == subject)
        return (f"{h.from_stage}_entered_at", f"{subject}_accepted_at")
    if kind == "capacity":
        froms = [h.from_stage for h in policy.handoffs
                 if (st := policy.stage(h.to_stage)) and st.owner == subject]
        return tuple(f"{f}_entered_at" for f in froms[:1])
    if kind == "quality":
        return (first, "fit_grade")
    if kind == "recycling":
        return ("disqualification_reason", "recycle_count")
    raise KeyError(section)


# --- loading ----------------------------------------------------------------------------------

def connect():
    import duckdb

    con = duckdb.connect()
    _run(con, "SET TimeZone = 'UTC'")
    _run(con, "SET enable_progress_bar = true")
    _run(con, "SET enable_progress_bar_print = false")
    return con


def load(policy: ir.Policy, leads: Path, *, activities: Path | None = None,
         mapping: Mapping[str, str] | None = None, con=None) -> History:
    """Read the export into table `leads` (see the module docstring). Raises HistoryError for an
    unreadable file or a missing `lead_id`, `alignctl.columns.ColumnError` on ambiguous columns."""
    import duckdb

    from alignctl.columns import Columns

    con = con or connect()
    cols = canonical(policy)
    raw = _read(con, leads, "leads")
    raw.create_view("raw_leads")
    wanted = [c for c in cols if c != "disqualification_reason"] + [reason_field(policy)]
    found = Columns(policy, mapping).find(raw.columns, wanted, what=f"--leads `{leads}`")
    if reason_field(policy) in found:
        found["disqualification_reason"] = found.pop(reason_field(policy))
    if "lead_id" not in found:
        raise HistoryError(f"--leads `{leads}` has no lead id column (`lead_id`, or the CRM's "
                           f"`Id`/`hs_object_id`); it has: {', '.join(raw.columns) or 'none'}")
    try:
        types = dict(zip(raw.columns, map(str, raw.dtypes), strict=True))
        _run(con, _typed_sql(cols, found, types))
        if activities is not None:
            _activities(con, policy, activities, found)
        _run(con, _flag_sql(policy, cols))
        rows = _run(con, "SELECT count(*) FROM leads")[0][0]
    except duckdb.Error as exc:
        from alignctl.commands.score import first_line

        raise HistoryError(f"cannot read these inputs: {first_line(exc)}") from None
    files = {"leads": str(leads)} | ({"activities": str(activities)} if activities else {})
    h = History(con, policy, found, rows, files=files)
    h.issues = _issues(h)
    return h


def _read(con, path: Path, name: str):
    """The input as `alignctl score` reads it: CSV as text, or Parquet by its types."""
    from alignctl.commands.score import InputError, read

    try:
        return read(con, path, name)
    except InputError as exc:
        raise HistoryError(str(exc)) from None


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(src: str) -> str:
    return f"NULLIF(trim(CAST({src} AS VARCHAR)), '')"


def _ts_from_text(text: str) -> str:
    """Text to naive UTC: an ISO offset (`Z`, `+02:00`, `-0500`) is honoured, the rest is UTC;
    only values that carry an offset pay for the time-zone conversion."""
    offset = (f"(right({text}, 1) IN ('Z', 'z') OR (length({text}) > 19 AND "
              f"(substr({text}, length({text}) - 5, 1) IN ('+', '-') OR "
              f"substr({text}, length({text}) - 4, 1) IN ('+', '-') OR "
              f"substr({text}, length({text}) - 2, 1) IN ('+', '-'))))")
    return (f"CASE WHEN {offset} THEN CAST(TRY_CAST({text} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' "
            f"AS TIMESTAMP) ELSE TRY_CAST({text} AS TIMESTAMP) END")


def _cast(kind: str, src: str, dtype: str = "VARCHAR") -> str:
    """A cast that yields NULL for a value it cannot read; typed Parquet columns pass through."""
    col, dtype = _q(src), str(dtype).upper()
    if kind == TS and dtype.startswith("TIMESTAMP WITH TIME ZONE"):
        return f"CAST({col} AT TIME ZONE 'UTC' AS TIMESTAMP)"
    if kind == TS and (dtype.startswith("TIMESTAMP") or dtype == "DATE"):
        return f"CAST({col} AS TIMESTAMP)"
    text = _text(col)
    if kind == TS:
        return _ts_from_text(text)
    if kind == DATE:
        return f"CAST(TRY_CAST({text} AS TIMESTAMP) AS DATE)"
    if kind == INT:
        return f"CAST(TRY_CAST({text} AS DOUBLE) AS BIGINT)"
    if kind == NUM:
        return f"TRY_CAST({text} AS DOUBLE)"
    return text


_SQL_TYPES = {TS: "TIMESTAMP", DATE: "DATE", INT: "BIGINT", NUM: "DOUBLE", TEXT: "VARCHAR"}


def _typed_sql(cols: dict[str, str], found: dict[str, str], types: dict[str, str]) -> str:
    """Canonical, typed columns; `bad_time` where a text date or time did not parse (each
    value is cast once: the inner query keeps the text beside its cast)."""
    inner, outer, bad = ["row_number() OVER () AS _row"], ["_row"], []
    for i, (c, kind) in enumerate(cols.items()):
        if c not in found:
            outer.append(f"CAST(NULL AS {_SQL_TYPES[kind]}) AS {_q(c)}")
            continue
        dtype = types.get(found[c], "VARCHAR")
        inner.append(f"{_cast(kind, found[c], dtype)} AS {_q(c)}")
        outer.append(_q(c))
        if kind in (TS, DATE) and str(dtype).upper() == "VARCHAR":
            inner.append(f"{_text(_q(found[c]))} AS _raw{i}")
            bad.append(f"(_raw{i} IS NOT NULL AND {_q(c)} IS NULL)")
    outer.append(f"({' OR '.join(bad) or 'false'}) AS bad_time")
    return (f"CREATE TABLE typed AS SELECT {', '.join(outer)} FROM "
            f"(SELECT {', '.join(inner)} FROM raw_leads)")


def _activities(con, policy: ir.Policy, path: Path, found: dict[str, str]) -> None:
    """Roll activity rows up to `S_attempts` / `S_first_touch_at` where the leads lack them: the
    activities from the handoff (`handoff_time`) until the next handoff."""
    from alignctl.columns import Columns

    raw = _read(con, path, "activities")
    raw.create_view("raw_activities")
    got = Columns(policy).find(raw.columns, ["lead_id", "type", "occurred_at"],
                               what=f"--activities `{path}`")
    lacking = [c for c in ("lead_id", "occurred_at") if c not in got]
    if lacking:
        raise HistoryError(f"--activities `{path}` lacks {', '.join(lacking)}; it has: "
                           f"{', '.join(raw.columns)}")
    types = dict(zip(raw.columns, map(str, raw.dtypes), strict=True))
    _run(con, f"CREATE TABLE activities AS SELECT CAST({_q(got['lead_id'])} AS VARCHAR) AS "
              f"lead_id, {_cast(TS, got['occurred_at'], types[got['occurred_at']])} AS "
              f"occurred_at FROM raw_activities")
    hands = list(policy.handoffs)
    for i, h in enumerate(hands):
        to, has = h.to_stage, found.__contains__
        start = handoff_time(h, has, "t.")
        later = handoff_time(hands[i + 1], has, "t.") if i + 1 < len(hands) else None
        nxt = later or "NULL"
        sets = []
        if f"{to}_attempts" not in found:
            sets.append((f"{to}_attempts", "count(a.occurred_at)"))
        if f"{to}_first_touch_at" not in found:
            sets.append((f"{to}_first_touch_at", "min(a.occurred_at)"))
        if not sets or start is None:
            continue
        agg = ", ".join(f"{e} AS v{j}" for j, (_, e) in enumerate(sets))
        _run(con, f"""CREATE TABLE roll AS SELECT t._row, {agg} FROM typed t
            LEFT JOIN activities a ON a.lead_id = t.lead_id AND a.occurred_at >= {start}
                AND ({nxt} IS NULL OR a.occurred_at < {nxt})
            WHERE {start} IS NOT NULL GROUP BY t._row""")
        assign = ", ".join(f"{_q(c)} = roll.v{j}" for j, (c, _) in enumerate(sets))
        _run(con, f"UPDATE typed SET {assign} FROM roll WHERE typed._row = roll._row")
        _run(con, "DROP TABLE roll")
        for c, _ in sets:
            found[c] = "activities"


def handoff_time(h: ir.Handoff, has, prefix: str = "") -> str | None:
    """SQL for when the lead was handed over in `h`, or None when the input cannot say:
    `S_accept_due_at - accept_within` when the export has the due time (the CRM sets it at the
    handoff; a lead without it was never handed), else the `from` stage's entered_at."""
    due = f"{h.to_stage}_accept_due_at"
    if has(due) and h.sla and h.sla.accept_within:
        return f"({prefix}{_q(due)} - INTERVAL {h.sla.accept_within.seconds} SECOND)"
    if has(f"{h.from_stage}_entered_at"):
        return prefix + _q(f"{h.from_stage}_entered_at")
    return None


def _flag_sql(policy: ir.Policy, cols: dict[str, str]) -> str:
    entered = [_q(f"{s.id}_entered_at") for s in policy.stages]
    order = [f"coalesce({b} < {a}, false)" for i, a in enumerate(entered) for b in entered[i + 1:]]
    stages = ", ".join(f"'{s.id}'" for s in policy.stages) or "NULL"
    reasons = ", ".join(f"'{r}'" for r in (policy.disqualification.reasons
                                           if policy.disqualification else ())) or "NULL"
    out = f"({' OR '.join(order) or 'false'})"
    bad_stage = f"coalesce(lifecycle_stage NOT IN ({stages}), false)"
    bad_reason = f"coalesce(disqualification_reason NOT IN ({reasons}), false)"
    return f"""CREATE TABLE leads AS SELECT *, NOT (dup OR out_of_order OR bad_stage OR bad_time)
        AS ok, NOT bad_reason AS reason_ok FROM (SELECT t.*, t._row > f.first AS dup,
        {out} AS out_of_order, {bad_stage} AS bad_stage, {bad_reason} AS bad_reason
        FROM typed t JOIN (SELECT lead_id, min(_row) AS first FROM typed GROUP BY lead_id) f
        USING (lead_id))"""


ISSUE_TEXT = {
    "duplicate_id": "rows repeating a lead id seen on an earlier row (the first row is kept)",
    "out_of_order": "leads that entered a later stage before an earlier one (left out of the "
                    "figures)",
    "unknown_stage": "leads whose lifecycle_stage is not a stage of the policy (left out of the "
                     "figures)",
    "unknown_reason": "leads whose disqualification reason the policy does not list (left out "
                      "of the disqualification figures)",
    "bad_timestamp": "rows with a date or time that cannot be read (left out of the figures)",
    "missing_id": "rows without a lead id (left out)",
}
_FLAG = {"duplicate_id": "dup", "out_of_order": "out_of_order", "unknown_stage": "bad_stage",
         "unknown_reason": "bad_reason", "bad_timestamp": "bad_time"}


def _issues(h: History) -> list[Issue]:
    out = []
    for kind, flag in _FLAG.items():
        n, ids, first = _run(h.con, f"SELECT count(*), list(lead_id ORDER BY _row)"
                                    f"[1:{EXAMPLES}], min(_row) FROM leads WHERE {flag}")[0]
        if n:
            out.append(Issue(kind, n, tuple(ids), f"{ISSUE_TEXT[kind]}: {n}", first))
    n, first = _run(h.con, "SELECT count(*), min(_row) FROM typed WHERE lead_id IS NULL")[0]
    if n:
        out.append(Issue("missing_id", n, (), f"{ISSUE_TEXT['missing_id']}: {n}", first))
    return out


def _run(con, sql: str, params=None) -> list:
    """Execute and fetch, so the connection is free for the next statement."""
    cur = con.execute(sql, params) if params is not None else con.execute(sql)
    return cur.fetchall()
