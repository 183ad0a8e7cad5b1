"""Mutated real policies end in diagnostics (or clean builds), never in an exception.

Hypothesis picks nodes of the bundled examples and deletes them or replaces them with values of
other shapes; whatever comes out, validate must answer with diagnostics, and when it finds no
error every built-in target must build.
"""

from __future__ import annotations

import contextlib
import copy
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alignctl.api import check_policy
from alignctl.policy.diagnostics import Sink
from alignctl.policy.loader import read_policy
from alignctl.targets import base

from .conftest import EXAMPLES


def load(path: Path) -> dict:
    """The example as plain data, read by our own loader (keys stay text: `on:` is "on") with
    its includes merged in."""
    doc = read_policy(path, Sink())
    return copy.deepcopy(doc.data)


BASES = [load(p) for p in EXAMPLES]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False, width=32),
    st.sampled_from(["", "inquiry", "mql", "marketing", "sdr", "saas", "30d", "x >", "[[icp]]",
                     "employees >= 10", "has(page_view)", "<script>", "'; drop table leads; --",
                     "../../etc/passwd", "A", "never", "week"]),
    st.text(max_size=20))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(
        ["id", "kind", "when", "on", "points", "to", "after", "values", "type", "owner"]),
        inner, max_size=3)), max_leaves=6)


def build_all(policy) -> None:
    """Every built-in target builds, or refuses with a TargetError (shown as a diagnostic)."""
    for name in base.BUILTINS:
        with contextlib.suppress(base.TargetError):
            assert base.load(name).emit(policy)


def paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from paths(v, prefix + (i,))


def mutate(doc, path, action, value):
    if not path:
        return doc
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if action == "delete":
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return doc


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_examples_never_raise(tmp_path_factory, data) -> None:
    index = data.draw(st.integers(0, len(BASES) - 1))
    doc = copy.deepcopy(BASES[index])
    for _ in range(data.draw(st.integers(1, 3))):
        candidates = list(paths(doc))[1:]
        if not candidates:
            break
        path = data.draw(st.sampled_from(candidates))
        action = data.draw(st.sampled_from(["delete", "replace"]))
        doc = mutate(doc, path, action, data.draw(VALUES))
    path = tmp_path_factory.mktemp("fuzz") / "alignment.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "utf-8")
    result = check_policy(path)
    for d in result.diagnostics:
        assert d.span.line >= 1 and d.span.column >= 1, d
    if result.policy is not None and not result.errors:
        build_all(result.policy)


def leaves(doc):
    return [p for p in paths(doc) if p and not isinstance(_get(doc, p), dict | list)]


def _get(doc, path):
    for step in path:
        doc = doc[step]
    return doc


def same_shape(data, value, pool):
    if isinstance(value, bool):
        return data.draw(st.booleans())
    if isinstance(value, int):
        return data.draw(st.integers(-50, 5000))
    if isinstance(value, float):
        return data.draw(st.floats(0.001, 1.5))
    return data.draw(st.sampled_from(pool))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_same_shape_mutations_check_and_build(tmp_path_factory, data) -> None:
    """Numbers and ids swapped for others of the same shape: the checks and every target run."""
    doc = copy.deepcopy(BASES[0])
    pool = sorted({v for p in leaves(doc) if isinstance(v := _get(doc, p), str) and len(v) < 60})
    for _ in range(data.draw(st.integers(1, 6))):
        path = data.draw(st.sampled_from(leaves(doc)))
        doc = mutate(doc, path, "replace", same_shape(data, _get(doc, path), pool))
    path = tmp_path_factory.mktemp("shape") / "alignment.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "utf-8")
    result = check_policy(path)
    if result.policy is not None and not result.errors:
        build_all(result.policy)
