"""The registry of diagnostic codes: code -> default severity and one-line description.

Codes are stable. A retired code stays here as a comment and is never reused.
`docs/checks.md` is generated from this table (`python -m alignctl.docs_gen`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    OFF = "off"


@dataclass(frozen=True)
class Code:
    code: str
    severity: Severity
    summary: str
    area: str


E, W = Severity.ERROR, Severity.WARNING
MEASURED = "Measured against history"

_TABLE: list[tuple[str, Severity, str, str]] = [
    # Structure
    ("ALN001", E, "YAML that does not parse", "Structure"),
    ("ALN002", E, "shape error against the policy schema: unknown key, wrong type, missing key, bad id", "Structure"),
    ("ALN003", E, "expression syntax error, pointing at the column inside the expression", "Structure"),
    ("ALN004", E, "duplicate key in a mapping (both places)", "Structure"),
    ("ALN005", E, "include problem: missing file, path leaves the policy root, cycle", "Structure"),
    ("ALN006", E, "input too large or too deep, alias expansion bomb, not UTF-8", "Structure"),
    # References and types
    ("ALN101", E, "unknown reference: team, field, event, property, stage, model, term link, reason", "References and types"),
    ("ALN102", E, "id defined twice (stages, rules, or across included files)", "References and types"),
    ("ALN103", E, "a field whose id is taken by a field the CRM target generates", "References and types"),
    ("ALN201", E, "type mismatch in an expression", "References and types"),
    ("ALN202", E, "enum value not among the field's values", "References and types"),
    ("ALN203", E, "a condition that is not boolean where one is needed", "References and types"),
    # Funnel
    ("ALN301", E, "unreachable stage: not first, no entry, and no handoff leads to it", "Funnel"),
    ("ALN302", E, "stage owner is not a team, or a sales stage owned by marketing against its handoff", "Funnel"),
    ("ALN303", E, "owner changes between consecutive stages without a handoff, or a handoff without an SLA", "Funnel"),
    ("ALN304", W, "a later stage is easier to enter than an earlier one (lower score threshold)", "Funnel"),
    ("ALN305", W, "a non-terminal stage with neither max_age nor a handoff SLA", "Funnel"),
    ("ALN306", E, "no terminal won stage, or stages after a terminal stage", "Funnel"),
    # Scoring
    ("ALN401", E, "a threshold no lead can reach", "Scoring"),
    ("ALN402", W, "a rule that can never match: its condition is unsatisfiable", "Scoring"),
    ("ALN403", E, "grade thresholds not strictly decreasing, or a grade no score can reach", "Scoring"),
    ("ALN404", W, "an engagement rule with neither max, once, nor model cap/decay", "Scoring"),
    ("ALN405", W, "a model whose rules are all negative, or all zero", "Scoring"),
    # Stage conditions
    ("ALN501", E, "a stage entry that is unsatisfiable", "Stage conditions"),
    ("ALN502", W, "a stage that is always skipped: its entry implies a later stage's entry", "Stage conditions"),
    # Capacity and plan
    ("ALN601", E, "a team is over capacity: the leads handed to it exceed what its reps can work", "Capacity and plan"),
    ("ALN602", W, "the plan does not reach the revenue target", "Capacity and plan"),
    ("ALN603", E, "the revenue target needs more leads at a stage than the owning team can work", "Capacity and plan"),
    ("ALN604", E, "a conversion rate outside (0, 1], or missing for a stage volumes flow through", "Capacity and plan"),
    ("ALN605", W, "Marketing's commitment is below what the plan requires, or above what Sales can work", "Capacity and plan"),
    # Disqualification and recycling
    ("ALN701", E, "a reject or disqualification reason without a recycle rule", "Disqualification and recycling"),
    ("ALN702", E, "a recycle target that is not a stage before the ones the reason is used from", "Disqualification and recycling"),
    ("ALN703", E, "a date-based recycle (before:) on a field that is not a date", "Disqualification and recycling"),
    ("ALN704", W, "no max_recycles: a lead can loop forever", "Disqualification and recycling"),
    ("ALN705", W, "no_response used without the handoff SLA stating attempts", "Disqualification and recycling"),
    # Data ownership
    ("ALN801", E, "a field with no owner team", "Data ownership"),
    ("ALN802", W, "a field that conditions use but that nothing fills (no source)", "Data ownership"),
    ("ALN803", W, "a field needed to enter a stage is owned by a team that has no lead at that point", "Data ownership"),
    # Glossary
    ("ALN901", E, "a stage with neither a definition nor a term", "Glossary"),
    ("ALN902", E, "a term not approved by at least one marketing and one sales team", "Glossary"),
    ("ALN903", W, "a term or alias defined twice under different ids, or an alias equal to another term's name", "Glossary"),
    # Measured against history (alignctl report)
    ("ALN970", W, "an observed conversion rate whose 95 % interval excludes the planned rate", MEASURED),
    ("ALN971", W, "a commitment missed in one or more full periods of the window", MEASURED),
    ("ALN972", W, "at the observed conversion rates the plan does not reach the revenue target", MEASURED),
    ("ALN973", W, "a handoff SLA (accept, first touch, attempts) held for fewer than 95 % of the leads", MEASURED),
    ("ALN974", W, "a team received more leads than its capacity in one or more full periods", MEASURED),
    ("ALN975", W, "a better fit grade converts worse than a lower one (95 % intervals apart)", MEASURED),
    ("ALN976", W, "leads recycled more often than max_recycles", MEASURED),
    ("ALN977", W, "data-quality problems in the history: duplicate ids, timestamps out of order, unknown values", MEASURED),
]
# Codes `alignctl report` yields from lead history rather than `validate` from the policy alone.
REPORT_CODES = frozenset(c for c, *_, area in _TABLE if area == MEASURED)

CODES: dict[str, Code] = {c: Code(c, s, d, a) for c, s, d, a in _TABLE}
