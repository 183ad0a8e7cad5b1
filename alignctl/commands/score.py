"""`alignctl score`: run the policy's DuckDB scoring SQL on CSV or Parquet files."""

from __future__ import annotations

import csv
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import click

from . import EXIT_USAGE, emit_diagnostics, policy_argument, require_valid

LARGE_INPUT = 64 * 1024 * 1024        # bytes: above this, show progress even without a TTY
FORMATS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}
DUCK_TYPES = {"integer": "BIGINT", "number": "DOUBLE", "currency": "DOUBLE", "percent": "DOUBLE",
              "boolean": "BOOLEAN", "date": "DATE", "datetime": "TIMESTAMPTZ"}
OPTIONAL = {"stage"}                  # a lead without a stage starts at the first one


class InputError(Exception):
    """An input file that cannot be used; the message says why (exit 2)."""


@click.command()
@policy_argument
@click.option("--leads", "leads_file", required=True, type=click.Path(dir_okay=False),
              help="Leads: CSV or Parquet with lead_id and the fields the scoring reads.")
@click.option("--events", "events_file", required=True, type=click.Path(dir_okay=False),
              help="Events: CSV or Parquet with lead_id, event, occurred_at and properties.")
@click.option("--as-of", "as_of", metavar="TS",
              help="Score as of this ISO timestamp (UTC unless it has an offset). Default: now.")
@click.option("--out", "-o", "out", type=click.Path(dir_okay=False),
              help="Write scored leads here (.csv or .parquet). Default: CSV on stdout.")
@click.option("--columns", "columns_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="YAML or JSON mapping of policy column to input column, for names the "
                   "policy's CRM build does not give (`employees: Headcount`).")
def command(policy: str, leads_file: str, events_file: str, as_of: str | None,
            out: str | None, columns_file: str | None) -> None:
    """Score leads with POLICY's scoring, in embedded DuckDB.

    \b
    Examples:
      alignctl score --leads leads.csv --events events.parquet --out scores.csv
      alignctl score examples/acme-saas/alignment.yaml \\
          --leads examples/data/leads.csv --events examples/data/events.csv --as-of 2025-01-01

    Lead columns may use the policy's ids or the names the policy's `crm` build gives them
    (`Id`, `NumberOfEmployees`, `Mql_Entered_At__c`, `numemployees`), in any case, so a Data
    Loader or HubSpot export goes in unchanged.

    Output columns: lead_id, <model>_score..., lead_score, fit_grade, stage. Exit status: 0 scored,
    1 the policy has errors, 2 an input or output file cannot be used.
    """
    result = require_valid(policy)
    emit_diagnostics(result, "text", quiet_ok=True)
    from alignctl.columns import ColumnError, Columns, read_mapping
    from alignctl.targets.scoring_model import build

    try:
        when = parse_as_of(as_of)
        out_format = output_format(out)
        run(build(result.policy), Path(leads_file), Path(events_file), when, out, out_format,
            Columns(result.policy, read_mapping(columns_file)))
    except (InputError, ColumnError) as exc:
        click.echo(f"alignctl: {exc}", err=True)
        sys.exit(EXIT_USAGE)


def parse_as_of(text: str | None) -> datetime:
    """The as-of time as naive UTC."""
    if text is None:
        return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--as-of `{text}` is not an ISO timestamp, e.g. 2025-01-31T00:00:00"
                         ) from None
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


def output_format(out: str | None) -> str:
    if out is None:
        return "stdout"
    fmt = FORMATS.get(Path(out).suffix.lower())
    if fmt is None:
        raise InputError(f"--out `{out}`: write .csv or .parquet")
    return fmt


# --- DuckDB ----------------------------------------------------------------------------------


def run(doc: dict, leads: Path, events: Path, as_of: datetime, out: str | None, fmt: str,
        columns=None) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = true")           # tracked for Progress ...
    con.execute("SET enable_progress_bar_print = false")    # ... never drawn over our output
    try:
        load(con, doc, leads, events, as_of, columns)
        with Progress(con, show_progress(leads, events)):
            write(con, scoring_sql(doc), out, fmt)
    except duckdb.Error as exc:
        raise InputError(f"cannot score these inputs: {explain(exc)}") from None
    finally:
        con.close()


def load(con, doc: dict, leads: Path, events: Path, as_of: datetime, columns=None) -> None:
    """Views `leads` and `events` with the policy's column types, and `scoring_params`.
    Lead columns are found by `columns` (an `alignctl.columns.Columns`) when given."""
    for name, path in (("leads", leads), ("events", events)):
        raw = read(con, path, name)
        raw.create_view(f"raw_{name}")
        types = dict(zip(raw.columns, raw.dtypes, strict=True))
        spec = doc["inputs"][name]
        found = (columns.find(types, spec, what=f"--{name} `{path}`")
                 if columns is not None and name == "leads" else None)
        con.execute(typed_view(name, spec, types, path, found))
    con.execute("CREATE TABLE scoring_params (as_of TIMESTAMP)")
    con.execute("INSERT INTO scoring_params VALUES (?)", [as_of])


def read(con, path: Path, name: str):
    import duckdb

    if not path.is_file():
        raise InputError(f"--{name} `{path}`: no such file")
    fmt = FORMATS.get(path.suffix.lower(), "csv")
    try:
        if fmt == "parquet":
            return con.read_parquet(str(path))
        return con.read_csv(str(path), header=True, all_varchar=True)
    except (duckdb.Error, OSError) as exc:
        raise InputError(f"--{name} `{path}` is not readable {fmt.upper()}: "
                         f"{first_line(exc)}") from None


def typed_view(name: str, spec: dict, columns: dict, path: Path,
               found: dict[str, str] | None = None) -> str:
    """CREATE VIEW name AS SELECT CAST(...) for each column the scoring reads; `found` maps a
    spec column to its input column (default: the same name, in any case)."""
    from sqlglot import exp

    have = list(columns)
    if found is None:
        lower = {c.lower(): c for c in have}
        found = {c: lower[c.lower()] for c in spec if c.lower() in lower}
    columns = {c: (src, columns[src]) for c, src in found.items() if src}
    missing = [c for c in spec if c not in columns and c not in OPTIONAL]
    if missing:
        raise InputError(f"--{name} `{path}` lacks column{'s' if len(missing) > 1 else ''} "
                         f"{', '.join(missing)} (the policy's scoring reads "
                         f"{'them' if len(missing) > 1 else 'it'}); it has: "
                         f"{', '.join(have) or 'no columns'}")
    select = [cast_column(c, s["type"], *columns.get(c, (c, ""))) for c, s in spec.items()]
    query = exp.select(*select).from_(f"raw_{name}")
    return f"CREATE VIEW {name} AS {query.sql('duckdb')}"


def cast_column(name: str, kind: str, source: str, source_type) -> object:
    from sqlglot import exp

    if not source_type:
        return exp.cast(exp.Null(), "varchar").as_(name)
    column = exp.column(source, quoted=True)
    source_type = str(source_type)
    if source_type.endswith("[]"):
        column = exp.func("array_to_string", column, exp.Literal.string(";"))
    if kind == "datetime":
        utc = exp.AtTimeZone(this=exp.cast(column, "timestamptz"), zone=exp.Literal.string("UTC"))
        return utc.as_(name)
    if kind == "date":
        return exp.cast(exp.cast(column, "timestamp"), "date").as_(name)
    return exp.cast(column, DUCK_TYPES.get(kind, "varchar")).as_(name)


def scoring_sql(doc: dict) -> str:
    from alignctl.targets.sql import query

    return query(doc, "duckdb").sql("duckdb")


def write(con, sql: str, out: str | None, fmt: str) -> None:
    if fmt == "csv":
        con.sql(sql).write_csv(out, header=True)
    elif fmt == "parquet":
        con.sql(sql).write_parquet(out)
    else:
        cursor = con.execute(sql)
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(d[0] for d in cursor.description)
        while rows := cursor.fetchmany(10_000):
            writer.writerows(rows)


def explain(exc: BaseException) -> str:
    """DuckDB's message, cut to the lines that say what and where."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines()]
    keep = [ln for ln in lines[1:] if ln.startswith(("Error when converting", "Could not convert",
                                                       "Original Line"))]
    return "; ".join([lines[0] if lines else type(exc).__name__, *keep])


def first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


# --- progress --------------------------------------------------------------------------------


def show_progress(*paths: Path) -> bool:
    if sys.stderr.isatty():
        return True
    return sum(p.stat().st_size for p in paths if p.is_file()) > LARGE_INPUT


class Progress:
    """Polls DuckDB's query progress and prints it to stderr while the query runs."""

    def __init__(self, con, enabled: bool) -> None:
        self.con, self.enabled = con, enabled
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.poll, daemon=True)

    def __enter__(self) -> Progress:
        if self.enabled:
            self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.stop.set()
            self.thread.join()
            if sys.stderr.isatty():
                sys.stderr.write("\rscoring: done\n")
                sys.stderr.flush()

    def poll(self) -> None:
        last = -1
        tty = sys.stderr.isatty()
        while not self.stop.wait(0.5 if tty else 5.0):
            pct = int(self.con.query_progress())
            if pct >= 0 and pct != last:
                sys.stderr.write(f"\rscoring: {pct:3d}%" if tty else f"scoring: {pct}%\n")
                sys.stderr.flush()
                last = pct
