"""The Spark SQL runs on local PySpark and agrees with the reference evaluator.

Optional and slow (a JVM starts): run with `make test-spark`, i.e.
`ALIGNCTL_SPARK=1 pytest -m spark tests/test_scoring_spark.py`. Needs `pip install pyspark`
and Java 17.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from alignctl.targets import sql

from .test_scoring_diff import POLICY, assert_agree, expected, scoring_doc

ROOT = Path(__file__).parent.parent
pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(not os.environ.get("ALIGNCTL_SPARK"),
                       reason="set ALIGNCTL_SPARK=1 (make test-spark) to run on local PySpark"),
]
SPARK_TYPES = {"integer": "BIGINT", "number": "DOUBLE", "currency": "DOUBLE", "percent": "DOUBLE",
               "boolean": "BOOLEAN", "date": "DATE", "datetime": "TIMESTAMP_NTZ"}


@pytest.fixture(scope="module")
def spark():
    pyspark = pytest.importorskip("pyspark.sql")
    session = (pyspark.SparkSession.builder.master("local[2]").appName("alignctl-test")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "4").getOrCreate())
    yield session
    session.stop()


def synthetic(doc: dict, n_leads: int, n_events: int):
    import duckdb

    sys.path.insert(0, str(ROOT / "bench"))
    from make_synthetic import AS_OF, generate

    con = duckdb.connect()
    generate(con, doc, n_leads, n_events)
    tables = {}
    for name in ("leads", "events"):
        cursor = con.execute(f"SELECT {', '.join(doc['inputs'][name])} FROM {name}")
        tables[name] = cursor.fetchall()
    return tables, AS_OF


def register(spark, doc: dict, tables: dict, as_of) -> None:
    for name, rows in tables.items():
        spec = doc["inputs"][name]
        schema = ", ".join(f"{c} {SPARK_TYPES.get(s['type'], 'STRING')}" for c, s in spec.items())
        spark.createDataFrame(rows, schema).createOrReplaceTempView(name)
    spark.createDataFrame([(as_of,)], "as_of TIMESTAMP_NTZ").createOrReplaceTempView(
        "scoring_params")


@pytest.mark.parametrize("policy", [POLICY, ROOT / "examples/acme-saas/alignment.yaml"],
                         ids=["test-policy", "acme-saas"])
def test_spark_sql_agrees_with_evaluator(spark, policy: Path) -> None:
    doc = scoring_doc(policy)
    tables, as_of = synthetic(doc, 300, 6000)
    register(spark, doc, tables, as_of)
    rows = spark.sql(sql.query(doc, "spark").sql("spark")).collect()
    got = {r[0]: tuple(r[1:]) for r in rows}
    leads = [dict(zip(doc["inputs"]["leads"], r, strict=True)) for r in tables["leads"]]
    events = [dict(zip(doc["inputs"]["events"], r, strict=True)) for r in tables["events"]]
    assert_agree(got, expected(doc, leads, events, as_of))
