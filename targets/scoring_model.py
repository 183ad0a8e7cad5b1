"""Lower the IR to `scoring.json`: the resolved scoring model every runtime reads.

The document is plain data (see `targets/schemas/scoring.schema.json` and `docs/scoring.md`):
models with their rules, conditions as JSON expression trees, the funnel's entry conditions in
order, the numeric thresholds stages put on scores, and the input columns a runtime needs.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterator

from alignctl.compiler import ir
from alignctl.policy import expr_ast as ast

FORMAT = "alignctl.scoring/1"
BELOW_LAST_GRADE = "D"
_NUMERIC = ("integer", "number", "currency", "percent")


def build(policy: ir.Policy) -> dict:
    """The scoring.json document for `policy`, as a dict."""
    root = posixpath.dirname(policy.files[0]) if policy.files else ""
    stages = [_stage(s) for s in policy.stages]
    models = [_model(m, root) for m in policy.models.values()]
    doc = {
        "_policy": {"name": policy.meta.name, "version": policy.meta.version},
        "format": FORMAT,
        "rounding": {"decimals": 2, "mode": "half_even"},
        "models": models,
        "grades": _grades(policy),
        "stages": stages,
        "thresholds": list(_thresholds(policy)),
    }
    doc["inputs"] = _inputs(policy, doc)
    return doc


def dumps(doc: dict) -> bytes:
    """Deterministic serialisation: sorted keys, two-space indent, a final newline."""
    return (json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


# --- models ---------------------------------------------------------------------------------


def _model(m: ir.Model, root: str) -> dict:
    return {
        "id": m.id,
        "kind": m.kind,
        "label": m.label,
        "half_life_seconds": m.half_life.seconds if m.half_life else None,
        "cap": m.cap,
        "min": m.min,
        "rules": [_rule(r, root) for r in m.rules],
    }


def _rule(r: ir.Rule, root: str) -> dict:
    out = {
        "id": r.id,
        "label": r.label,
        "points": r.points,
        "source": _source(r.loc.span, root),
    }
    if r.on is None:
        out["when"] = tree(r.when.expr) if r.when else None
        out["when_text"] = r.when.text if r.when else None
    else:
        out.update({"on": r.on, "max": r.max, "once": r.once,
                    "where": tree(r.where.expr) if r.where else None,
                    "where_text": r.where.text if r.where else None})
    return out


def _source(span, root: str) -> dict:
    file = span.file
    if root and not posixpath.isabs(file):
        file = posixpath.relpath(file, root)
    return {"file": posixpath.normpath(file), "line": span.line}


def _grades(policy: ir.Policy) -> dict | None:
    graded = next((m for m in policy.models.values() if m.grades), None)
    if graded is None:
        return None
    return {"model": graded.id, "below": BELOW_LAST_GRADE,
            "scale": [{"grade": g, "min": v} for g, v in graded.grades]}


def _stage(s: ir.Stage) -> dict:
    return {
        "id": s.id,
        "index": s.index,
        "label": s.label,
        "terminal": s.terminal,
        "entry": tree(s.entry.expr) if s.entry else None,
        "entry_text": s.entry.text if s.entry else None,
    }


# --- expression trees -----------------------------------------------------------------------


def tree(node: ast.Expr) -> dict:
    """A typed expression as a JSON tree; the `op` key says what each node is."""
    return _TREE[type(node)](node)


def _literal(node) -> object:
    if isinstance(node, ast.Duration):
        return node.seconds
    return node.value


def _ref(node: ast.Ref) -> dict:
    out = {"op": "ref", "kind": node.kind, "name": node.name, "type": node.type.kind}
    return out


def _call(node: ast.Call) -> dict:
    if node.func == "days_since":
        if node.target_kind == "field":
            return {"op": "days_since", "field": node.target.name,
                    "type": node.target.type.kind}
        return {"op": "days_since", "event": node.target.name}
    return {"op": node.func, "event": node.target.name,
            "where": tree(node.where) if node.where is not None else None,
            "within_seconds": node.within.seconds if node.within else None}


def _strmatch(node: ast.StrMatch) -> dict:
    multi = isinstance(node.left, ast.Ref) and node.left.type.kind == "multi_enum"
    op = "includes" if multi else node.op
    return {"op": op, "left": tree(node.left), "value": node.right.value}


def _member(node: ast.Member) -> dict:
    return {"op": "not_in" if node.negated else "in", "left": tree(node.left),
            "values": [_literal(x) for x in node.items.items]}


_TREE = {
    ast.Num: lambda n: {"op": "num", "value": n.value},
    ast.Str: lambda n: {"op": "str", "value": n.value},
    ast.Bool: lambda n: {"op": "bool", "value": n.value},
    ast.Duration: lambda n: {"op": "num", "value": n.seconds, "duration": n.text},
    ast.Ref: _ref,
    ast.Not: lambda n: {"op": "not", "arg": tree(n.operand)},
    ast.Neg: lambda n: {"op": "neg", "arg": tree(n.operand)},
    ast.BoolOp: lambda n: {"op": n.op, "args": [tree(x) for x in n.operands]},
    ast.Compare: lambda n: {"op": n.op, "left": tree(n.left), "right": tree(n.right)},
    ast.Arith: lambda n: {"op": n.op, "left": tree(n.left), "right": tree(n.right)},
    ast.Member: _member,
    ast.StrMatch: _strmatch,
    ast.Call: _call,
}


def walk(node: dict | None) -> Iterator[dict]:
    """Every node of a JSON expression tree, parents first (also used by the runtimes)."""
    todo = [node] if node is not None else []
    while todo:
        n = todo.pop()
        yield n
        todo.extend(n[k] for k in ("left", "right", "arg", "where") if n.get(k) is not None)
        todo.extend(reversed(n.get("args", ())))


# --- thresholds -----------------------------------------------------------------------------

_FLIP = {">=": "<=", ">": "<", "<=": ">=", "<": ">", "==": "==", "!=": "!="}


def _thresholds(policy: ir.Policy) -> Iterator[dict]:
    """Numeric bars a stage's entry puts on a score, from its top-level `and` conjuncts."""
    for s in policy.stages:
        if s.entry is None:
            continue
        expr = s.entry.expr
        parts = expr.operands if isinstance(expr, ast.BoolOp) and expr.op == "and" else (expr,)
        for part in parts:
            found = _threshold(part)
            if found is not None:
                yield {"stage": s.id, **found, "sole": len(parts) == 1}


def _threshold(node: ast.Expr) -> dict | None:
    if not isinstance(node, ast.Compare):
        return None
    left, right, op = node.left, node.right, node.op
    if isinstance(left, ast.Num):
        left, right, op = right, left, _FLIP[op]
    if isinstance(left, ast.Ref) and left.kind in ("model", "score") \
            and isinstance(right, ast.Num):
        return {"score": left.name, "op": op, "value": right.value}
    return None


# --- inputs ---------------------------------------------------------------------------------


def _inputs(policy: ir.Policy, doc: dict) -> dict:
    """The columns of `leads` and `events` this model reads, with their types."""
    leads = {"lead_id": {"type": "string", "role": "key"},
             "stage": {"type": "enum", "role": "stage",
                       "values": [s.id for s in policy.stages]}}
    events = {"lead_id": {"type": "string", "role": "key"},
              "event": {"type": "enum", "role": "event", "values": sorted(_events_used(doc))},
              "occurred_at": {"type": "datetime", "role": "time"}}
    for context, node in _all_trees(doc):
        _collect(policy, context, node, leads, events)
    return {"leads": leads, "events": events}


def _all_trees(doc: dict) -> Iterator[tuple[tuple[str, str | None], dict]]:
    for m in doc["models"]:
        for r in m["rules"]:
            for key in ("when", "where"):
                for node in walk(r.get(key)):
                    yield ("rule", r.get("on")), node
    for s in doc["stages"]:
        for node in walk(s["entry"]):
            yield ("stage", s["id"]), node


def _events_used(doc: dict) -> set[str]:
    used = {r["on"] for m in doc["models"] for r in m["rules"] if r.get("on")}
    used.update(n["event"] for _, n in _all_trees(doc) if n["op"] in ("count", "has", "days_since")
                and n.get("event"))
    return used


def _collect(policy: ir.Policy, context, node: dict, leads: dict, events: dict) -> None:
    op = node["op"]
    if op == "days_since" and "field" in node:
        leads[node["field"]] = _field_column(policy.fields[node["field"]])
    elif op in ("count", "has") and node.get("where"):
        for inner in walk(node["where"]):
            if inner["op"] == "ref":
                events.setdefault(inner["name"],
                                  _property_column(policy, node["event"], inner["name"]))
    elif op == "ref":
        _collect_ref(policy, context, node, leads, events)


def _collect_ref(policy: ir.Policy, context, node: dict, leads: dict, events: dict) -> None:
    kind, name = node["kind"], node["name"]
    if kind == "field":
        leads[name] = _field_column(policy.fields[name])
    elif kind == "property" and context[0] == "rule" and context[1]:
        events.setdefault(name, _property_column(policy, context[1], name))
    elif kind == "builtin":
        for column, spec in _builtin_columns(policy, name, context):
            leads[column] = spec


def _builtin_columns(policy: ir.Policy, name: str, context) -> list[tuple[str, dict]]:
    if name == "accepted" and context[0] == "stage":
        return [(f"{context[1]}_accepted", {"type": "boolean", "role": "builtin"})]
    if name == "recycle_count":
        return [("recycle_count", {"type": "integer", "role": "builtin"})]
    if name == "days_in_stage":
        return [(f"{s.id}_entered_at", {"type": "datetime", "role": "builtin"})
                for s in policy.stages]
    return []


def _field_column(f: ir.Field) -> dict:
    out = {"type": f.type, "role": "field"}
    if f.values:
        out["values"] = [v.id for v in f.values]
    return out


def _property_column(policy: ir.Policy, event: str, name: str) -> dict:
    prop = policy.events[event].properties[name]
    out = {"type": prop.type, "role": "property",
           "events": sorted(e.id for e in policy.events.values() if name in e.properties)}
    if prop.values:
        out["values"] = [v.id for v in prop.values]
    return out
