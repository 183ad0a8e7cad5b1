"""EspoCRM: custom metadata (entityDefs) and English labels (i18n) for Lead (and Opportunity,
for the fields after conversion), file based.

Custom fields are named the way Espo's Entity Manager names them, `c` + CamelCase (`cEmployees`),
or the policy's prefix instead of the `c`; fields bound to a built-in (`emailAddress`, `title`,
`source`) are not redefined; Lead's built-in `status` keeps its values and adds the stages.
"""

from __future__ import annotations

from collections.abc import Mapping

from .crm import (
    LEAD,
    OPPORTUNITY,
    CrmField,
    CrmSpec,
    Statuses,
    dump_json,
    one_line,
    policy_stamp,
    readme_bindings,
    statuses,
)
from .markdown import md

ROOT = "custom/Espo/Custom/Resources"
TYPES: Mapping[str, dict] = {
    "string": {"type": "varchar", "maxLength": 255},
    "email": {"type": "varchar", "maxLength": 254},
    "text": {"type": "text"},
    "integer": {"type": "int"},
    "number": {"type": "float"},
    "currency": {"type": "currency"},
    "percent": {"type": "float"},
    "boolean": {"type": "bool", "default": False},
    "date": {"type": "date"},
    "datetime": {"type": "datetime"},
    "enum": {"type": "enum"},
    "multi_enum": {"type": "multiEnum"},
}
# Lead `status`: EspoCRM's own values, kept; the stages are added before the closed ones.
STATUS_OPEN = ("New", "Assigned", "In Process")
STATUS_CLOSED = ("Converted", "Recycled", "Dead")


def camel(prefix: str, ident: str) -> str:
    """`c` + `budget_confirmed` -> `cBudgetConfirmed`; the prefix `Align_` gives `alignBudget...`."""
    head = prefix.rstrip("_").lower() or "c"
    return head + "".join(p[:1].upper() + p[1:] for p in ident.split("_") if p)


def api_names(spec: CrmSpec) -> dict[str, str]:
    """field id -> name: a bound field's built-in name (`emailAddress`, `title`), else the custom
    field's."""
    names: dict[str, str] = {}
    for f in spec.fields:
        bound = f.bound("espocrm")
        if bound is not None:
            names[f.id] = bound.name
            continue
        name = camel(spec.prefix, f.id)
        while name in names.values():
            name += "1"
        names[f.id] = name
    return names


def status_values(st: Statuses) -> dict[str, str]:
    """Our status -> Espo's `status` value: the converted stage is Espo's `Converted` (its
    Convert action sets it), disqualified `Dead`, recycled `Recycled`; other stages as added."""
    out = {v: v for v, _ in st.values}
    if st.converted in out:
        out[st.converted] = "Converted"
    out[st.disqualified], out[st.recycled] = "Dead", "Recycled"
    return out


def _field_def(f: CrmField) -> dict:
    d: dict = {**TYPES[f.type], "isCustom": True}
    if f.type == "enum":
        ids = [v.id for v in f.values]
        d["options"] = ids if f.required else ["", *ids]
    elif f.type == "multi_enum":
        d["options"] = [v.id for v in f.values]
    if f.required:
        d["required"] = True
    if f.description:
        d["tooltip"] = True
    return d


def _status_def(spec: CrmSpec) -> dict:
    st = statuses(spec.policy)
    ours = [v for v in status_values(st).values() if v not in STATUS_OPEN + STATUS_CLOSED]
    options = [*STATUS_OPEN, *ours, *STATUS_CLOSED]
    return {"options": options, "default": st.values[0][0] if st.values else "New",
            "style": {"Converted": "success", "Recycled": "warning", "Dead": "danger"},
            "notActualOptions": list(STATUS_CLOSED), "audited": True}


def _bound_options(f: CrmField) -> dict | None:
    """A built-in enum the policy binds (`industry`, `source`): its options become the policy's."""
    b = f.bound("espocrm")
    if b is None or b.standard is None or not b.standard.editable_options or not f.values:
        return None
    ids = [v.id for v in f.values]
    return {"options": ids if f.required else ["", *ids]}


def _objects(spec: CrmSpec) -> list[tuple[str, str]]:
    objs = [(LEAD, spec.object)]
    if any(f.object == OPPORTUNITY for f in spec.fields):
        objs.append((OPPORTUNITY, "Opportunity"))
    return objs


def entity_defs(spec: CrmSpec, names: Mapping[str, str], obj: str = LEAD) -> dict:
    fields = {names[f.id]: _field_def(f) for f in spec.created("espocrm", obj)}
    for f in spec.fields:
        if f.object == obj and (opts := _bound_options(f)) and f.role == "field":
            fields[names[f.id]] = opts
    if obj == LEAD and spec.object == "Lead" and names.get("lifecycle_stage") == "status":
        fields["status"] = _status_def(spec)
    return {"_policy": policy_stamp(spec.policy), "fields": fields}


def i18n(spec: CrmSpec, names: Mapping[str, str], obj: str = LEAD) -> dict:
    custom = spec.created("espocrm", obj)
    enums = custom + [f for f in spec.fields if f.object == obj and _bound_options(f)
                      and f.role == "field"]
    options = {names[f.id]: {v.id: one_line(v.label) or v.id for v in f.values}
               for f in enums if f.values}
    if obj == LEAD and spec.object == "Lead" and names.get("lifecycle_stage") == "status":
        st = statuses(spec.policy)
        labels = dict(st.values)
        options["status"] = {hs: one_line(labels[v]) or v
                             for v, hs in status_values(st).items()
                             if hs not in STATUS_OPEN + STATUS_CLOSED}
    return {
        "_policy": policy_stamp(spec.policy),
        "fields": {names[f.id]: one_line(f.label) or f.id for f in custom},
        "options": options,
        "tooltips": {names[f.id]: f.description.strip() for f in custom if f.description},
    }


def readme(spec: CrmSpec, names: Mapping[str, str]) -> bytes:
    p = spec.policy
    st = statuses(p)
    out = [f"# EspoCRM metadata for {md(p.meta.name)} {md(p.meta.version)}", "",
           "Generated by `alignctl build --target crm`; edit the policy, not these files.", "",
           "Copy `custom/` into the EspoCRM root (it merges with the existing `custom/` tree), "
           "then rebuild so the database columns are created:", "",
           "```sh", "cp -r custom/ /var/www/espocrm/", "cd /var/www/espocrm && php rebuild.php",
           "```", "",
           "Or use Administration, Rebuild.", ""]
    if names.get("lifecycle_stage") == "status":
        values = status_values(st)
        out += ["## Stages and status", "",
                "Lead `status` keeps EspoCRM's values (" + ", ".join(
                    f"`{v}`" for v in STATUS_OPEN + STATUS_CLOSED) + ") and adds the stages. "
                f"The converted stage `{st.converted}` is `Converted` (the Convert action sets "
                f"it), disqualified is `Dead`, recycled is `Recycled`; the others keep their "
                "ids: " + ", ".join(f"`{v}`" for v, hs in values.items() if v == hs) + ".", ""]
        if st.later:
            out += ["The later stages (" + ", ".join(f"`{sid}`" for sid, _ in st.later)
                    + ") are the opportunity's: add them to Opportunity `stage` in the Entity "
                    "Manager.", ""]
    out += readme_bindings(spec, "espocrm", names)
    return ("\n".join(out).rstrip("\n") + "\n").encode("utf-8")


def emit(spec: CrmSpec) -> dict[str, bytes]:
    names = api_names(spec)
    files = {}
    for obj, name in _objects(spec):
        files[f"{ROOT}/metadata/entityDefs/{name}.json"] = dump_json(entity_defs(spec, names, obj))
        files[f"{ROOT}/i18n/en_US/{name}.json"] = dump_json(i18n(spec, names, obj))
    files["README.md"] = readme(spec, names)
    return files
