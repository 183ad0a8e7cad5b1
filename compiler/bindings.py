"""Which platform field each policy field is: bindings to the CRMs' standard fields.

A field's `crm:` names its platform field (or `false`: create one); otherwise a standard field of
the platform's table (`targets/crm_standard/<platform>.json`, data files shipped with the targets)
whose name, alias or label matches the field's id or label, and whose type fits, is bound
automatically when exactly one matches. Conversion (`targets.crm.convert_at`) decides which object
a field lives on: a field that only stages after the converting one read belongs on the
opportunity. The `crm` target and the ALN110/ALN111 checks both read `resolve(policy)`.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from alignctl.compiler import ir
from alignctl.policy.expr import walk
from alignctl.policy.expr_ast import Ref

PLATFORMS = ("salesforce", "hubspot", "espocrm")
LEAD, OPPORTUNITY = "lead", "opportunity"
NEAR = 0.85         # difflib ratio above which an unbound name is a near clash (ALN111)


@dataclass(frozen=True)
class Standard:
    """One standard field of a platform, from its table."""

    platform: str
    object: str
    name: str
    label: str
    kind: str
    types: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    value_set: str | None = None      # Salesforce: the StandardValueSet holding its values
    editable_options: bool = False    # EspoCRM: options the custom metadata may set
    read_only: bool = False
    note: str | None = None

    def fits(self, f: ir.Field) -> bool:
        return f.type in self.types


@dataclass(frozen=True)
class Binding:
    """A policy field that is an existing platform field: not created, read under `name`."""

    platform: str
    object: str
    name: str
    how: str                          # explicit | automatic
    standard: Standard | None = None  # None: a field of the org's own, named explicitly


@dataclass(frozen=True)
class Resolution:
    objects: Mapping[str, str]                        # field id -> lead | opportunity
    bindings: Mapping[str, Mapping[str, Binding]]     # field id -> platform -> binding


# --- tables -------------------------------------------------------------------------------------

@cache
def table(platform: str) -> dict[str, dict[str, Standard]]:
    """object -> name -> standard field, from the platform's data file."""
    path = resources.files("alignctl.targets").joinpath("crm_standard", f"{platform}.json")
    data = json.loads(path.read_text("utf-8"))
    return {obj: {name: Standard(platform, obj, name, e["label"], e["kind"], tuple(e["types"]),
                                 tuple(e.get("aliases", ())), e.get("value_set"),
                                 e.get("editable_options", False), e.get("read_only", False),
                                 e.get("note"))
                  for name, e in fields.items()}
            for obj, fields in data["objects"].items()}


def platform_object(policy: ir.Policy, platform: str, obj: str) -> str:
    """The platform's object for `lead` or `opportunity`."""
    if platform == "hubspot":
        return "contacts" if obj == LEAD else "deals"
    return policy.targets.crm_object if obj == LEAD else "Opportunity"


def key(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


def _keys(s: Standard) -> set[str]:
    return {key(s.name), key(s.label), *(key(a) for a in s.aliases)}


# --- conversion: which object a field is on -----------------------------------------------------

def objects(policy: ir.Policy) -> dict[str, str]:
    """field id -> `lead` or `opportunity`: a field read only by the entries of stages after the
    converting stage (and by no rule or recycle reason) is the opportunity's."""
    out = {fid: LEAD for fid in policy.fields}
    convert = policy.stage(policy.targets.crm_convert_at) if policy.targets.crm_convert_at else None
    if convert is None:
        return out
    later: set[str] = set()
    earlier: set[str] = set()
    for s in policy.stages:
        reads = _field_refs(s.entry.expr) if s.entry else set()
        (later if s.index > convert.index else earlier).update(reads)
    for rule in policy.rules():
        earlier.update(_field_refs(rule.when.expr) if rule.when else ())
    d = policy.disqualification
    for reason in d.reasons.values() if d else ():
        if reason.recycle and reason.recycle.before:
            earlier.add(reason.recycle.before)
    for fid in later - earlier:
        if fid in out:
            out[fid] = OPPORTUNITY
    return out


def _field_refs(expr) -> set[str]:
    return {n.name for n in walk(expr) if isinstance(n, Ref) and n.kind == "field"}


# --- resolution ---------------------------------------------------------------------------------

def explicit(f: ir.Field) -> dict[str, str | None]:
    return dict(f.crm)


def resolve(policy: ir.Policy) -> Resolution:
    objs = objects(policy)
    out: dict[str, dict[str, Binding]] = {fid: {} for fid in policy.fields}
    for platform in PLATFORMS:
        for fid, b in _platform_bindings(policy, platform, objs).items():
            out[fid][platform] = b
    return Resolution(objs, out)


def _platform_bindings(policy: ir.Policy, platform: str,
                       objs: Mapping[str, str]) -> dict[str, Binding]:
    found: dict[str, Binding] = {}
    claimed: dict[tuple[str, str], list[str]] = {}
    for f in policy.fields.values():
        obj = platform_object(policy, platform, objs[f.id])
        std = table(platform).get(obj, {})
        named = explicit(f)
        if platform in named:
            if named[platform] is not None:
                found[f.id] = Binding(platform, obj, named[platform], "explicit",
                                      std.get(named[platform]))
            continue
        for s in automatic_candidates(f, std.values()):
            claimed.setdefault((obj, s.name), []).append(f.id)
    taken = {(b.object, b.name) for b in found.values()}
    for (obj, name), fids in claimed.items():
        if len(fids) == 1 and (obj, name) not in taken:
            found[fids[0]] = Binding(platform, obj, name, "automatic", table(platform)[obj][name])
    return found


def automatic_candidates(f: ir.Field, pool) -> list[Standard]:
    """The standard fields `f` matches by id or label and fits; bound only when exactly one."""
    keys = {key(f.id), key(f.label)}
    hits = [s for s in pool if _keys(s) & keys and s.fits(f) and not s.read_only]
    return hits if len(hits) == 1 else []


# --- problems (ALN110, ALN111), for the check -----------------------------------------------------

@dataclass(frozen=True)
class Problem:
    code: str
    field: str
    platform: str
    message: str
    help: str | None


def problems(policy: ir.Policy) -> Iterator[Problem]:
    res = resolve(policy)
    for platform in policy.targets.crm_platforms:
        yield from _explicit_problems(policy, platform, res)
        yield from _near_clashes(policy, platform, res)


def _explicit_problems(policy: ir.Policy, platform: str, res: Resolution) -> Iterator[Problem]:
    seen: dict[tuple[str, str], str] = {}
    for f in policy.fields.values():
        b = res.bindings[f.id].get(platform)
        if b is None or b.how != "explicit":
            continue
        std = table(platform).get(b.object, {})
        if b.standard is None and not _custom_name(platform, b.name):
            yield Problem("ALN110", f.id, platform,
                          f"`{b.name}` is not a standard {_title(platform)} field of "
                          f"{b.object}, nor a custom field name", _suggest(b.name, std))
        elif b.standard is not None and not b.standard.fits(f):
            yield Problem("ALN110", f.id, platform, _misfit(f, b.standard), None)
        if (b.object, b.name) in seen:
            yield Problem("ALN110", f.id, platform,
                          f"`{b.name}` is already the {_title(platform)} field of "
                          f"`{seen[(b.object, b.name)]}`: two fields cannot be one", None)
        seen.setdefault((b.object, b.name), f.id)


def _near_clashes(policy: ir.Policy, platform: str, res: Resolution) -> Iterator[Problem]:
    bound = {(b.object, b.name) for bs in res.bindings.values() for b in bs.values()
             if b.platform == platform}
    for f in policy.fields.values():
        if platform in explicit(f) or platform in res.bindings[f.id]:
            continue
        obj = platform_object(policy, platform, res.objects[f.id])
        pool = [s for s in table(platform).get(obj, {}).values() if (obj, s.name) not in bound]
        clash = _clash(f, platform, pool)
        if clash is not None:
            yield Problem("ALN111", f.id, platform, clash[0], clash[1])


def _clash(f: ir.Field, platform: str, pool: list[Standard]) -> tuple[str, str] | None:
    keys = {key(f.id), key(f.label)}
    keep = f"`crm: {{ {platform}: false }}` keeps a field of its own"
    same = [s for s in pool if _keys(s) & keys]
    if len(same) > 1 and all(s.fits(f) and not s.read_only for s in same):
        names = ", ".join(f"`{s.name}`" for s in same)
        return (f"`{f.id}` matches several {_title(platform)} fields ({names}), so it is "
                "bound to none and created as a field of its own",
                f"say which it is: `crm: {{ {platform}: {same[0].name} }}`; {keep}")
    if same:
        return (f"{_misfit(f, same[0])}, so `{f.id}` is created as a field of its own beside it",
                f"{keep} and silences this")
    for s in pool:
        if any(difflib.SequenceMatcher(None, k, sk).ratio() >= NEAR for k in keys
               for sk in _keys(s)):
            return (f"`{f.id}` looks like {_title(platform)}'s standard field `{s.name}` "
                    f"({s.label}) but is not bound to it, so both would exist",
                    f"did you mean `crm: {{ {platform}: {s.name} }}`? {keep}")
    return None


def _misfit(f: ir.Field, s: Standard) -> str:
    what = s.note or s.kind
    if s.read_only or not s.types:
        return f"{_title(s.platform)}'s `{s.name}` ({s.label}) cannot hold `{f.id}`: {what}"
    article = "an" if f.type[:1] in "aeiou" else "a"
    return (f"{_title(s.platform)}'s `{s.name}` ({s.label}) is {what}: {article} {f.type} "
            f"field does not fit")


def _custom_name(platform: str, name: str) -> bool:
    """A name the org's own (custom) fields have: the binding is trusted, its type unknown."""
    if platform == "salesforce":
        return name.endswith("__c")
    if platform == "espocrm":
        return len(name) > 1 and name[0] == "c" and name[1].isupper()
    return not name.startswith("hs_") and name == name.lower()


def _suggest(name: str, std: Mapping[str, Standard]) -> str | None:
    close = difflib.get_close_matches(name.lower(), [n.lower() for n in std], n=1, cutoff=0.6)
    by_lower = {n.lower(): n for n in std}
    return f"did you mean `{by_lower[close[0]]}`?" if close else None


def _title(platform: str) -> str:
    return {"salesforce": "Salesforce", "hubspot": "HubSpot", "espocrm": "EspoCRM"}[platform]
