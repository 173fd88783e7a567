"""Compare a JSON value's shape (keys, nesting, value types) with the example payloads in `examples/`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).parent / "examples"


def example(name: str) -> Any:
    """One of the example payloads (copied from the shared WXCC fixtures)."""
    return json.loads((EXAMPLES / name).read_text())


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


@dataclass
class Shape:
    """What the examples show for one position: the value kinds seen, object keys (and which are always there)."""

    kinds: set[str] = field(default_factory=set)
    keys: dict[str, Shape] = field(default_factory=dict)
    required: set[str] | None = None
    items: Shape | None = None

    def add(self, value: Any) -> None:
        self.kinds.add(_kind(value))
        if isinstance(value, dict):
            self.required = set(value) if self.required is None else self.required & set(value)
            for key, sub in value.items():
                self.keys.setdefault(key, Shape()).add(sub)
        elif isinstance(value, list):
            self.items = self.items or Shape()
            for item in value:
                self.items.add(item)


def shape_of(value: Any) -> Shape:
    """The shape of an example value."""
    shape = Shape()
    shape.add(value)
    return shape


def assert_shape(actual: Any, expected: Shape, path: str = "$", *, nullable: frozenset[str] = frozenset()) -> None:
    """Fail unless `actual` has only keys the examples have, every key they always have, and the same value kinds.

    Keys named in `nullable` may also be null (GraphQL sends null for a missing object).
    """
    kind = _kind(actual)
    allowed = expected.kinds | ({"null"} if path.rsplit(".", 1)[-1] in nullable else set())
    assert kind in allowed or "null" in expected.kinds, f"{path}: {kind} where the examples have {expected.kinds}"
    if isinstance(actual, dict) and expected.keys:
        extra = set(actual) - set(expected.keys)
        missing = (expected.required or set()) - set(actual)
        assert not extra, f"{path}: keys not in the examples: {sorted(extra)}"
        assert not missing, f"{path}: keys the examples always have are missing: {sorted(missing)}"
        for key, value in actual.items():
            assert_shape(value, expected.keys[key], f"{path}.{key}", nullable=nullable)
    elif isinstance(actual, list) and expected.items is not None:
        for i, item in enumerate(actual):
            assert_shape(item, expected.items, f"{path}[{i}]", nullable=nullable)


def keys_seen(values: list[dict[str, Any]]) -> set[str]:
    """Every key any of the objects has."""
    return set().union(*(v.keys() for v in values)) if values else set()
