"""The `crm` target: the field model a CRM needs for the policy, and one folder per platform.

`derive(policy)` turns the IR into a `CrmSpec` (policy fields plus the generated fields of
TARGETS.md, each with where conditions use it); `fields.json` is that spec, vendor-neutral, and the
platform modules (`salesforce`, `hubspot`, `espocrm`) each render it for one CRM.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import ModuleType

from alignctl.compiler import bindings, ir
from alignctl.compiler.bindings import LEAD, OPPORTUNITY, Binding
from alignctl.policy.english import ACRONYMS
from alignctl.policy.expr import walk
from alignctl.policy.expr_ast import Expr, Ref

from .base import Target

PLATFORMS = ("salesforce", "hubspot", "espocrm")
NO_GRADE = "D"     # POLICY.md: a fit score below the last declared grade is a D


@dataclass(frozen=True)
class Usage:
    """Where conditions read a field: stage entries, scoring rules, recycle rules (reasons)."""

    stages: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class CrmField:
    """One CRM field, named without the API-name prefix.

    `type` uses the policy's vocabulary (string, text, email, integer, number, currency, percent,
    boolean, date, datetime, enum, multi_enum); `role` says what a generated field is for
    (`field` for the policy's own fields) and `subject` which stage, model or team it belongs to.
    """

    id: str
    label: str
    type: str
    values: tuple[ir.EnumValue, ...] = ()
    owner: str | None = None
    source: str | None = None
    description: str | None = None
    required: bool = False
    generated: bool = True
    role: str = "field"
    subject: str | None = None
    usage: Usage = field(default_factory=Usage)
    object: str = LEAD                                  # lead | opportunity (after conversion)
    bindings: tuple[tuple[str, Binding], ...] = ()      # platform -> the existing field it is

    def bound(self, platform: str) -> Binding | None:
        """The platform field this one is (not created), or None: a field of its own."""
        return dict(self.bindings).get(platform)


@dataclass(frozen=True)
class CrmSpec:
    """Everything a platform renders: the policy, its fields in order, and notes for READMEs."""

    policy: ir.Policy
    fields: tuple[CrmField, ...]
    notes: tuple[str, ...] = ()

    @property
    def prefix(self) -> str:
        return self.policy.targets.crm_prefix

    @property
    def object(self) -> str:
        return self.policy.targets.crm_object

    def get(self, field_id: str) -> CrmField | None:
        return next((f for f in self.fields if f.id == field_id), None)

    def by_role(self, role: str) -> list[CrmField]:
        return [f for f in self.fields if f.role == role]

    def created(self, platform: str, obj: str = LEAD) -> list[CrmField]:
        """The fields a platform creates on `obj`: the unbound ones."""
        return [f for f in self.fields if f.object == obj and f.bound(platform) is None]

    def bound_fields(self, platform: str) -> list[tuple[CrmField, Binding]]:
        return [(f, b) for f in self.fields if (b := f.bound(platform)) is not None]


# --- derivation ---------------------------------------------------------------------------------

def derive(policy: ir.Policy) -> CrmSpec:
    """The policy's fields, then the generated ones; a generated field whose id a policy field
    already uses is left out (the policy's field wins) and noted."""
    res = bindings.resolve(policy)
    fields: list[CrmField] = [_policy_field(f, res) for f in policy.fields.values()]
    notes: list[str] = []
    taken = {f.id for f in fields}
    for g in _generated(policy):
        if g.id in taken:
            notes.append(f"`{g.id}` is declared by the policy, so the generated field of that "
                         f"name ({g.role.replace('_', ' ')}) is not added")
            continue
        taken.add(g.id)
        fields.append(g)
    fields = _bind_generated(policy, fields)
    usage = _usage(policy)
    return CrmSpec(policy, tuple(_with_usage(f, usage) for f in fields), tuple(notes))


def _policy_field(f: ir.Field, res: bindings.Resolution) -> CrmField:
    return CrmField(f.id, f.label, f.type, f.values, f.owner, f.source, f.description,
                    f.required, generated=False, object=res.objects[f.id],
                    bindings=tuple(sorted(res.bindings[f.id].items())))


# Generated fields that are a platform's own field on the lead object (TARGETS.md, crm.md):
# the stage is the lead status, the fit grade Salesforce's Rating.
GENERATED_BINDINGS: dict[str, dict[str, str]] = {
    "lifecycle_stage": {"salesforce": "Status", "hubspot": "hs_lead_status", "espocrm": "status"},
    "fit_grade": {"salesforce": "Rating"},
}


def _bind_generated(policy: ir.Policy, fields: list[CrmField]) -> list[CrmField]:
    """Bind the generated fields the platforms already have (unless a policy field took that
    platform field), and put the stage times of stages after conversion on the opportunity."""
    later = set(after_conversion(policy))
    taken = {(p, b.name) for f in fields for p, b in f.bindings if b.object in _LEAD_OBJECTS}
    out = []
    for f in fields:
        if f.generated and f.role == "stage_entered_at" and f.subject in later:
            f = replace(f, object=OPPORTUNITY)
        wanted = dict(GENERATED_BINDINGS.get(f.role, {})) if f.generated else {}
        if f.generated:
            wanted.update(_platform_bindings(policy, f))
        pairs = []
        for p, name in sorted(wanted.items()):
            obj = bindings.platform_object(policy, p, LEAD)
            std = bindings.table(p).get(obj, {}).get(name)
            if std is not None and (p, name) not in taken:
                pairs.append((p, Binding(p, obj, name, "generated", std)))
        out.append(replace(f, bindings=tuple(pairs)) if pairs else f)
    return out


_LEAD_OBJECTS = ("Lead", "contacts")


def _platform_bindings(policy: ir.Policy, f: CrmField) -> dict[str, str]:
    """Bindings a platform module knows for a generated field (`generated_binding`): HubSpot's
    lifecycle stage dates."""
    out = {}
    for p in PLATFORMS:
        hook = getattr(platform(p), "generated_binding", None)
        name = hook(policy, f) if hook else None
        if name:
            out[p] = name
    return out


def after_conversion(policy: ir.Policy) -> list[str]:
    """The stages after the converting stage (`targets.crm.convert_at`): opportunity stages."""
    convert = policy.targets.crm_convert_at
    ids = [s.id for s in policy.stages]
    return ids[ids.index(convert) + 1:] if convert in ids else []


def _generated(policy: ir.Policy) -> Iterator[CrmField]:
    yield from _lifecycle(policy)
    yield from _scores(policy)
    yield from _disqualification(policy)
    yield from _handoffs(policy)


def _lifecycle(policy: ir.Policy) -> Iterator[CrmField]:
    stages = tuple(ir.EnumValue(s.id, s.label) for s in policy.stages)
    teams = tuple(ir.EnumValue(t.id, t.label) for t in policy.teams.values())
    yield CrmField("lifecycle_stage", "Lifecycle stage", "enum", stages, source="automation",
                   description="The lead's stage in the funnel, set by the stages' entry rules; "
                               "it moves forward only.", role="lifecycle_stage")
    yield CrmField("owner_team", "Owner team", "enum", teams, source="automation",
                   description="The team that holds the lead now: the owner of its current "
                               "stage.", role="owner_team")
    for s in policy.stages:
        yield CrmField(f"{s.id}_entered_at", f"Entered {short_name(s)} at", "datetime",
                       source="automation", role="stage_entered_at", subject=s.id,
                       description=f"When the lead entered the stage {s.label} ({s.id}); "
                                   "time in stage is measured from it.")


def _scores(policy: ir.Policy) -> Iterator[CrmField]:
    for m in policy.models.values():
        kind = "integer" if m.kind == "fit" and m.half_life is None else "number"
        yield CrmField(f"{m.id}_score", f"{m.label} score", kind, source="scoring",
                       role="model_score", subject=m.id,
                       description=f"Score of the {m.kind} model {m.label} ({m.id}), "
                                   "computed from the policy's scoring rules.")
    if policy.models:
        yield CrmField("lead_score", "Lead score", "number", source="scoring", role="lead_score",
                       description="The sum of all model scores: "
                                   + ", ".join(f"{m.id}_score" for m in policy.models.values())
                                   + ".")
    model = next((m for m in policy.models.values() if m.grades), None)
    if model is not None:
        yield CrmField("fit_grade", "Fit grade", "enum", _grade_values(model.grades),
                       source="scoring", role="fit_grade", subject=model.id,
                       description=f"Grade of the {model.label} score: " + _grade_text(model))


def _grade_values(grades: tuple[tuple[str, int], ...]) -> tuple[ir.EnumValue, ...]:
    names = [g for g, _ in grades]
    if NO_GRADE not in names:
        names.append(NO_GRADE)
    return tuple(ir.EnumValue(g, g) for g in names)


def _grade_text(model: ir.Model) -> str:
    parts = [f"{g} from {points}" for g, points in model.grades]
    below = NO_GRADE if NO_GRADE not in dict(model.grades) else "none"
    return "; ".join(parts) + f"; below that {below}."


def _disqualification(policy: ir.Policy) -> Iterator[CrmField]:
    d = policy.disqualification
    if d is None:
        return
    reasons = tuple(ir.EnumValue(r.id, r.label) for r in d.reasons.values())
    label = d.field.replace("_", " ").capitalize()
    yield CrmField(d.field, label, "enum", reasons, source="disqualification",
                   role="disqualification", description="Why the lead left the funnel; "
                   "required when it is disqualified. The reason decides whether and when "
                   "the lead is recycled.")
    yield CrmField("disqualified_at", "Disqualified at", "datetime", source="automation",
                   role="disqualified_at",
                   description="When the lead was disqualified (the reason was set); its "
                               "recycle rule counts from it.")
    yield CrmField("recycle_on", "Recycle on", "date", source="automation", role="recycle_on",
                   description="When a disqualified lead comes back, from its reason's "
                               "recycle rule.")
    most = f" (at most {d.max_recycles})" if d.max_recycles is not None else ""
    yield CrmField("recycle_count", "Recycle count", "integer", source="automation",
                   role="recycle_count",
                   description=f"How many times the lead has been recycled{most}.")


def _handoffs(policy: ir.Policy) -> Iterator[CrmField]:
    """Per handoff, `<to>_accept_due_at`, `<to>_accepted` and the measured `<to>_accepted_at`,
    `<to>_first_touch_at`, `<to>_attempts`; a stage whose entry reads the
    built-in `accepted` gets its checkbox even without a handoff, since the entry needs it."""
    done: set[str] = set()
    for h in policy.handoffs:
        if h.to_stage in done:
            continue
        done.add(h.to_stage)
        to, frm = policy.stage(h.to_stage), policy.stage(h.from_stage)
        to_label = to.label if to else h.to_stage
        from_label = frm.label if frm else h.from_stage
        within = h.sla.accept_within.text if h.sla and h.sla.accept_within else None
        due = f"the handoff time plus {within}" if within else "the handoff time plus the SLA"
        yield CrmField(f"{h.to_stage}_accept_due_at",
                       f"{short_name(to) if to else h.to_stage} acceptance due", "datetime",
                       source="automation", role="accept_due_at", subject=h.to_stage,
                       description=f"When the lead handed from {from_label} must be accepted "
                                   f"or rejected for {to_label}: {due}.")
        yield _accepted(policy, h.to_stage, f" the handoff from {from_label}")
        yield from _measured(policy, h, to_label, from_label)
    for s in policy.stages:
        if s.id not in done and s.entry is not None and _reads_accepted(s.entry.expr):
            done.add(s.id)
            yield _accepted(policy, s.id, "")


def _measured(policy: ir.Policy, h: ir.Handoff, to_label: str, from_label: str
              ) -> Iterator[CrmField]:
    """The timestamps and count `alignctl report` measures the handoff's SLA with."""
    stage = policy.stage(h.to_stage)
    owner = stage.owner if stage else None
    short = short_name(stage) if stage else h.to_stage
    yield CrmField(f"{h.to_stage}_accepted_at", f"{short} accepted at", "datetime",
                   owner=owner, source="handoff", role="accepted_at", subject=h.to_stage,
                   description=f"When the lead handed from {from_label} was accepted for "
                               f"{to_label}; measures the accept SLA.")
    yield CrmField(f"{h.to_stage}_first_touch_at", f"{short} first touch", "datetime",
                   owner=owner, source="integration", role="first_touch_at",
                   subject=h.to_stage,
                   description=f"First call or personal email after the handoff from "
                               f"{from_label}; measures the first-touch SLA.")
    yield CrmField(f"{h.to_stage}_attempts", f"{short} contact attempts", "integer",
                   owner=owner, source="integration", role="attempts", subject=h.to_stage,
                   description=f"Contact attempts since the handoff from {from_label}, "
                               "rolled up from calls and emails; no_response needs the "
                               "SLA's attempts.")


def _accepted(policy: ir.Policy, stage_id: str, what: str) -> CrmField:
    stage = policy.stage(stage_id)
    owner = stage.owner if stage else None
    team = policy.teams.get(owner) if owner else None
    who = team.label if team else "the receiving team"
    label = stage.label if stage else stage_id
    name = short_name(stage) if stage else stage_id
    title = f"Accepted into {name}" if "accept" in name.lower() else f"{name} accepted"
    return CrmField(f"{stage_id}_accepted", title, "boolean", owner=owner,
                    source="handoff", role="accepted", subject=stage_id,
                    description=f"Checked by {who} on accepting{what or ' the lead'}; "
                                f"the stage {label} reads it as \"accepted\".")


def short_name(stage: ir.Stage) -> str:
    """How people name a stage in a field label: `SAL` for `sal`, else its label."""
    return stage.id.upper() if stage.id in ACRONYMS else stage.label


def _reads_accepted(expr: Expr) -> bool:
    return any(r.kind == "builtin" and r.name == "accepted" for r in refs(expr))


@dataclass(frozen=True)
class Statuses:
    """The lead status values: one per stage, then disqualified and recycled; the won stage (or
    the last one, when no stage is `terminal: won`) is the converted one."""

    values: tuple[tuple[str, str], ...]     # (API value, label)
    converted: str | None
    converted_is_fallback: bool
    disqualified: str
    recycled: str
    later: tuple[tuple[str, str], ...] = ()  # stages after conversion: the opportunity's
    convert_at: str | None = None           # set when the policy says where the lead converts


def statuses(policy: ir.Policy) -> Statuses:
    ids = {s.id for s in policy.stages}

    def free(name: str) -> str:
        while name in ids:
            name += "_status"
        return name

    later = set(after_conversion(policy))
    lead_stages = [s for s in policy.stages if s.id not in later]
    won = next((s.id for s in policy.stages if s.terminal == "won"), None)
    convert_at = policy.targets.crm_convert_at if later or policy.targets.crm_convert_at else None
    fallback = convert_at is None and won is None and bool(policy.stages)
    converted = convert_at or won or (policy.stages[-1].id if policy.stages else None)
    disqualified, recycled = free("disqualified"), free("recycled")
    values = tuple((s.id, s.label) for s in lead_stages)
    return Statuses(values + ((disqualified, "Disqualified"), (recycled, "Recycled")),
                    converted, fallback, disqualified, recycled,
                    tuple((s.id, s.label) for s in policy.stages if s.id in later), convert_at)


# --- usage --------------------------------------------------------------------------------------

def refs(expr: Expr) -> Iterator[Ref]:
    """Every resolved name in `expr`, including `days_since(field)` targets."""
    return (n for n in walk(expr) if isinstance(n, Ref))


def _usage(policy: ir.Policy) -> dict[str, dict[str, list[str]]]:
    uses: dict[str, dict[str, list[str]]] = {}

    def add(field_id: str, kind: str, who: str) -> None:
        bucket = uses.setdefault(field_id, {}).setdefault(kind, [])
        if who not in bucket:
            bucket.append(who)

    entered = [f"{s.id}_entered_at" for s in policy.stages]
    for s in policy.stages:
        for r in refs(s.entry.expr) if s.entry else ():
            for fid in _fields_of(r, s.id, entered):
                add(fid, "stages", s.id)
    for rule in policy.rules():
        for r in refs(rule.when.expr) if rule.when else ():
            for fid in _fields_of(r, None, entered):
                add(fid, "rules", rule.id)
    for reason in (policy.disqualification.reasons.values() if policy.disqualification else ()):
        if reason.recycle and reason.recycle.before:
            add(reason.recycle.before, "reasons", reason.id)
    return uses


def _fields_of(r: Ref, stage: str | None, entered: list[str]) -> list[str]:
    """The CRM fields a resolved name reads (see POLICY.md, built-ins)."""
    if r.kind == "field":
        return [r.name]
    if r.kind == "model":
        return [f"{r.name}_score"]
    if r.kind in ("score", "grade"):
        return ["lead_score" if r.kind == "score" else "fit_grade"]
    if r.kind == "builtin" and r.name == "accepted":
        return [f"{stage}_accepted"] if stage else []
    if r.kind == "builtin" and r.name == "days_in_stage":
        return entered
    if r.kind == "builtin":
        return [r.name]
    return []


def _with_usage(f: CrmField, uses: dict[str, dict[str, list[str]]]) -> CrmField:
    u = uses.get(f.id, {})
    usage = Usage(tuple(u.get("stages", ())), tuple(u.get("rules", ())),
                  tuple(u.get("reasons", ())))
    return replace(f, usage=usage)


# --- output helpers shared by the platforms ---------------------------------------------------

def dump_json(data: object) -> bytes:
    """Deterministic JSON: sorted keys, two-space indent, UTF-8, one trailing newline."""
    return (json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def policy_stamp(policy: ir.Policy) -> dict[str, str]:
    return {"name": policy.meta.name, "version": policy.meta.version}


def one_line(text: str) -> str:
    """Whitespace (newlines included) collapsed to single spaces."""
    return " ".join(text.split())


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def platform(name: str) -> ModuleType:
    """A platform module: `api_names(spec)` and `emit(spec)`."""
    return importlib.import_module(f"alignctl.targets.{name}")


def api_names(spec: CrmSpec, platforms: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """field id -> {platform: API name} for the given platforms."""
    per = {p: platform(p).api_names(spec) for p in platforms}
    return {f.id: {p: per[p][f.id] for p in platforms} for f in spec.fields}


def fields_json(spec: CrmSpec, platforms: tuple[str, ...]) -> dict:
    names = api_names(spec, platforms)
    return {
        "_policy": policy_stamp(spec.policy),
        "object": spec.object,
        "prefix": spec.prefix,
        "platforms": list(platforms),
        "fields": [_field_json(f, names[f.id]) for f in spec.fields],
        "notes": list(spec.notes),
    }


def _field_json(f: CrmField, names: dict[str, str]) -> dict:
    return {
        "id": f.id, "label": f.label, "type": f.type, "object": f.object,
        "bound": {p: {"how": b.how, "object": b.object, "standard": b.standard is not None}
                  for p, b in f.bindings if p in names},
        "values": [{"id": v.id, "label": v.label} for v in f.values],
        "owner": f.owner, "source": f.source, "description": f.description,
        "required": f.required, "generated": f.generated, "role": f.role,
        "subject": f.subject, "api_names": names,
        "used_by": {"stages": list(f.usage.stages), "rules": list(f.usage.rules),
                    "reasons": list(f.usage.reasons)},
    }


class CrmTarget(Target):
    """`fields.json` plus one folder per platform in `targets.crm.platforms`."""

    name = "crm"
    description = "CRM field specs: fields.json, Salesforce SFDX, HubSpot, EspoCRM"

    def emit(self, policy: ir.Policy) -> dict[str, bytes]:
        spec = derive(policy)
        platforms = tuple(p for p in PLATFORMS if p in policy.targets.crm_platforms)
        files = {"fields.json": dump_json(fields_json(spec, platforms))}
        for name in platforms:
            for rel, data in platform(name).emit(spec).items():
                files[f"{name}/{rel}"] = data
        return files


# --- README sections shared by the platforms ---------------------------------------------------

HOW = {"explicit": "the policy's `crm:`", "automatic": "its id or label and its type match",
       "generated": "the platform's own place for it"}


def readme_bindings(spec: CrmSpec, platform: str, names: Mapping[str, str]) -> list[str]:
    """Every field that is an existing platform field, so not created: a Markdown table."""
    from .markdown import md

    rows = spec.bound_fields(platform)
    if not rows:
        return []
    out = ["## Bindings: fields the platform already has", "",
           "These policy and generated fields are existing fields, so they are not created; "
           "formulas, rules and `fields.json` use these names, and exports with these column "
           "names go into `alignctl score` unchanged.", "",
           "| Field | Is | On | Why | Note |", "|---|---|---|---|---|"]
    for f, b in rows:
        note = b.standard.note if b.standard and b.standard.note else (
            "" if b.standard else "a field of the org's own: its type is not checked")
        out.append(f"| `{f.id}` | `{names[f.id]}` ({md(b.standard.label if b.standard else 'custom')})"
                   f" | {md(b.object)} | {HOW[b.how]} | {md(note)} |")
    return out + [""]
