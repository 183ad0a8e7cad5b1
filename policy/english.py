"""Plain-English rendering of typed conditions, for the sales and marketing people who sign them.

`to_english(expr, labels)` turns `employees >= 200 and employees <= 5000` into "Employees is
between 200 and 5,000". Used by the docs target, diff and the HubSpot checklist, so it depends on
nothing outside `alignctl.policy`. It never raises: a shape it does not know reads as the
canonical condition text.

Label keys: `<field>` and `<model>` (their labels), `<field>.<value>` (enum value labels),
`event:<event>`, `event:<event>.<property>` and `event:<event>.<property>.<value>`, and the
built-ins `accepted`, `score`, `grade` when their default wording does not fit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .expr import to_text
from .expr_ast import (
    Arith,
    Bool,
    BoolOp,
    Call,
    Compare,
    Duration,
    Expr,
    ListLit,
    Member,
    Name,
    Neg,
    Not,
    Num,
    Ref,
    Str,
    StrMatch,
)

__all__ = ["to_english", "event_to_english", "clauses", "duration_in_words", "number", "default_label",
           "display_label", "policy_labels"]

ACRONYMS = frozenset(
    ["abm", "ae", "am", "api", "b2b", "b2c", "bdr", "ceo", "cfo", "crm", "cro", "cmo", "csm", "cto", "eu", "icp", "id", "mql", "pql", "roi", "sal", "saas", "se", "seo", "smb", "sql", "sdr", "sso", "uk", "url", "us", "utm", "vp"])

SPELLINGS = {"saas": "SaaS", "b2b": "B2B", "b2c": "B2C"}

UNITS = {"m": ("minute", "minutes"), "h": ("hour", "hours"), "d": ("day", "days"),
         "w": ("week", "weeks")}

OPS = {"==": "is", "!=": "is not", "<": "is less than", "<=": "is at most",
       ">": "is more than", ">=": "is at least"}
FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
ADVERBS = {">": "more than", ">=": "at least", "<": "less than", "<=": "at most",
           "==": "exactly", "!=": "other than"}
STR_OPS = {"contains": "contains", "startswith": "starts with", "endswith": "ends with",
           "matches": "matches the pattern"}

# Wording for the usual event ids; an event with its own label in the policy uses that instead.
EVENT_VERBS: Mapping[str, tuple[str, str | None]] = {
    "page_view": ("visited a page", "whose"),
    "form_submit": ("submitted a form", None),
    "form_submission": ("submitted a form", None),
    "email_click": ("clicked a link in an email", None),
    "email_open": ("opened an email", None),
    "webinar_attended": ("attended a webinar", None),
    "webinar_registration": ("registered for a webinar", None),
    "content_download": ("downloaded content", None),
    "asset_download": ("downloaded content", None),
    "unsubscribe": ("unsubscribed", None),
    "trial_started": ("started a trial", None),
    "meeting_booked": ("booked a meeting", None),
    "event_attended": ("attended an event", None),
}

# Events whose filter names the thing acted on: "submitted the Demo request form".
_FORM = ("submitted the {} form", "submitted one of the forms {}")
_ASSET = ("downloaded the {}", "downloaded one of {}")
EVENT_OBJECTS: Mapping[tuple[str, str], tuple[str, str]] = {
    ("form_submit", "form"): _FORM, ("form_submission", "form"): _FORM,
    ("content_download", "asset"): _ASSET, ("asset_download", "asset"): _ASSET,
}

BUILTIN_NOUNS = {"days_in_stage": "Days in this stage", "recycle_count": "Times recycled",
                 "accepted": "Accepted", "score": "Total score", "grade": "Fit grade"}


# ---------------------------------------------------------------------------------------------
# Words for values


def default_label(ident: str) -> str:
    """A readable label for an id: `utm_source` -> "UTM source", `sdr` -> "SDR"."""
    words = [SPELLINGS.get(w, w.upper()) if w in ACRONYMS else w for w in ident.split("_") if w]
    if not words:
        return ident
    first = words[0]
    return " ".join([first[:1].upper() + first[1:], *words[1:]])


def display_label(label: str, ident: str) -> str:
    """`label` unless it is merely the id capitalised (the IR's default), then `default_label`."""
    return default_label(ident) if label == ident.replace("_", " ").capitalize() else label


def number(value: float) -> str:
    """5000 -> "5,000"; 0.25 -> "0.25"; whole floats lose their ".0"."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.6f}".rstrip("0").rstrip(".")


def duration_in_words(text: str) -> str:
    """"30d" -> "30 days", "1w" -> "1 week"; anything else is returned as written."""
    amount, unit = text[:-1], text[-1:]
    if unit not in UNITS or not amount.isdigit():
        return text
    one, many = UNITS[unit]
    return f"{number(int(amount))} {one if int(amount) == 1 else many}"


def times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{number(n)} times")


def _quoted(text: str) -> str:
    return f"“{text}”"


def _plain_string(text: str) -> str:
    """A string literal as readers see it; quoted only when blanks would otherwise vanish."""
    return _quoted(text) if not text or text != text.strip() else text


def _join(items: list[str], word: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


def _needs_quotes(items: list[str]) -> bool:
    return any("," in i or " and " in i or " or " in i for i in items)


# ---------------------------------------------------------------------------------------------
# The renderer


@dataclass(frozen=True)
class _Between:
    """`x >= lo and x <= hi` merged into one clause."""

    subject: Expr
    low: Compare
    high: Compare


class _English:
    def __init__(self, labels: Mapping[str, str], event: str | None = None) -> None:
        self.labels, self.event = labels, event

    def within(self, event: str) -> _English:
        return _English(self.labels, event)

    # --- conditions --------------------------------------------------------------------------
    def cond(self, e: Any, nested: bool = False) -> str:
        if isinstance(e, BoolOp):
            text = self.bool_op(e)
            return f"({text})" if nested else text
        if isinstance(e, _Between):
            return self.between(e)
        handler = _HANDLERS.get(type(e), "bare")
        return getattr(self, handler)(e)

    def bool_op(self, e: BoolOp) -> str:
        parts = _merge_between(e.operands) if e.op == "and" else _merge_alternatives(e.operands)
        texts = [self.alternatives(p) if isinstance(p, tuple) else self.cond(p, nested=True)
                 for p in parts]
        if len(texts) == 1:
            return texts[0]
        if e.op == "or":
            return "either " + " or ".join(texts)
        return " and ".join(texts)

    def alternatives(self, group: tuple) -> str:
        """`a op x or a op y` -> "A op x or y"."""
        first = group[0]
        values = [self.value(g.right, g.left) for g in group]
        verb = STR_OPS.get(first.op) or OPS[first.op]
        return f"{self.noun(first.left)} {verb} {_join(values, 'or')}"

    def not_(self, e: Not) -> str:
        inner = e.operand
        if isinstance(inner, Ref) and inner.kind == "builtin" and inner.name == "accepted":
            return "not " + self.bare(inner)
        if _is_bool_subject(inner):
            return f"{self.noun(inner)} is not true"
        if isinstance(inner, Call) and inner.func == "has":
            return self.event_clause(inner, "never")
        if isinstance(inner, Member):
            return self.member(Member(inner.start, inner.end, not inner.negated, inner.left,
                                      inner.items))
        return f"it is not the case that {self.cond(inner, nested=True)}"

    def bare(self, e: Any) -> str:
        if isinstance(e, Ref) and e.kind == "builtin" and e.name == "accepted":
            return self.labels.get("accepted", "accepted by the owning team")
        if isinstance(e, Ref | Name):
            return f"{self.noun(e)} is true"
        if isinstance(e, Bool):
            return "always" if e.value else "never"
        return to_text(e)

    def compare(self, e: Compare) -> str:
        e = _normalised(e)
        left, right = e.left, e.right
        if isinstance(left, Call) and left.func == "count" and _whole(right):
            return self.count(left, e.op, int(right.value))
        if isinstance(left, Call) and left.func == "days_since" and _whole(right):
            return self.days_since(left, e.op, int(right.value))
        if isinstance(left, Ref) and left.name in ("recycle_count", "days_in_stage") \
                and left.kind == "builtin" and _whole(right):
            return self.builtin_count(left.name, e.op, int(right.value))
        if isinstance(right, Bool) and e.op in ("==", "!="):
            truth = right.value == (e.op == "==")
            return f"{self.noun(left)} is {'true' if truth else 'false'}"
        return f"{self.value(left)} {OPS[e.op]} {self.value(right, left)}"

    def member(self, e: Member) -> str:
        items = [self.value(i, e.left) for i in e.items.items]
        if _needs_quotes(items):
            items = [_quoted(i) for i in items]
        return f"{self.noun(e.left)} {_member_words(items, e.negated)}"

    def str_match(self, e: StrMatch) -> str:
        value = e.right.value if isinstance(e.right, Str) else None
        if e.op == "matches" and value is not None and value.startswith("(?i)"):
            return f"{self.noun(e.left)} matches the pattern {value[4:]} (ignoring case)"
        return f"{self.noun(e.left)} {STR_OPS.get(e.op, e.op)} {self.value(e.right)}"

    def between(self, b: _Between) -> str:
        low, high = self.value(b.low.right, b.subject), self.value(b.high.right, b.subject)
        subject = self.noun(b.subject)
        if b.low.op == ">=" and b.high.op == "<=":
            return f"{subject} is between {low} and {high}"
        return f"{subject} {OPS[b.low.op]} {low} and {ADVERBS[b.high.op]} {high}"

    def call(self, e: Call) -> str:
        if e.func == "has":
            return self.event_clause(e, "at least once")
        return to_text(e)

    # --- event functions ---------------------------------------------------------------------
    def count(self, call: Call, op: str, n: int) -> str:
        how = _how_often(op, n)
        if how is None:
            return f"{self.value(call)} {OPS[op]} {number(n)}"
        return self.event_clause(call, how)

    def event_clause(self, call: Call, how: str) -> str:
        """The event with its filter and window, `how` often ("at least 3 times", "never")."""
        event = call.target.name
        verb, joiner = self.event_verb(event)
        where = self.where(call, joiner)
        phrase = self.object_phrase(call)
        if phrase is not None:
            verb, joiner, where = phrase, None, ""
        window = f" in the last {duration_in_words(call.within.text)}" if call.within else ""
        if how == "never":
            lead = f"never {verb}" if joiner != "label" else f"no {verb} event"
            return f"{lead}{where}{window}"
        if joiner == "label" or how != "at least once":
            return f"{verb}{where} {how}{window}"
        return f"{verb}{where}{window}"

    def event_verb(self, event: str) -> tuple[str, str | None]:
        """The event's phrase and how a filter joins it ("whose", None, or "label")."""
        label = self.labels.get(f"event:{event}")
        if label is None and event in EVENT_VERBS:
            return EVENT_VERBS[event]
        return label or default_label(event), "label"

    def object_phrase(self, call: Call) -> str | None:
        """`form_submit where form in [...]` as "submitted the Demo request form", when it fits."""
        event, where = call.target.name, call.where
        if f"event:{event}" in self.labels:
            return None
        if isinstance(where, Compare) and where.op == "==":
            where = _normalised(where)
            left, values = where.left, [where.right]
        elif isinstance(where, Member) and not where.negated:
            left, values = where.left, list(where.items.items)
        else:
            return None
        forms = EVENT_OBJECTS.get((event, getattr(left, "name", "")))
        if forms is None or not values or not all(isinstance(v, Str) for v in values):
            return None
        items = [self.within(event).value(v, left) for v in values]
        items = [_quoted(i) for i in items] if _needs_quotes(items) else items
        return (forms[0] if len(items) <= 2 else forms[1]).format(_join(items, "or"))

    def where(self, call: Call, joiner: str | None) -> str:
        if call.where is None:
            return ""
        inner = self.within(call.target.name)
        if joiner == "whose" and not isinstance(call.where, BoolOp | Not):
            return " whose " + inner.cond(call.where)
        return f" ({inner.cond(call.where)})"

    def days_since(self, call: Call, op: str, n: int) -> str:
        subject = self.since_subject(call)
        if n == 0:
            return f"{subject} is {_TODAY[op]}"
        if n > 0:
            return f"{subject} {OPS[op]} {_days(n)} ago"
        return f"{subject} {OPS[FLIPPED_SIGN[op]]} {_days(-n)} away"

    def since_subject(self, call: Call) -> str:
        if call.target_kind == "field" or (isinstance(call.target, Ref)
                                           and call.target.kind == "field"):
            return self.noun(call.target)
        label = self.labels.get(f"event:{call.target.name}") or default_label(call.target.name)
        return f"the last {_lower_first(label)}"

    def builtin_count(self, name: str, op: str, n: int) -> str:
        if name == "days_in_stage":
            return f"has been in this stage for {ADVERBS[op]} {_days(n)}"
        how = _how_often(op, n)
        if how is None:
            return f"{BUILTIN_NOUNS[name]} {OPS[op]} {number(n)}"
        return "has never been recycled" if how == "never" else f"has been recycled {how}"

    # --- values and nouns --------------------------------------------------------------------
    def value(self, e: Any, subject: Any = None) -> str:
        if isinstance(e, Str):
            return self.enum_label(subject, e.value) or _plain_string(e.value)
        if isinstance(e, Num) and isinstance(subject, Ref | Name):
            return self.with_unit(number(e.value), subject)
        if isinstance(e, Num | Bool):
            return number(e.value)
        if isinstance(e, Duration):
            return duration_in_words(e.text)
        if isinstance(e, Ref | Name):
            return self.noun(e)
        if isinstance(e, Arith):
            word = "plus" if e.op == "+" else "minus"
            return f"{self.value(e.left)} {word} {self.value(e.right)}"
        if isinstance(e, Neg):
            return f"minus {self.value(e.operand)}"
        if isinstance(e, Call) and e.func == "count":
            return f"the number of times {self.event_clause(e, 'at least once')}"
        if isinstance(e, Call) and e.func == "days_since":
            return f"days since {self.since_subject(e)}"
        return to_text(e)

    def with_unit(self, text: str, subject: Ref | Name) -> str:
        unit = self.labels.get(f"unit:{self.key(subject)}", "")
        return f"{text}{unit}" if unit.startswith("%") else f"{text} {unit}".rstrip()

    def enum_label(self, subject: Any, value: str) -> str | None:
        key = self.key(subject) if isinstance(subject, Ref | Name) else None
        return self.labels.get(f"{key}.{value}") if key else None

    def key(self, ref: Ref | Name) -> str:
        if getattr(ref, "kind", None) == "property" and self.event:
            return f"event:{self.event}.{ref.name}"
        return ref.name

    def noun(self, e: Any) -> str:
        if not isinstance(e, Ref | Name):
            return self.value(e)
        label = self.labels.get(self.key(e))
        kind = getattr(e, "kind", "field")
        if kind == "model":
            label = label or default_label(e.name)
            return label if label.lower().endswith("score") else f"{label} score"
        if label is None and kind in ("builtin", "score", "grade"):
            return BUILTIN_NOUNS.get(e.name, default_label(e.name))
        label = label or default_label(e.name)
        return _quoted(label) if label.rstrip().endswith(("?", ":")) else label


_HANDLERS = {Not: "not_", Compare: "compare", Member: "member", StrMatch: "str_match", Call: "call"}

_TODAY = {">=": "today or in the past", ">": "in the past", "<": "in the future",
          "<=": "today or in the future", "==": "today", "!=": "not today"}
FLIPPED_SIGN = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "==", "!=": "!="}


def _days(n: int) -> str:
    return f"{number(n)} {'day' if n == 1 else 'days'}"


def _lower_first(text: str) -> str:
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def _member_words(items: list[str], negated: bool) -> str:
    if len(items) == 1:
        return f"is not {items[0]}" if negated else f"is {items[0]}"
    if negated:
        return f"is neither {items[0]} nor {items[1]}" if len(items) == 2 \
            else f"is none of {_join(items, 'or')}"
    return f"is {items[0]} or {items[1]}" if len(items) == 2 else f"is one of {_join(items, 'or')}"


def _how_often(op: str, n: int) -> str | None:
    """How often, in words, for `count(...) op n`; None when no wording fits."""
    if n < 0:
        return None
    if (op == "==" and n == 0) or (op == "<=" and n == 0) or (op == "<" and n == 1):
        return "never"
    if (op == ">=" and n == 1) or (op == ">" and n == 0) or (op == "!=" and n == 0):
        return "at least once"
    if op == "<" and n == 0:
        return None
    words = {">=": "at least", ">": "more than", "<=": "at most", "<": "fewer than",
             "==": "exactly", "!=": "other than"}
    return f"{words[op]} {times(n)}"


def _whole(e: Any) -> bool:
    return isinstance(e, Num) and not isinstance(e.value, bool) and float(e.value).is_integer()


def _is_literal(e: Any) -> bool:
    return isinstance(e, Num | Str | Bool | Duration | ListLit)


def _normalised(e: Compare) -> Compare:
    """The comparison with its literal on the right: `3 <= x` -> `x >= 3`."""
    if _is_literal(e.left) and not _is_literal(e.right):
        return Compare(e.start, e.end, FLIPPED[e.op], e.right, e.left)
    return e


def _is_bool_subject(e: Any) -> bool:
    if isinstance(e, Name):
        return True
    return isinstance(e, Ref) and e.type.kind == "boolean" and e.name != "accepted"


def _subject_key(e: Any) -> tuple | None:
    if isinstance(e, Ref | Name):
        return type(e).__name__, e.name, getattr(e, "kind", "")
    return None


def _bound(e: Any) -> str | None:
    """"low" or "high" when `e` is `subject >=|> number` or `subject <=|< number`."""
    if not isinstance(e, Compare):
        return None
    e = _normalised(e)
    if _subject_key(e.left) is None or not isinstance(e.right, Num):
        return None
    return {">=": "low", ">": "low", "<=": "high", "<": "high"}.get(e.op)


def _merge_between(operands: Iterable[Expr]) -> list:
    """The operands of an `and`, with each low/high bound pair on one subject merged."""
    ops, used, out = list(operands), set(), []
    for i, a in enumerate(ops):
        if i in used:
            continue
        j = _partner(ops, i, used)
        if j is None:
            out.append(a)
            continue
        used.add(j)
        low, high = (a, ops[j]) if _bound(a) == "low" else (ops[j], a)
        low, high = _normalised(low), _normalised(high)
        out.append(_Between(low.left, low, high))
    return out


def _partner(ops: list, i: int, used: set) -> int | None:
    kind = _bound(ops[i])
    if kind is None:
        return None
    want, key = ("high" if kind == "low" else "low"), _subject_key(_normalised(ops[i]).left)
    for j in range(i + 1, len(ops)):
        if j not in used and _bound(ops[j]) == want \
                and _subject_key(_normalised(ops[j]).left) == key:
            return j
    return None


def _alternative_key(e: Any) -> tuple | None:
    if isinstance(e, StrMatch) and isinstance(e.right, Str) and e.op != "matches":
        return _subject_key(e.left), e.op
    if isinstance(e, Compare) and e.op == "==":
        e = _normalised(e)
        if isinstance(e.right, Str | Num):
            return _subject_key(e.left), e.op
    return None


def _merge_alternatives(operands: Iterable[Expr]) -> list:
    """The operands of an `or`, consecutive `x op a or x op b` grouped into tuples."""
    out: list = []
    for e in operands:
        key = _alternative_key(e)
        prev = out[-1] if out else None
        if key and key[0] and isinstance(prev, tuple) and _alternative_key(prev[0]) == key:
            out[-1] = (*prev, _normalised(e) if isinstance(e, Compare) else e)
        else:
            out.append((_normalised(e) if isinstance(e, Compare) else e,) if key and key[0] else e)
    return [g[0] if isinstance(g, tuple) and len(g) == 1 else g for g in out]


# ---------------------------------------------------------------------------------------------
# Entry points


def to_english(expr: Expr, labels: Mapping[str, str] | None = None) -> str:
    """The condition in plain English; never raises."""
    try:
        return _English(labels or {}).cond(expr)
    except Exception:  # noqa: BLE001 - a reader is better served by the raw text than by nothing
        return _fallback(expr)


def event_to_english(event: str, where: Expr | None = None,
                     labels: Mapping[str, str] | None = None) -> str:
    """An event with an optional filter on its properties: "visited a page whose URL contains
    /pricing". Used for engagement rules (`on` + `where`)."""
    try:
        call = Call(0, 0, "has", Name(0, 0, event), where, None, "event")
        return _English(labels or {}).event_clause(call, "at least once")
    except Exception:  # noqa: BLE001
        return event if where is None else f"{event} where {_fallback(where)}"


def clauses(expr: Expr, labels: Mapping[str, str] | None = None) -> list[str]:
    """The clauses of a top-level `and` (bounds merged), each in English, for bullet lists."""
    try:
        en = _English(labels or {})
        if isinstance(expr, BoolOp) and expr.op == "and":
            return [en.cond(p, nested=True) for p in _merge_between(expr.operands)]
        return [en.cond(expr)]
    except Exception:  # noqa: BLE001
        return [_fallback(expr)]


def _fallback(expr: Any) -> str:
    try:
        return to_text(expr)
    except Exception:  # noqa: BLE001
        return "(a condition that cannot be shown)"


def policy_labels(policy: Any) -> dict[str, str]:
    """Every label key for a policy's fields, models and events (duck-typed on the IR)."""
    labels: dict[str, str] = {}
    target = getattr(getattr(policy, "plan", None), "revenue_target", None)
    units = {"percent": "%", "currency": getattr(target, "currency", "")}
    for f in policy.fields.values():
        labels[f.id] = display_label(f.label, f.id)
        if units.get(f.type):
            labels[f"unit:{f.id}"] = units[f.type]
        labels.update({f"{f.id}.{v.id}": display_label(v.label, v.id) for v in f.values})
    for m in policy.models.values():
        labels[m.id] = display_label(m.label, m.id)
    for e in policy.events.values():
        if e.label != e.id.replace("_", " ").capitalize():
            labels[f"event:{e.id}"] = e.label
        for p in e.properties.values():
            labels[f"event:{e.id}.{p.id}"] = display_label(p.label, p.id)
            labels.update({f"event:{e.id}.{p.id}.{v.id}": display_label(v.label, v.id)
                           for v in p.values})
    return labels
