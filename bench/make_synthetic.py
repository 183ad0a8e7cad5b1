"""Deterministic synthetic leads and events for a policy, generated inside DuckDB.

    python bench/make_synthetic.py [POLICY] [--leads N] [--events N] [--out DIR]

writes DIR/leads.csv and DIR/events.csv (defaults: the acme example, 200 leads, 3,000 events,
examples/data/). The bench (`bench/scoring_speed.py`) calls `generate()` for millions of rows.

Values come from the policy's own `scoring.json`: enum values, the numbers and strings its
conditions compare with (so rules fire), dates around the as-of time. Randomness is integer
arithmetic on row numbers, not a seeded RNG, so the same arguments give the same bytes on any
machine and any DuckDB version.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POLICY = ROOT / "examples/acme-saas/alignment.yaml"
AS_OF = datetime(2025, 1, 1)
_NUMERIC = ("integer", "number", "currency", "percent")
_SQL_TYPES = {"integer": "BIGINT", "number": "DOUBLE", "currency": "DOUBLE", "percent": "DOUBLE",
              "boolean": "BOOLEAN", "date": "DATE", "datetime": "TIMESTAMP"}
MACROS = """
CREATE OR REPLACE MACRO mix(x) AS ((xor(x, x >> 15) * 73244475) % 4294967296);
CREATE OR REPLACE MACRO h(i, s) AS
  mix(mix((i * 2654435761 + s * 2246822519) % 4294967296));
CREATE OR REPLACE MACRO u(i, s) AS (h(i, s) / 4294967296.0);
CREATE OR REPLACE MACRO pick(pool, i, s) AS list_element(pool, 1 + CAST(h(i, s) % len(pool) AS BIGINT));
"""


# --- value pools from the policy's conditions --------------------------------------------------


def literals(doc: dict) -> dict[str, list]:
    """Column name -> the literal values conditions compare it with."""
    from alignctl.targets.scoring_model import walk

    found: dict[str, list] = {}
    roots = [r.get(k) for m in doc["models"] for r in m["rules"] for k in ("when", "where")]
    roots += [s["entry"] for s in doc["stages"]]
    for root in roots:
        for node in walk(root):
            left = node.get("left")
            if not (isinstance(left, dict) and left.get("op") == "ref"):
                continue
            values = found.setdefault(left["name"], [])
            if "values" in node:
                values += node["values"]
            elif "value" in node:
                values.append((node["op"], node["value"]))
            elif node.get("right", {}).get("op") == "num":
                values.append(node["right"]["value"])
    return found


def string_pool(name: str, found: list) -> list[str]:
    pool = [f"{name}_{k}" for k in range(6)]
    for item in found:
        op, value = item if isinstance(item, tuple) else ("==", item)
        if op == "matches":
            words = re.sub(r"\(\?[a-zA-Z]+\)|[()^$\\]", "", value).split("|")
            pool += [f"{w.strip().title()} of things" for w in words if w.strip()][:6]
        elif op == "startswith":
            pool += [value, f"{value}page"]
        elif op == "endswith":
            pool += [f"lead{value}", f"someone{value}"]
        elif op in ("contains", "includes"):
            pool += [f"/a{value}", f"{value}/b"]
        else:
            pool.append(str(value))
    return sorted(set(pool))


def number_pool(found: list) -> list[float]:
    pool = {0.0}
    for v in found:
        if isinstance(v, int | float) and not isinstance(v, bool):
            pool.update({float(v), v * 0.1, v * 0.5, v - 1.0, v + 1.0, v * 2.0})
    return sorted(pool)


# --- SQL column expressions ------------------------------------------------------------------


def column_sql(name: str, spec: dict, salt: int, pools: dict, params: list) -> str:
    """The expression of one synthetic column over `range(n) AS t(i)`; ~8% missing."""
    kind, values = spec["type"], spec.get("values")
    null = f"CASE WHEN u(i, {salt + 1}) < 0.08 THEN NULL ELSE {{}} END"
    if kind in ("enum", "multi_enum") and values:
        params.append(values)
        expr = f"pick(?::VARCHAR[], i, {salt})"
        if kind == "multi_enum":
            params.append(values)
            expr = f"{expr} || ';' || pick(?::VARCHAR[], i, {salt + 2})"
    elif kind == "boolean":
        expr = f"u(i, {salt}) < 0.2"
    elif kind in _NUMERIC:
        params.append(number_pool(pools.get(name, [])) or [0.0])
        expr = f"CAST(pick(?::DOUBLE[], i, {salt}) AS {_SQL_TYPES[kind]})"
    elif kind == "date":
        expr = f"CAST(?::TIMESTAMP AS DATE) + CAST(h(i, {salt}) % 731 AS INTEGER) - 365"
        params.append(AS_OF)
    elif kind == "datetime":
        expr = f"?::TIMESTAMP - to_seconds(CAST(h(i, {salt}) % 31536000 AS BIGINT))"
        params.append(AS_OF)
    else:
        params.append(string_pool(name, pools.get(name, [])))
        expr = f"pick(?::VARCHAR[], i, {salt})"
    return null.format(expr)


def leads_sql(doc: dict, n: int, params: list) -> str:
    pools = literals(doc)
    stages = [s["id"] for s in doc["stages"]]
    cols = ["'L' || lpad(CAST(i AS VARCHAR), 7, '0') AS lead_id"]
    params.append(stages[:1] * 6 + stages)
    cols.append("pick(?::VARCHAR[], i, 3) AS stage")
    for k, (name, spec) in enumerate(doc["inputs"]["leads"].items()):
        if spec["role"] in ("field", "builtin"):
            cols.append(f"{column_sql(name, spec, 10 + 7 * k, pools, params)} AS {name}")
    return f"SELECT {', '.join(cols)} FROM range({int(n)}) AS t(i)"


def events_sql(doc: dict, n_events: int, n_leads: int, params: list) -> str:
    pools = literals(doc)
    events = doc["inputs"]["events"]
    params.append(_weighted(events["event"]["values"]))
    cols = [f"'L' || lpad(CAST(h(i, 1) % {int(n_leads)} AS VARCHAR), 7, '0') AS lead_id",
            "pick(?::VARCHAR[], i, 2) AS event",
            # mostly recent, a few after as_of: age = 200 days * u^2 - 2 days
            "?::TIMESTAMP - to_microseconds(CAST((u(i, 4) * u(i, 4) * 200 - 2) * 86400000000 AS "
            "BIGINT)) AS occurred_at"]
    params.append(AS_OF)
    for k, (name, spec) in enumerate(events.items()):
        if spec["role"] == "property":
            params.append(spec["events"])
            value = column_sql(name, spec, 100 + 7 * k, pools, params)
            cols.append(f"CASE WHEN list_contains(?::VARCHAR[], event) THEN {value} END AS {name}")
    return f"SELECT {', '.join(cols)} FROM range({int(n_events)}) AS t(i)"


def _weighted(events: list[str]) -> list[str]:
    """Page views and clicks are common, unsubscribes rare."""
    weight = {"page_view": 12, "email_click": 4, "unsubscribe": 1}
    return [e for e in events for _ in range(weight.get(e, 2))]


# --- entry points ----------------------------------------------------------------------------


def scoring_doc(policy: Path) -> dict:
    from alignctl.api import check_policy
    from alignctl.targets.scoring_model import build

    result = check_policy(policy)
    if result.policy is None or result.errors:
        raise SystemExit(f"{policy}: the policy has errors; run `alignctl validate`")
    return build(result.policy)


def generate(con, doc: dict, n_leads: int, n_events: int) -> None:
    """Create tables `leads`, `events` and `scoring_params` in the DuckDB connection `con`."""
    con.execute(MACROS)
    params: list = []
    con.execute(f"CREATE OR REPLACE TABLE leads AS {leads_sql(doc, n_leads, params)}", params)
    params = []
    con.execute(f"CREATE OR REPLACE TABLE events AS "
                f"{events_sql(doc, n_events, n_leads, params)}", params)
    con.execute("CREATE OR REPLACE TABLE scoring_params AS SELECT ?::TIMESTAMP AS as_of", [AS_OF])


def write_csv(con, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for table, order in (("leads", "lead_id"), ("events", "lead_id, occurred_at, event")):
        path = str(out / f"{table}.csv").replace("'", "''")
        con.execute(f"COPY (SELECT * FROM {table} ORDER BY {order}) TO '{path}' "
                    "(HEADER, DELIMITER ',', TIMESTAMPFORMAT '%Y-%m-%d %H:%M:%S')")


def main(argv: list[str] | None = None) -> None:
    import duckdb

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("policy", nargs="?", type=Path, default=DEFAULT_POLICY)
    ap.add_argument("--leads", type=int, default=200)
    ap.add_argument("--events", type=int, default=3000)
    ap.add_argument("--out", type=Path, default=ROOT / "examples/data")
    args = ap.parse_args(argv)
    con = duckdb.connect()
    generate(con, scoring_doc(args.policy), args.leads, args.events)
    write_csv(con, args.out)
    print(f"wrote {args.out}/leads.csv and events.csv (as of {AS_OF.isoformat()})",
          file=sys.stderr)


if __name__ == "__main__":
    main()
