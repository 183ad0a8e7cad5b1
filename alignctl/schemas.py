"""The published JSON Schemas: `policy` (the language), `scoring` and `fields` (build outputs)."""

from __future__ import annotations

import json
from pathlib import Path


def load_schema(kind: str) -> dict:
    """The schema named `kind`; LookupError when it does not exist (yet)."""
    if kind == "policy":
        from alignctl.policy.schema import policy_schema

        return policy_schema()
    from alignctl import targets

    path = Path(targets.__file__).parent / "schemas" / f"{kind}.schema.json"
    if not path.is_file():
        raise LookupError(f"no `{kind}` schema is published by this version")
    return json.loads(path.read_text("utf-8"))
