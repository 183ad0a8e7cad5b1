"""Columns of CRM exports: which input column holds which policy column.

Every reader of lead data (`score`, `test`, `explain`, `report`, ...) accepts a column under the
policy's id (`employees`, `mql_entered_at`) or under any name the `crm` build gives the same field
on a platform the policy targets (`NumberOfEmployees`, `Mql_Entered_At__c`, `numemployees`), so a
Data Loader or HubSpot export goes in unchanged. Names match without regard to case or surrounding
blanks (Data Loader writes `NUMBEROFEMPLOYEES`). An explicit mapping (`{policy column: input
column}`) wins over every automatic match. A column that could mean two policy columns, or two
columns that mean one, is an error that says which and how to settle it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from alignctl.compiler import ir

# Record ids as the platforms export them: Salesforce `Id`, HubSpot `hs_object_id` (its export
# labels it "Record ID"), EspoCRM `id`.
RECORD_ID = (("Id", "salesforce"), ("hs_object_id", "hubspot"), ("Record ID", "hubspot"),
             ("id", "espocrm"))
# Columns the scoring reads under a name of their own.
SYNONYMS = {"stage": (("lifecycle_stage", "crm"),)}


class ColumnError(Exception):
    """Input columns that cannot be matched unambiguously; the message says which and why."""


@dataclass(frozen=True)
class Name:
    """One name a policy column may appear under, and where that name comes from."""

    text: str
    origin: str          # "policy", a platform name, "crm" (a generated field), or "mapping"

    @property
    def key(self) -> str:
        return normalise(self.text)


def normalise(header: str) -> str:
    return header.strip().casefold()


def known_names(policy: ir.Policy) -> dict[str, tuple[Name, ...]]:
    """policy column -> every name it may appear under: its id first, then the platform names
    the `crm` build generates or binds for the policy's platforms."""
    from alignctl.targets import crm

    spec = crm.derive(policy)
    platforms = tuple(p for p in crm.PLATFORMS if p in policy.targets.crm_platforms)
    per_platform = crm.api_names(spec, platforms)
    names: dict[str, list[Name]] = {"lead_id": [Name("lead_id", "policy")]}
    names["lead_id"] += [Name(n, p) for n, p in RECORD_ID if p in platforms]
    for f in spec.fields:
        own = names.setdefault(f.id, [Name(f.id, "policy")])
        own += [Name(n, p) for p, n in per_platform.get(f.id, {}).items()]
    for column, synonyms in SYNONYMS.items():
        base = [Name(column, "policy"), *(Name(n, o) for n, o in synonyms)]
        for n, _ in synonyms:
            base += [x for x in names.get(n, ()) if x.origin != "policy"]
        names[column] = base
    return {c: _unique(ns) for c, ns in names.items()}


def _unique(names: Iterable[Name]) -> tuple[Name, ...]:
    seen: dict[str, Name] = {}
    for n in names:
        seen.setdefault(n.key, n)
    return tuple(seen.values())


def resolve(policy: ir.Policy, headers: Iterable[str], wanted: Iterable[str], *,
            mapping: Mapping[str, str] | None = None, what: str = "the input",
            names: Mapping[str, tuple[Name, ...]] | None = None) -> dict[str, str]:
    """wanted policy column -> the input header that holds it; a wanted column no header holds
    is left out (the caller decides whether it is required). Raises ColumnError on ambiguity or
    when `mapping` names a header the input does not have."""
    headers = list(headers)
    wanted = list(dict.fromkeys(wanted))
    names = known_names(policy) if names is None else names
    by_key: dict[str, list[str]] = {}
    for h in headers:
        by_key.setdefault(normalise(h), []).append(h)
    chosen = _explicit(mapping or {}, by_key, what)
    taken = {normalise(h) for h in chosen.values()}
    claims: dict[str, list[tuple[str, Name]]] = {}
    for column in wanted:
        if column in chosen:
            continue
        for name in names.get(column, (Name(column, "policy"),)):
            if name.key in by_key and name.key not in taken:
                claims.setdefault(column, []).append((by_key[name.key][0], name))
    _check_headers(by_key, claims, what)
    _check_claims(claims, what)
    chosen.update({c: found[0][0] for c, found in claims.items()})
    return chosen


def _explicit(mapping: Mapping[str, str], by_key: dict[str, list[str]], what: str
              ) -> dict[str, str]:
    chosen: dict[str, str] = {}
    for column, header in mapping.items():
        found = by_key.get(normalise(header))
        if not found:
            raise ColumnError(f"{what} has no column `{header}`, which the column mapping names "
                              f"for `{column}`")
        chosen[column] = found[0]
    return chosen


def _check_headers(by_key: dict[str, list[str]], claims: dict[str, list[tuple[str, Name]]],
                   what: str) -> None:
    for key, same in by_key.items():
        claimed = any(normalise(h) == key for found in claims.values() for h, _ in found)
        if len(same) > 1 and claimed:
            raise ColumnError(f"{what} has {len(same)} columns named "
                              + " and ".join(f"`{h}`" for h in same)
                              + "; keep one, or rename the others")
    owners: dict[str, list[tuple[str, Name]]] = {}
    for column, found in claims.items():
        for header, name in found:
            owners.setdefault(header, []).append((column, name))
    for header, cols in owners.items():
        if len(cols) > 1:
            means = ", ".join(f"`{c}` ({_origin(n)})" for c, n in cols)
            raise ColumnError(f"{what}: column `{header}` could be {means}; say which with a "
                              f"column mapping (`--columns`)")


def _check_claims(claims: dict[str, list[tuple[str, Name]]], what: str) -> None:
    for column, found in claims.items():
        if len({h for h, _ in found}) > 1:
            cols = " and ".join(f"`{h}` ({_origin(n)})" for h, n in found)
            raise ColumnError(f"{what}: both {cols} hold `{column}`; keep one, or say which with "
                              f"a column mapping (`--columns`)")


ORIGINS = {"policy": "its policy id", "crm": "the CRM field", "mapping": "the column mapping",
           "salesforce": "its Salesforce name", "hubspot": "its HubSpot name",
           "espocrm": "its EspoCRM name"}


def _origin(name: Name) -> str:
    return ORIGINS.get(name.origin, f"its {name.origin} name")


class Columns:
    """The column names of one policy, computed once, for every input file a command reads."""

    def __init__(self, policy: ir.Policy, mapping: Mapping[str, str] | None = None) -> None:
        self.policy, self.mapping = policy, dict(mapping or {})
        self._names: dict[str, tuple[Name, ...]] | None = None

    @property
    def names(self) -> dict[str, tuple[Name, ...]]:
        if self._names is None:
            self._names = known_names(self.policy)
        return self._names

    def find(self, headers: Iterable[str], wanted: Iterable[str], *, what: str = "the input"
             ) -> dict[str, str]:
        """wanted policy column -> input header (see `resolve`)."""
        wanted = list(wanted)
        mapping = {c: h for c, h in self.mapping.items() if c in wanted}
        return resolve(self.policy, headers, wanted, mapping=mapping, what=what,
                       names=self.names)


def read_mapping(path: str | None) -> dict[str, str]:
    """A column mapping file: a YAML (or JSON) mapping of policy column to input column."""
    if path is None:
        return {}
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh.read(1 << 20))
    except OSError as exc:
        raise ColumnError(f"--columns `{path}`: {exc.strerror or exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ColumnError(f"--columns `{path}` is not YAML: {str(exc).splitlines()[0]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ColumnError(f"--columns `{path}` must map policy columns to input column names, "
                          "e.g. `employees: Headcount`")
    return dict(data)
