"""Check raw policy data against the JSON Schema and turn failures into located ALN002s.

The happy path uses a small compiled checker for the keywords our schema uses (fast, no
jsonschema import); only when it says "invalid" do we run `jsonschema` to explain why, with one
clear error per node and "did you mean" for misspelt keys.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic, did_you_mean, make
from .loader import RawDocument

Check = Callable[[Any], bool]


@cache
def policy_schema() -> dict:
    return json.loads((Path(__file__).parent / "policy.schema.json").read_text("utf-8"))


# --- the fast checker -------------------------------------------------------------------------

_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
}


class _Compiler:
    """Compiles the subset of JSON Schema 2020-12 that policy.schema.json uses into closures."""

    def __init__(self, root: dict) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}

    def ref(self, ref: str) -> Check:
        if ref not in self.refs:
            self.refs[ref] = lambda v: self.refs[ref + "#c"](v)
            target = self.root
            for part in ref.removeprefix("#/").split("/"):
                target = target[part]
            self.refs[ref + "#c"] = self.compile(target)
        return self.refs[ref]

    def compile(self, s: dict | bool) -> Check:
        if s is True:
            return lambda v: True
        if s is False:
            return lambda v: False
        checks = [c for key, arg in s.items() if (c := self.keyword(key, arg, s)) is not None]
        return lambda v: all(c(v) for c in checks)

    def keyword(self, key: str, arg: Any, s: dict) -> Check | None:
        method = getattr(self, "k_" + key.lstrip("$"), None)
        if method is None:
            if key in ("then", "else", "description", "title", "$schema", "$id", "$defs"):
                return None
            raise ValueError(f"fast schema checker does not support `{key}`")
        return method(arg, s)

    def k_ref(self, arg, s):
        return self.ref(arg)

    def k_type(self, arg, s):
        names = [arg] if isinstance(arg, str) else arg
        preds = [_TYPES[n] for n in names]
        return lambda v: any(p(v) for p in preds)

    def k_enum(self, arg, s):
        return lambda v: any(v == a and type(v) is type(a) for a in arg)

    def k_const(self, arg, s):
        return lambda v: v == arg and type(v) is type(arg)

    def k_pattern(self, arg, s):
        rx = re.compile(arg)
        return lambda v: not isinstance(v, str) or rx.search(v) is not None

    def k_minLength(self, arg, s):
        return lambda v: not isinstance(v, str) or len(v) >= arg

    def k_maxLength(self, arg, s):
        return lambda v: not isinstance(v, str) or len(v) <= arg

    def k_minimum(self, arg, s):
        return lambda v: not _TYPES["number"](v) or v >= arg

    def k_maximum(self, arg, s):
        return lambda v: not _TYPES["number"](v) or v <= arg

    def k_exclusiveMinimum(self, arg, s):
        return lambda v: not _TYPES["number"](v) or v > arg

    def k_minItems(self, arg, s):
        return lambda v: not isinstance(v, list) or len(v) >= arg

    def k_uniqueItems(self, arg, s):
        def unique(v):
            if not (arg and isinstance(v, list)):
                return True
            seen = [json.dumps(x, sort_keys=True, default=str) for x in v]
            return len(seen) == len(set(seen))
        return unique

    def k_minProperties(self, arg, s):
        return lambda v: not isinstance(v, dict) or len(v) >= arg

    def k_maxProperties(self, arg, s):
        return lambda v: not isinstance(v, dict) or len(v) <= arg

    def k_required(self, arg, s):
        return lambda v: not isinstance(v, dict) or all(k in v for k in arg)

    def k_properties(self, arg, s):
        props = {k: self.compile(sub) for k, sub in arg.items()}
        return lambda v: not isinstance(v, dict) or all(
            props[k](x) for k, x in v.items() if k in props)

    def k_additionalProperties(self, arg, s):
        known = set(s.get("properties", {}))
        sub = self.compile(arg)
        return lambda v: not isinstance(v, dict) or all(
            sub(x) for k, x in v.items() if k not in known)

    def k_propertyNames(self, arg, s):
        sub = self.compile(arg)
        return lambda v: not isinstance(v, dict) or all(sub(k) for k in v)

    def k_items(self, arg, s):
        sub = self.compile(arg)
        return lambda v: not isinstance(v, list) or all(sub(x) for x in v)

    def k_not(self, arg, s):
        sub = self.compile(arg)
        return lambda v: not sub(v)

    def k_anyOf(self, arg, s):
        subs = [self.compile(x) for x in arg]
        return lambda v: any(c(v) for c in subs)

    def k_if(self, arg, s):
        cond = self.compile(arg)
        then = self.compile(s.get("then", True))
        other = self.compile(s.get("else", True))
        return lambda v: then(v) if cond(v) else other(v)


@cache
def fast_checker() -> Check:
    compiler = _Compiler(policy_schema())
    return compiler.compile(policy_schema())


# --- explaining failures ----------------------------------------------------------------------

def check_schema(doc: RawDocument) -> list[Diagnostic]:
    """ALN002 diagnostics for `doc.data`; empty when it conforms."""
    if fast_checker()(doc.data):
        return []
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(policy_schema())
    diags: dict[tuple, Diagnostic] = {}
    for error in sorted(validator.iter_errors(doc.data), key=_error_order):
        for key, diag in _explain(doc, error):
            diags.setdefault(key, diag)
    return _drop_misspelt_required(diags)


def _drop_misspelt_required(diags: dict[tuple, Diagnostic]) -> list[Diagnostic]:
    """`knd: sales` is one cause: report the unknown key (did you mean `kind`?), not also
    the missing `kind`."""
    suggested = {(k[0][:-1], d.help.split("`")[1]) for k, d in diags.items()
                 if k[-1] == "unknown" and d.help and d.help.startswith("did you mean")}
    return [d for k, d in diags.items() if not (k[1:2] == ("req",) and (k[0], k[2]) in suggested)]


def _error_order(error) -> tuple:
    return (len(error.absolute_path), [str(p) for p in error.absolute_path], str(error.validator))


def describe_path(path) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out or "the policy"


def _type_name(value: Any) -> str:
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "true/false"
    return {dict: "a mapping", list: "a list", str: "text", int: "an integer",
            float: "a number"}.get(type(value), type(value).__name__)


def _explain(doc: RawDocument, error) -> Iterator[tuple[tuple, Diagnostic]]:
    path = tuple(error.absolute_path)
    where = describe_path(path)
    kind = error.validator
    if kind in ("anyOf", "oneOf"):
        yield from _explain_alternatives(doc, error)
        return
    if kind == "additionalProperties":
        yield from _unknown_keys(doc, error, path)
        return
    if kind == "required":
        missing = _missing_key(error)
        yield (path, "req", missing), make(
            "ALN002", f"missing required key `{missing}` in {where}",
            doc.locate(path, key=True), help=_required_help(missing))
        return
    if kind == "propertyNames" or "propertyNames" in list(error.relative_schema_path)[-3:]:
        yield from _bad_ids(doc, error, path)
        return
    if error.validator is None or error.schema is False:
        parent, key = path[:-1], path[-1] if path else None
        yield (path,), make("ALN002", f"`{key}` is not allowed in {describe_path(parent)}",
                            doc.locate(path, key=True),
                            help="fit models count attributes once; decay applies to engagement models")
        return
    yield (path,), make("ALN002", _message(kind, error, where), doc.locate(path),
                        help=_help(kind, error))


def _missing_key(error) -> str:
    m = re.match(r"'([^']*)' is a required property", error.message)
    return m.group(1) if m else str(error.validator_value)


def _required_help(key: str) -> str | None:
    return {
        "when": "a fit rule needs `when:`, the condition on the lead's attributes",
        "on": "an engagement rule needs `on:`, the event it counts",
        "values": "list the allowed values: `values: [a, b, c]`",
    }.get(key)


def _unknown_keys(doc, error, path) -> Iterator[tuple[tuple, Diagnostic]]:
    allowed = list(error.schema.get("properties", {}))
    extras = [k for k in error.instance if k not in allowed]
    for key in extras:
        hint = did_you_mean(str(key), allowed)
        allowed_list = ", ".join(allowed)
        yield (path + (key,), "unknown"), make(
            "ALN002", f"unknown key `{key}` in {describe_path(path)}",
            doc.locate(path + (key,), key=True),
            help=hint or (f"allowed here: {allowed_list}" if allowed else None))


_ID_HELP = "ids are 1-40 characters: a lowercase letter, then lowercase letters, digits or `_`"


def _bad_ids(doc, error, path) -> Iterator[tuple[tuple, Diagnostic]]:
    if error.validator != "propertyNames":  # jsonschema reports the key's own failure
        names = [error.instance]
    else:
        inner = error.context or []
        names = [inner[0].instance] if inner else list(error.instance)
    reserved = error.validator == "not"
    for name in names:
        yield (path + (name,), "id"), make(
            "ALN002", f"bad id `{name}` in {describe_path(path)}"
            + (": it is a word of the expression language" if reserved else ""),
            doc.locate(path + (name,), key=True),
            help=f"choose another name, e.g. `{name}_1`" if reserved else _ID_HELP)


def _message(kind: str, error, where: str) -> str:
    v = error.instance
    if kind == "type" and "(m|h|d|w)" in error.schema.get("pattern", ""):
        return f"{where} must be a duration such as 15m, 4h, 30d or 2w, not {_type_name(v)}"
    if kind == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"{where} must be {_article(expected)}, not {_type_name(v)}"
    if kind == "enum":
        options = ", ".join(str(o) for o in error.validator_value)
        return f"{where} must be one of {options}; got `{v}`"
    if kind == "const":
        return f"{where} must be `{error.validator_value}`"
    if kind == "pattern":
        if error.validator_value.startswith("^[a-z][a-z0-9_]"):
            return f"bad id `{v}` in {where}"
        if "(m|h|d|w)" in error.validator_value:
            return f"{where}: `{v}` is not a duration"
        if error.validator_value.startswith("^(0|[1-9]"):
            return f"{where}: `{v}` is not a semantic version"
        return f"{where}: `{v}` is not in the expected format"
    if kind in ("minimum", "exclusiveMinimum", "maximum"):
        words = {"minimum": "at least", "exclusiveMinimum": "greater than", "maximum": "at most"}
        return f"{where} must be {words[kind]} {error.validator_value}; got {v}"
    if kind in ("minItems", "minProperties"):
        return f"{where} must not be empty"
    if kind == "maxProperties":
        return f"{where} must hold exactly one `id: label` pair"
    if kind == "minLength":
        return f"{where} must not be empty"
    if kind == "not":
        return f"`{v}` is a word of the expression language and cannot be an id in {where}"
    if kind == "uniqueItems":
        return f"{where} lists the same item twice"
    return f"{where}: {error.message}"


def _article(word: str) -> str:
    names = {"object": "a mapping", "array": "a list", "string": "text", "integer": "an integer",
             "number": "a number", "boolean": "true or false", "null": "empty"}
    return " or ".join(names.get(w, w) for w in word.split(" or "))


def _help(kind: str, error) -> str | None:
    v = error.instance
    if kind == "enum" and isinstance(v, str):
        return did_you_mean(v, [str(o) for o in error.validator_value])
    if kind == "pattern":
        pattern = error.validator_value
        if pattern.startswith("^[a-z][a-z0-9_]"):
            return _ID_HELP
        if "(m|h|d|w)" in pattern:
            return "durations are a whole number and a unit: 15m, 4h, 30d, 2w"
        if pattern.startswith("^(0|[1-9]"):
            return "use a semantic version such as 1.4.0 (quote it: version: \"1.4.0\")"
    if kind == "type" and "(m|h|d|w)" in error.schema.get("pattern", "") and isinstance(v, int):
        return f"add a unit: `{v}d` for days, `{v}h` for hours"
    if kind == "type" and error.validator_value == "string" and isinstance(v, int | float):
        return "quote the value to make it text"
    return None


def _explain_alternatives(doc, error) -> Iterator[tuple[tuple, Diagnostic]]:
    """Report the alternative whose type matched; else say which shapes were expected."""
    by_branch: dict[int, list] = {}
    for sub in error.context:
        by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
    deep = [errs for errs in by_branch.values()
            if all(len(e.absolute_path) > len(error.absolute_path) or e.validator in
                   ("required", "additionalProperties", "maxProperties", "minProperties")
                   for e in errs)]
    if deep:
        for sub in sorted(min(deep, key=len), key=_error_order):
            yield from _explain(doc, sub)
        return
    path = tuple(error.absolute_path)
    shapes = [_shape(s) for s in error.validator_value]
    yield (path,), make("ALN002", f"{describe_path(path)} must be {' or '.join(shapes)}; "
                                  f"got {_shape_of(error.instance)}", doc.locate(path))


def _shape(schema: dict) -> str:
    if "const" in schema:
        return f"`{schema['const']}`"
    if "enum" in schema:
        return "one of " + ", ".join(schema["enum"])
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return {"id": "an id", "field_type": "a type name", "recycle": "a recycle mapping"}.get(
            name, f"a {name}")
    return _article(schema.get("type", "value"))


def _shape_of(value: Any) -> str:
    return f"`{value}`" if isinstance(value, str | int | float) else _type_name(value)
