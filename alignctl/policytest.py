"""Policy unit tests: a lead, its events and an "as of" time in YAML, with the expected scores,
grade and stage, run through the reference evaluator (`alignctl.evaluator`).

    as_of: 2025-03-03T09:00:00Z          # default for every case
    cases:
      - name: a VP at a mid-size SaaS company who asked for a demo is an MQL
        lead: { industry: saas, employees: 300, job_title: VP Product }
        events:
          - { event: form_submit, ago: 2d, properties: { form: demo_request } }
          - { event: page_view, at: 2025-03-01T10:00:00Z, properties: { url: /pricing } }
        expect: { scores: { fit: 55 }, grade: A, stage: mql }

Case files are checked against the policy before anything runs (unknown fields, events, models,
stages and enum values are located errors), and numbers compare to 0.01.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alignctl.compiler import ir
from alignctl.policy.diagnostics import Diagnostic, Sink, Span, did_you_mean, make
from alignctl.policy.loader import display_path
from alignctl.policy.yamlpos import MapPos, PosIndex, SeqPos, decode, load_text, span_of

TOLERANCE = 0.01
CASE_KEYS = ("name", "as_of", "lead", "events", "expect")
EVENT_KEYS = ("event", "at", "ago", "properties")
EXPECT_KEYS = ("scores", "total", "grade", "stage")
UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class Case:
    name: str
    file: str
    line: int
    as_of: datetime
    lead: Mapping[str, Any]
    events: tuple[Mapping[str, Any], ...]
    expect: Mapping[str, Any]


@dataclass(frozen=True)
class Mismatch:
    what: str              # "stage", "grade", "total", "scores.fit"
    expected: Any
    got: Any


@dataclass(frozen=True)
class Outcome:
    case: Case
    score: Any             # evaluator.LeadScore, or None when scoring raised
    mismatches: tuple[Mismatch, ...] = ()
    error: str | None = None

    @property
    def passed(self) -> bool:
        return not self.mismatches and self.error is None


@dataclass
class Loaded:
    cases: list[Case] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)


def default_case_files(policy_path: str | Path) -> list[Path]:
    """`tests/*.yaml` (and `*.yml`) next to the policy, sorted."""
    folder = Path(policy_path).parent / "tests"
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


# --- reading ------------------------------------------------------------------------------------

class _Reader:
    """Reads one case file, reporting located problems into a sink."""

    def __init__(self, policy: ir.Policy, file: str, sink: Sink, *, need_expect: bool) -> None:
        self.policy, self.file, self.sink = policy, file, sink
        self.need_expect = need_expect
        self.pos = PosIndex()
        self.columns = lead_columns(policy)
        self.names: dict | None = None

    # positions
    def key_span(self, node: Any, key: Any) -> Span:
        p = self.pos.of(node)
        return p.keys.get(key, p.span) if isinstance(p, MapPos) else Span.point(self.file, 1, 1)

    def value_span(self, node: Any, key: Any) -> Span:
        p = self.pos.of(node)
        if isinstance(p, MapPos) and key in p.values:
            return span_of(p.values[key])
        if isinstance(p, SeqPos) and isinstance(key, int) and key < len(p.items):
            return span_of(p.items[key])
        return self.key_span(node, key)

    def error(self, code: str, message: str, span: Span, help: str | None = None) -> None:
        self.sink.add(make(code, message, span, help=help))

    # shape
    def mapping(self, value: Any, what: str, span: Span) -> bool:
        if isinstance(value, dict):
            return True
        self.error("ALN002", f"{what} must be a mapping", span)
        return False

    def keys(self, node: dict, allowed: Iterable[str], what: str) -> None:
        allowed = tuple(allowed)
        for key in node:
            if key not in allowed:
                self.error("ALN002", f"unknown key `{key}` in {what}", self.key_span(node, key),
                           help=did_you_mean(str(key), allowed) or f"allowed: {', '.join(allowed)}")

    def read(self, data: Any, root: Span) -> list[Case]:
        if not self.mapping(data, "a test file", root):
            return []
        self.keys(data, ("as_of", "cases"), "a test file")
        default = self.time(data, "as_of") if "as_of" in data else None
        cases = data.get("cases")
        if not isinstance(cases, list) or not cases:
            self.error("ALN002", "`cases` must be a non-empty list of test cases",
                       self.value_span(data, "cases") if "cases" in data else root)
            return []
        found = (self.case(cases, i, default) for i in range(len(cases)))
        return [c for c in found if c is not None]

    def time(self, node: dict, key: str) -> datetime | None:
        try:
            return parse_time(node[key])
        except (TypeError, ValueError):
            self.error("ALN002", f"`{key}` must be a timestamp such as 2025-03-03T09:00:00Z",
                       self.value_span(node, key))
            return None

    def case(self, cases: list, i: int, default: datetime | None) -> Case | None:
        node = cases[i]
        if not self.mapping(node, "a test case", self.value_span(cases, i)):
            return None
        errors = len(self.sink.items)
        self.keys(node, CASE_KEYS, "a test case")
        span = self.value_span(cases, i)
        name = node.get("name")
        if not isinstance(name, str) or not name.strip():
            self.error("ALN002", "a test case needs a `name`", span)
        as_of = self.time(node, "as_of") if "as_of" in node else default
        if as_of is None and "as_of" not in node:
            self.error("ALN002", "a test case needs `as_of` (or the file a default `as_of`)",
                       span)
        lead = self.lead(node)
        events = self.events(node, as_of)
        expect = self.expect(node, span)
        if len(self.sink.items) > errors or as_of is None:
            return None
        return Case(str(name), self.file, span.line, as_of, lead, tuple(events), expect)

    # lead
    def lead(self, node: dict) -> dict:
        lead = node.get("lead", {}) or {}
        if not self.mapping(lead, "`lead`", self.value_span(node, "lead")):
            return {}
        held = self.lead_keys(lead)
        if held is None:
            return {}
        for key, value in lead.items():
            column = held.get(key)
            if column is None:
                self.error("ALN101", f"`{key}` is not a field of the policy",
                           self.key_span(lead, key), did_you_mean(str(key), self.columns))
            else:
                self.enum_value(lead, key, value, self.enum_values(column))
        return {held[k]: v for k, v in lead.items() if k in held}

    def lead_keys(self, lead: dict) -> dict[Any, str] | None:
        """key of `lead` -> the policy column it holds: its id, or a name the crm build gives
        it on a platform (`NumberOfEmployees`), see `alignctl.columns`. None when two keys
        claim one column (reported once, as ALN102)."""
        from alignctl.columns import ColumnError, known_names, resolve

        keys = [k for k in lead if isinstance(k, str)]
        if all(k in self.columns for k in keys):
            return {k: k for k in keys}
        if self.names is None:
            self.names = known_names(self.policy)
        try:
            held = resolve(self.policy, keys, self.columns, what="`lead`", names=self.names)
        except ColumnError as exc:
            self.error("ALN102", str(exc), self.key_span(lead, keys[0]))
            return None
        return {header: column for column, header in held.items()}

    def enum_values(self, key: str) -> tuple[str, ...]:
        if key == "stage":
            return tuple(s.id for s in self.policy.stages)
        f = self.policy.fields.get(key)
        return tuple(v.id for v in f.values) if f is not None and f.values else ()

    def enum_value(self, node: dict, key: str, value: Any, values: tuple[str, ...]) -> None:
        if not values or value is None:
            return
        items = value if isinstance(value, list) else [value]
        for item in items:
            if item not in values:
                self.error("ALN202", f"`{item}` is not a value of `{key}`",
                           self.value_span(node, key),
                           did_you_mean(str(item), values) or f"values: {', '.join(values)}")

    # events
    def events(self, node: dict, as_of: datetime | None) -> list[dict]:
        events = node.get("events", []) or []
        if not isinstance(events, list):
            self.error("ALN002", "`events` must be a list", self.value_span(node, "events"))
            return []
        out = (self.event(events, i, as_of) for i in range(len(events)))
        return [e for e in out if e is not None]

    def event(self, events: list, i: int, as_of: datetime | None) -> dict | None:
        node = events[i]
        if not self.mapping(node, "an event", self.value_span(events, i)):
            return None
        self.keys(node, EVENT_KEYS, "an event")
        name = node.get("event")
        spec = self.policy.events.get(name) if isinstance(name, str) else None
        if spec is None:
            self.error("ALN101", f"unknown event `{name}`", self.value_span(node, "event")
                       if "event" in node else self.value_span(events, i),
                       did_you_mean(str(name), self.policy.events))
        when = self.when(node, as_of, self.value_span(events, i))
        props = node.get("properties", {}) or {}
        if spec is not None and self.mapping(props, "`properties`",
                                             self.value_span(node, "properties")):
            self.properties(spec, props)
        if spec is None or when is None or not isinstance(props, dict):
            return None
        return {**props, "event": name, "occurred_at": when}

    def when(self, node: dict, as_of: datetime | None, span: Span) -> datetime | None:
        if ("at" in node) == ("ago" in node):
            self.error("ALN002", "an event needs exactly one of `at` (a timestamp) or `ago` "
                       "(a duration before as_of, e.g. 3d)", span)
            return None
        if "at" in node:
            return self.time(node, "at")
        seconds = parse_duration(node["ago"])
        if seconds is None:
            self.error("ALN002", "`ago` must be a duration such as 30m, 4h, 3d or 2w",
                       self.value_span(node, "ago"))
            return None
        return None if as_of is None else as_of - timedelta(seconds=seconds)

    def properties(self, spec: ir.Event, props: dict) -> None:
        for key, value in props.items():
            prop = spec.properties.get(key)
            if prop is None:
                self.error("ALN101", f"event `{spec.id}` has no property `{key}`",
                           self.key_span(props, key), did_you_mean(str(key), spec.properties))
            else:
                self.enum_value(props, key, value, tuple(v.id for v in prop.values))

    # expectations
    def expect(self, node: dict, span: Span) -> dict:
        if "expect" not in node:
            if self.need_expect:
                self.error("ALN002", "a test case needs `expect` (scores, total, grade or "
                           "stage)", span)
            return {}
        expect = node["expect"]
        if not self.mapping(expect, "`expect`", self.value_span(node, "expect")):
            return {}
        self.keys(expect, EXPECT_KEYS, "`expect`")
        self.expect_scores(expect)
        self.expect_number(expect, "total")
        self.expect_choice(expect, "grade", self.grades(), "grade")
        self.expect_choice(expect, "stage", [s.id for s in self.policy.stages], "stage")
        return dict(expect)

    def expect_scores(self, expect: dict) -> None:
        scores = expect.get("scores")
        if scores is None or not self.mapping(scores, "`scores`",
                                              self.value_span(expect, "scores")):
            return
        for key in scores:
            if key not in self.policy.models:
                self.error("ALN101", f"unknown model `{key}`", self.key_span(scores, key),
                           did_you_mean(str(key), self.policy.models))
            else:
                self.expect_number(scores, key)

    def expect_number(self, node: dict, key: str) -> None:
        value = node.get(key)
        if key in node and (isinstance(value, bool) or not isinstance(value, int | float)):
            self.error("ALN002", f"`{key}` must be a number", self.value_span(node, key))

    def expect_choice(self, node: dict, key: str, choices: list[str], what: str) -> None:
        if key in node and node[key] not in choices:
            self.error("ALN101", f"unknown {what} `{node[key]}`", self.value_span(node, key),
                       did_you_mean(str(node[key]), choices) or f"{what}s: {', '.join(choices)}")

    def grades(self) -> list[str]:
        grades = [g for g, _ in self.policy.grades]
        return [*grades, "D"] if grades and "D" not in grades else grades


def lead_columns(policy: ir.Policy) -> dict[str, str]:
    """Every attribute a test lead may set: fields, the current stage, and the built-ins."""
    columns = {f.id: f.type for f in policy.fields.values()}
    columns.update({"lead_id": "string", "stage": "enum", "recycle_count": "integer"})
    for s in policy.stages:
        columns[f"{s.id}_accepted"] = "boolean"
        columns[f"{s.id}_entered_at"] = "datetime"
    return columns


def parse_time(value: Any) -> datetime:
    """A timestamp (ISO 8601 text or a date/datetime) as naive UTC."""
    from alignctl.evaluator import utc_naive

    if not isinstance(value, str | datetime) and not hasattr(value, "year"):
        raise TypeError(value)
    return utc_naive(value)


def parse_duration(value: Any) -> int | None:
    text = str(value).strip()
    if len(text) < 2 or text[-1] not in UNITS or not text[:-1].isdigit():
        return None
    return int(text[:-1]) * UNITS[text[-1]]


def read_cases(paths: Iterable[str | Path], policy: ir.Policy, *,
               need_expect: bool = True) -> Loaded:
    """Read and check case files; OSError for a file that cannot be read."""
    out = Loaded()
    for path in paths:
        sink = Sink()
        name = display_path(Path(path))
        text = decode(name, Path(path).read_bytes(), sink)
        if text is not None:
            out.sources[name] = text
            reader = _Reader(policy, name, sink, need_expect=need_expect)
            data, root = load_text(name, text, reader.pos, sink)
            if root is not None:
                out.cases += reader.read(data, root)
        out.diagnostics += sink.items
    return out


def read_lead(path: str | Path, policy: ir.Policy, as_of: datetime | None) -> Loaded:
    """One lead for `explain`: a case's shape at top level (`expect` optional). `as_of`, when
    given, replaces the file's; without either it is now."""
    out, sink = Loaded(), Sink()
    name = display_path(Path(path))
    text = decode(name, Path(path).read_bytes(), sink)
    reader = _Reader(policy, name, sink, need_expect=False)
    data, root = load_text(name, text, reader.pos, sink) if text is not None else (None, None)
    if text is not None:
        out.sources[name] = text
    if root is not None and reader.mapping(data, "a lead file", root):
        if as_of is not None or "as_of" not in data:
            data.pop("as_of", None)
        data.setdefault("name", Path(path).stem)
        if "cases" in data:
            reader.error("ALN002", "a lead file holds one lead (`lead`, `events`), not `cases`",
                         reader.key_span(data, "cases"))
        elif (found := reader.case([data], 0, as_of or now_utc())) is not None:
            out.cases.append(found)
    out.diagnostics += sink.items
    return out


# --- running ------------------------------------------------------------------------------------

def run_case(model: Mapping, case: Case) -> Outcome:
    """Score the case's lead and compare every stated expectation."""
    from alignctl.evaluator import score_lead

    try:
        got = score_lead(model, case.lead, case.events, case.as_of)
    except (ValueError, TypeError, KeyError) as exc:
        return Outcome(case, None, error=f"the evaluator could not score this lead: {exc}")
    return Outcome(case, got, tuple(mismatches(case.expect, got)))


def mismatches(expect: Mapping[str, Any], got) -> Iterator[Mismatch]:
    for model, value in (expect.get("scores") or {}).items():
        if abs(got.scores.get(model, 0.0) - value) > TOLERANCE + 1e-9:
            yield Mismatch(f"scores.{model}", value, got.scores.get(model))
    if "total" in expect and abs(got.total - expect["total"]) > TOLERANCE + 1e-9:
        yield Mismatch("total", expect["total"], got.total)
    for key in ("grade", "stage"):
        if key in expect and expect[key] != getattr(got, key):
            yield Mismatch(key, expect[key], getattr(got, key))


def run_cases(policy: ir.Policy, cases: Iterable[Case]) -> list[Outcome]:
    from alignctl.targets.scoring_model import build

    model = build(policy)
    return [run_case(model, c) for c in cases]


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# --- words --------------------------------------------------------------------------------------

def number(value: float) -> str:
    """12 -> "12", 9.4567 -> "9.46": at most two decimals, no float noise."""
    return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def signed(value: float) -> str:
    return ("+" if value >= 0 else "-") + number(abs(value))


def where(span: Span) -> str:
    return f"{span.file}:{span.line}"


def fired_lines(policy: ir.Policy, trace: Iterable, indent: str = "  ", *,
                model: bool = True) -> list[str]:
    """One line per rule that fired: [model,] rule, points, occurrences, file:line."""
    rules = {r.id: r for r in policy.rules()}
    rows = []
    for f in trace:
        rule = rules.get(f.rule)
        times = f"{f.occurrences} occurrence{'s' * (f.occurrences != 1)}" if rule and rule.on \
            else ""
        limit = f" (max {rule.max} reached)" if f.limited and rule else ""
        row = (f.rule, signed(f.points), times + limit, where(rule.loc.span) if rule else "")
        rows.append((f.model, *row) if model else row)
    return _columns(rows, indent)


def _columns(rows: list[tuple[str, ...]], indent: str) -> list[str]:
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [(indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))).rstrip()
            for r in rows]


def entry_words(value: bool | None) -> str:
    return {True: "holds", False: "does not hold", None: "unknown (a value is missing)"}[value]
