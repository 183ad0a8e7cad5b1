"""The scoring query as a sqlglot tree, built from `scoring.json` and rendered per dialect.

One query over `leads`, `events` and the one-row `scoring_params(as_of)`, returning
`lead_id, <model>_score..., lead_score, fit_grade, stage`. Every policy string becomes a
`exp.Literal`; nothing is pasted into SQL text, so no policy can change the query's shape.
Events are aggregated once per lead with `FILTER` clauses (sqlglot rewrites them as conditional
aggregates for engines without `FILTER`), and `once` uses `MAX(age)` of the first occurrence
instead of a window function. Semantics: docs/scoring.md, defined by `alignctl.evaluator`.

CTEs, in order: `ev` (events up to as_of with their age in seconds), `weighted` (plus a decay
weight per half-life), `agg` (one row per lead),
`rules` (each rule's points), `models` (clamped totals), `scores` (rounded), `sums` and
`totals` (the rounded lead score and the grade); the final SELECT adds the stage.
"""

from __future__ import annotations

import json
import re

from sqlglot import exp

DIALECTS = ("duckdb", "postgres", "snowflake", "bigquery", "spark")
_ENDS_WITH = {"duckdb", "snowflake", "bigquery", "spark", "databricks"}
_FLAGS = re.compile(r"^\(\?([a-zA-Z]+)\)")
_CMP = {"==": exp.EQ, "!=": exp.NEQ, "<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE,
        "+": exp.Add, "-": exp.Sub}
_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def lit(value) -> exp.Expression:
    """A SQL literal for a JSON scalar from the policy."""
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table)


def _num(value) -> exp.Expression:
    return exp.Literal.number(value)


def _paren(e: exp.Expression) -> exp.Expression:
    return e if isinstance(e, exp.Column | exp.Literal | exp.Paren) else exp.Paren(this=e)


# --- expressions ---------------------------------------------------------------------------


class Conditions:
    """Translate JSON expression trees to sqlglot; `ref` resolves names to columns."""

    def __init__(self, builder: QueryBuilder, ref) -> None:
        self.b, self.ref = builder, ref

    def sql(self, node: dict) -> exp.Expression:
        op = node["op"]
        if op in ("num", "str", "bool"):
            return lit(node["value"])
        if op == "ref":
            return self.ref(node)
        if op in ("and", "or"):
            args = [self.sql(a) for a in node["args"]]
            return exp.and_(*args) if op == "and" else exp.or_(*args)
        if op == "not":
            return exp.Not(this=_paren(self.sql(node["arg"])))
        if op == "neg":
            return exp.Neg(this=_paren(self.sql(node["arg"])))
        if op in _CMP:
            return _CMP[op](this=_paren(self.sql(node["left"])),
                            expression=_paren(self.sql(node["right"])))
        return self.special(node)

    def special(self, node: dict) -> exp.Expression:
        op = node["op"]
        if op in ("in", "not_in"):
            test = exp.In(this=_paren(self.sql(node["left"])),
                          expressions=[lit(v) for v in node["values"]])
            return test if op == "in" else exp.Not(this=test)
        if op in ("contains", "startswith", "endswith", "matches", "includes"):
            return self.b.string_test(op, self.sql(node["left"]), node["value"])
        if op in ("count", "has", "days_since"):
            return self.b.call(node, self.ref)
        raise ValueError(f"unknown expression node `{op}`")


# --- the query -----------------------------------------------------------------------------


class QueryBuilder:
    """Builds the scoring query for one dialect from a `scoring.json` dict."""

    def __init__(self, doc: dict, dialect: str, tables: dict | None = None,
                 detail: bool = False) -> None:
        self.doc, self.dialect = doc, dialect
        self.tables = tables or {}
        self.detail = detail
        self.slots: dict[str, tuple[str, dict]] = {}   # call key -> (column, node)
        self.models = doc["models"]
        self.stages = doc["stages"]

    def table(self, name: str, alias: str) -> exp.Expression:
        """An input relation; the dbt package swaps in `source()` calls and `var('as_of')`."""
        source = self.tables.get(name)
        if source is None:
            return exp.to_table(name).as_(alias)
        return source.copy().as_(alias)

    # --- dialect details ---------------------------------------------------------------------
    def age_seconds(self, as_of: exp.Expression, ts: exp.Expression) -> exp.Expression:
        """Seconds from `ts` to `as_of` as a double, with microseconds where the engine has them."""
        if self.dialect == "postgres":
            diff = exp.Extract(this=exp.var("epoch"), expression=exp.Paren(this=exp.Sub(
                this=as_of, expression=ts)))
            return exp.cast(diff, "double")
        if self.dialect == "snowflake":
            micros = exp.TimestampDiff(this=as_of, expression=ts, unit=exp.var("MICROSECOND"))
        else:
            micros = exp.Sub(this=exp.UnixMicros(this=as_of), expression=exp.UnixMicros(this=ts))
        return exp.Div(this=exp.cast(micros, "double"), expression=_num(1000000))

    def days_between(self, as_of: exp.Expression, day: exp.Expression) -> exp.Expression:
        as_of_day = exp.cast(as_of, "date")
        if self.dialect == "postgres":
            return exp.Paren(this=exp.Sub(this=as_of_day, expression=day))
        return exp.DateDiff(this=as_of_day, expression=day, unit=exp.var("DAY"))

    def string_test(self, op: str, left: exp.Expression, value: str) -> exp.Expression:
        if op == "contains":
            return exp.GT(this=exp.StrPosition(this=left, substr=lit(value)), expression=_num(0))
        if op == "includes":
            padded = exp.DPipe(this=exp.DPipe(this=lit(";"), expression=left), expression=lit(";"))
            return exp.GT(this=exp.StrPosition(this=padded, substr=lit(f";{value};")),
                          expression=_num(0))
        if op == "startswith":
            return exp.StartsWith(this=left, expression=lit(value))
        if op == "endswith":
            if self.dialect in _ENDS_WITH:
                return exp.EndsWith(this=left, expression=lit(value))
            return exp.EQ(this=exp.Right(this=left, expression=exp.Length(this=lit(value))),
                          expression=lit(value))
        return self.regex(left, value)

    def regex(self, left: exp.Expression, pattern: str) -> exp.Expression:
        """A partial (search) match, as Python's `re.search`."""
        if self.dialect != "snowflake":
            return exp.RegexpLike(this=left, expression=lit(pattern))
        flags = _FLAGS.match(pattern)
        params = flags.group(1) if flags and set(flags.group(1)) <= set("ims") else ""
        body = pattern[flags.end():] if params else pattern
        call = exp.Anonymous(this="REGEXP_INSTR", expressions=[
            left, lit(body), _num(1), _num(1), _num(0), lit(params or "c")])
        return exp.GT(this=call, expression=_num(0))

    def extreme(self, kind: type, value: exp.Expression, bound: int) -> exp.Expression:
        """LEAST/GREATEST of a never-NULL value and a bound, in each engine's plain spelling."""
        return kind(this=value, expressions=[_num(bound)],
                    ignore_nulls=self.dialect != "snowflake")

    def bounded(self, value: exp.Expression, points: int, bound: int | None) -> exp.Expression:
        """A rule's `max` bounds what it adds, in the direction of its points."""
        if bound is None:
            return value
        if points >= 0:
            return self.extreme(exp.Least, value, abs(bound))
        return self.extreme(exp.Greatest, value, -abs(bound))

    # --- event functions ---------------------------------------------------------------------
    def call(self, node: dict, ref) -> exp.Expression:
        if node["op"] == "days_since" and "field" in node:
            return self.days_since_field(node, ref)
        column = self.slot(node)
        value = ref({"op": "ref", "kind": "slot", "name": column})
        if node["op"] == "count":
            return exp.Coalesce(this=value, expressions=[_num(0)])
        if node["op"] == "has":
            return exp.GT(this=exp.Coalesce(this=value, expressions=[_num(0)]),
                          expression=_num(0))
        return exp.Div(this=value, expression=_num(86400))

    def days_since_field(self, node: dict, ref) -> exp.Expression:
        as_of = ref({"op": "ref", "kind": "as_of", "name": "as_of"})
        field = ref({"op": "ref", "kind": "field", "name": node["field"]})
        if node.get("type") == "date":
            return self.days_between(as_of, field)
        return exp.Div(this=self.age_seconds(as_of, field), expression=_num(86400))

    def slot(self, node: dict) -> str:
        key = json.dumps(node, sort_keys=True)
        if key not in self.slots:
            self.slots[key] = (f"_c{len(self.slots)}", node)
        return self.slots[key][0]

    def slot_aggregate(self, node: dict) -> exp.Expression:
        where = [exp.EQ(this=col("event"), expression=lit(node["event"]))]
        if node["op"] == "days_since":
            return _filtered(exp.Min(this=col("_age")), where)
        if node.get("where"):
            where.append(self.event_conditions().sql(node["where"]))
        if node.get("within_seconds") is not None:
            where.append(exp.LTE(this=col("_age"), expression=_num(node["within_seconds"])))
        return _filtered(exp.Count(this=exp.Star()), where)

    def event_conditions(self) -> Conditions:
        return Conditions(self, lambda n: col(n["name"]))

    # --- CTEs ----------------------------------------------------------------------------------
    def events_used(self) -> list[str]:
        return list(self.doc["inputs"]["events"]["event"]["values"])

    def ev(self) -> exp.Select:
        props = [c for c, spec in self.doc["inputs"]["events"].items() if spec["role"] == "property"]
        age = self.age_seconds(col("as_of", "p"), col("occurred_at", "e")).as_("_age")
        select = exp.select(col("lead_id", "e"), col("event", "e"), *(col(p, "e") for p in props),
                            age).from_(self.table("events", "e"))
        return (select
                .join(self.table("scoring_params", "p"), join_type="cross")
                .where(exp.and_(
                    exp.LTE(this=col("occurred_at", "e"), expression=col("as_of", "p")),
                    exp.In(this=col("event", "e"), expressions=[lit(v)
                                                                for v in self.events_used()]))))

    def weighted(self) -> exp.Select:
        """`ev` plus one decay weight per half-life, computed once per event row."""
        weights = [_decay(col("_age"), hl).as_(f"_w{hl}") for hl in self.half_lives()]
        return exp.select(exp.Star(), *weights).from_("ev")

    def half_lives(self) -> list[int]:
        return sorted({m["half_life_seconds"] for m in self.models if m.get("half_life_seconds")
                       and any("on" in r and not r.get("once") for r in m["rules"])})

    def rule_aggregates(self) -> list[exp.Expression]:
        out = []
        conds = self.event_conditions()
        for m in self.models:
            for r in m["rules"]:
                if "on" in r:
                    out.append(self.rule_aggregate(m, r, conds))
        return out

    def rule_aggregate(self, m: dict, r: dict, conds: Conditions) -> exp.Expression:
        where = [exp.EQ(this=col("event"), expression=lit(r["on"]))]
        if r.get("where"):
            where.append(conds.sql(r["where"]))
        hl = m.get("half_life_seconds")
        if r.get("once") and hl:
            agg = exp.Max(this=col("_age"))
        elif hl:
            agg = exp.Sum(this=col(f"_w{hl}"))
        else:
            agg = exp.Count(this=exp.Star())
        return _filtered(agg, where).as_(f"_a_{r['id']}")

    def agg(self) -> exp.Select:
        rules = self.rule_aggregates()
        slots = [self.slot_aggregate(node).as_(column) for column, node in self.slots.values()]
        return exp.select(col("lead_id"), *rules, *slots).from_("weighted") \
            .group_by(col("lead_id"))

    def rules(self) -> exp.Select:
        fit = Conditions(self, self.rules_ref)
        points = []
        for m in self.models:
            for r in m["rules"]:
                value = self.engagement_points(m, r) if "on" in r else self.fit_points(r, fit)
                points.append(value.as_(f"_p_{r['id']}"))
        carried = [col(c, "l") for c in self.doc["inputs"]["leads"]]
        stage = self.current_stage(col("stage", "l")).as_("_cur")
        extra = [self.days_in_stage().as_("_days_in_stage")] if self.uses_days_in_stage() else []
        slots = [col(column, "a") for column, _ in self.slots.values()]
        select = exp.select(*carried, stage, col("as_of", "p").as_("_as_of"), *slots, *extra,
                            *points).from_(self.table("leads", "l"))
        if self.has_events():
            select = select.join(exp.to_table("agg").as_("a"), join_type="left",
                                 on=exp.EQ(this=col("lead_id", "a"),
                                           expression=col("lead_id", "l")))
        return select.join(self.table("scoring_params", "p"), join_type="cross")

    def rules_ref(self, node: dict) -> exp.Expression:
        kind, name = node["kind"], node["name"]
        if kind == "slot":
            return col(name, "a")
        if kind == "as_of":
            return col("as_of", "p")
        if kind == "builtin" and name == "days_in_stage":
            return self.days_in_stage()
        return col(name, "l")

    def fit_points(self, r: dict, conds: Conditions) -> exp.Expression:
        if not r.get("when"):
            return _num(r["points"])
        return exp.Case(ifs=[exp.If(this=conds.sql(r["when"]), true=_num(r["points"]))],
                        default=_num(0))

    def engagement_points(self, m: dict, r: dict) -> exp.Expression:
        a, hl, pts = col(f"_a_{r['id']}", "a"), m.get("half_life_seconds"), r["points"]
        if r.get("once") and hl:
            value = exp.Case(ifs=[exp.If(this=exp.Is(this=a, expression=exp.Null()),
                                         true=_num(0))],
                             default=exp.Mul(this=_num(pts), expression=_decay(a, hl)))
        elif r.get("once"):
            value = exp.Case(ifs=[exp.If(this=exp.GT(this=exp.Coalesce(
                this=a, expressions=[_num(0)]), expression=_num(0)), true=_num(pts))],
                default=_num(0))
        else:
            value = exp.Mul(this=_num(pts), expression=exp.Coalesce(this=a,
                                                                    expressions=[_num(0)]))
        return self.bounded(value, pts, r.get("max"))

    def current_stage(self, stage: exp.Expression) -> exp.Expression:
        return exp.Case(this=stage, ifs=[exp.If(this=lit(s["id"]), true=_num(s["index"]))
                                         for s in self.stages], default=_num(0))

    def days_in_stage(self) -> exp.Expression:
        cur = self.current_stage(col("stage", "l"))
        ifs = [exp.If(this=_num(s["index"]), true=self.age_seconds(
            col("as_of", "p"), col(f"{s['id']}_entered_at", "l"))) for s in self.stages]
        return exp.Div(this=exp.Case(this=cur, ifs=ifs), expression=_num(86400))

    def uses_days_in_stage(self) -> bool:
        return f"{self.stages[0]['id']}_entered_at" in self.doc["inputs"]["leads"]

    def has_events(self) -> bool:
        return bool(self.events_used())

    def models_cte(self) -> exp.Select:
        totals = []
        for m in self.models:
            parts = [col(f"_p_{r['id']}") for r in m["rules"]]
            total = _sum(parts)
            if m.get("min") is not None:
                total = self.extreme(exp.Greatest, total, m["min"])
            if m.get("cap") is not None:
                total = self.extreme(exp.Least, total, m["cap"])
            totals.append(exp.cast(total, "double").as_(f"_m_{m['id']}"))
        return exp.select(exp.Star(), *totals).from_("rules")

    def scores_cte(self) -> exp.Select:
        rounded = [round_half_even(col(f"_m_{m['id']}")).as_(f"_s_{m['id']}")
                   for m in self.models]
        return exp.select(exp.Star(), *rounded).from_("models")

    def sums_cte(self) -> exp.Select:
        total = _sum([col(f"_s_{m['id']}") for m in self.models]).as_("_t")
        return exp.select(exp.Star(), total).from_("scores")

    def totals_cte(self) -> exp.Select:
        return exp.select(exp.Star(), round_half_even(col("_t")).as_("_score"),
                          self.grade().as_("_grade")).from_("sums")

    def grade(self) -> exp.Expression:
        grades = self.doc.get("grades")
        if not grades:
            return exp.cast(exp.Null(), "varchar")
        score = col(f"_s_{grades['model']}")
        ifs = [exp.If(this=exp.GTE(this=score, expression=_num(g["min"])), true=lit(g["grade"]))
               for g in grades["scale"]]
        return exp.Case(ifs=ifs, default=lit(grades["below"]))

    def final_ref(self, node: dict) -> exp.Expression:
        kind, name = node["kind"], node["name"]
        columns = {"model": f"_s_{name}", "score": "_score", "grade": "_grade",
                   "as_of": "_as_of"}
        if kind == "builtin" and name == "days_in_stage":
            return col("_days_in_stage")
        return col(columns.get(kind, name))

    def stage(self, conds: Conditions) -> exp.Expression:
        """Forward only: the furthest stage past the current one whose entry is true."""
        ifs = []
        for s in reversed(self.stages):
            if s["entry"] is None or s["index"] == 0:
                continue
            ahead = exp.LT(this=col("_cur"), expression=_num(s["index"]))
            entry = self.entry(s, conds)
            ifs.append(exp.If(this=exp.and_(ahead, entry), true=lit(s["id"])))
        current = exp.Case(this=col("_cur"), ifs=[exp.If(this=_num(s["index"]), true=lit(s["id"]))
                                                  for s in self.stages])
        return exp.Case(ifs=ifs, default=current) if ifs else current

    def entry(self, s: dict, conds: Conditions) -> exp.Expression:
        accepted = f"{s['id']}_accepted"

        def ref(node: dict) -> exp.Expression:
            if node["kind"] == "builtin" and node["name"] == "accepted":
                return col(accepted)
            return self.final_ref(node)
        return _paren(Conditions(self, ref).sql(s["entry"]))

    def final(self) -> exp.Select:
        conds = Conditions(self, self.final_ref)
        scores = [col(f"_s_{m['id']}").as_(f"{m['id']}_score") for m in self.models]
        return exp.select(col("lead_id"), *scores, col("_score").as_("lead_score"),
                          col("_grade").as_("fit_grade"), self.stage(conds).as_("stage"),
                          *(self.details(conds) if self.detail else ())).from_("totals")

    def details(self, conds: Conditions) -> list[exp.Expression]:
        """For backtests and impact: each stage's entry (true/false) and each rule's points."""
        entries = [exp.Coalesce(this=self.entry(s, conds), expressions=[exp.false()])
                   .as_(f"entry_{s['id']}") for s in self.stages if s["entry"] is not None]
        points = [col(f"_p_{r['id']}").as_(f"points_{r['id']}")
                  for m in self.models for r in m["rules"]]
        return entries + points

    def build(self) -> exp.Select:
        final = self.final()              # registers the stage entries' event functions
        rules = self.rules()              # registers the fit rules' event functions
        ctes = []
        if self.has_events():
            ctes += [("ev", self.ev()), ("weighted", self.weighted()), ("agg", self.agg())]
        ctes += [("rules", rules), ("models", self.models_cte()), ("scores", self.scores_cte()),
                 ("sums", self.sums_cte()), ("totals", self.totals_cte())]
        for name, query in ctes:
            final = final.with_(name, as_=query)
        return final.order_by(col("lead_id"))


# --- helpers ---------------------------------------------------------------------------------


def _filtered(agg: exp.Expression, where: list[exp.Expression]) -> exp.Expression:
    return exp.Filter(this=agg, expression=exp.Where(this=exp.and_(*where)))


def _decay(age: exp.Expression, half_life: int) -> exp.Expression:
    return exp.Pow(this=_num(0.5), expression=exp.Div(this=age, expression=_num(half_life)))


def _sum(parts: list[exp.Expression]) -> exp.Expression:
    if not parts:
        return _num(0)
    total = parts[0]
    for p in parts[1:]:
        total = exp.Add(this=total, expression=p)
    return total


def round_half_even(x: exp.Expression) -> exp.Expression:
    """Half-to-even at two decimals on `x * 100` in doubles, exactly as `evaluator.round2`."""
    def r():
        return exp.Mul(this=x.copy(), expression=_num(100))

    def f():
        return exp.Floor(this=r())
    d = exp.Sub(this=r(), expression=f())
    odd = exp.EQ(this=exp.Sub(this=f(), expression=exp.Mul(this=_num(2), expression=exp.Floor(
        this=exp.Div(this=f(), expression=_num(2))))), expression=_num(1))
    up = exp.or_(exp.GT(this=d, expression=_num(0.5)),
                 exp.and_(exp.EQ(this=d.copy(), expression=_num(0.5)), odd))
    step = exp.Case(ifs=[exp.If(this=up, true=_num(1))], default=_num(0))
    return exp.Div(this=exp.cast(exp.Add(this=f(), expression=step), "double"),
                   expression=_num(100))


def query(doc: dict, dialect: str = "duckdb", tables: dict | None = None, *,
          detail: bool = False) -> exp.Select:
    """The scoring query for `doc` (a scoring.json dict) as a sqlglot tree; `tables` may
    replace the input relations `leads`, `events`, `scoring_params` with other expressions.
    `detail` adds `entry_<stage>` (the stage's entry holds) and `points_<rule>` columns after the
    usual ones, which it leaves unchanged."""
    return QueryBuilder(doc, dialect, tables, detail).build()


def header(doc: dict, dialect: str) -> str:
    """The comment that opens every generated file: what it is and which policy made it."""
    policy = doc["_policy"]
    lines = [
        "Lead scores, generated by alignctl from the policy",
        f"{policy['name']} (version {policy['version']}). Do not edit: change the policy.",
        f"Dialect: {dialect}. Inputs: leads, events, scoring_params(as_of); see scoring.json.",
    ]
    return "".join(f"-- {_LINE_BREAKS.sub(' ', line)}\n" for line in lines)


def render(doc: dict, dialect: str) -> str:
    """The query as SQL text for `dialect`, with its header comment."""
    return header(doc, dialect) + query(doc, dialect).sql(dialect=dialect, pretty=True) + "\n"
