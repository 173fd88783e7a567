"""Builds a JSON value that satisfies a JSON schema (as `response_format: json_schema` sends it), from a text."""

from __future__ import annotations

import re
from typing import Any


def fill(schema: dict[str, Any], text: str, *, defs: dict[str, Any] | None = None, name: str = "") -> Any:
    """A deterministic instance of `schema`; strings are drawn from `text` so the answer reflects the input."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return fill(defs[schema["$ref"].rsplit("/", 1)[-1]], text, defs=defs, name=name)
    if "anyOf" in schema:
        options = [o for o in schema["anyOf"] if o.get("type") != "null"] or schema["anyOf"]
        return fill(options[0], text, defs=defs, name=name)
    if "enum" in schema:
        return schema["enum"][len(text) % len(schema["enum"])]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {key: fill(sub, text, defs=defs, name=key) for key, sub in props.items()}
    if kind == "array":
        return [fill(schema.get("items", {}), text, defs=defs, name=name)]
    if kind == "boolean":
        return True
    if kind == "integer":
        return len(text) % 100
    if kind == "number":
        return round((len(text) % 1000) / 10, 1)
    if kind == "null":
        return None
    return _string(name, text)


_UTTERANCE = re.compile(r"^\[[\d:]+\]\s*(?P<speaker>[\w-]+):\s*(?P<text>.+)$")


def _string(name: str, text: str) -> str:
    """Text for a string field: the customer's first words for summaries, an agent's for evidence."""
    said = [m.groupdict() for line in text.splitlines() if (m := _UTTERANCE.match(line.strip()))]
    customer = next((u["text"] for u in said if u["speaker"] == "customer"), None)
    agent = next((u["text"] for u in said if u["speaker"].startswith("agent")), None)
    first = customer or agent or text.strip()[:80] or name
    if name == "language":
        return "en"
    if name == "summary":
        return f"The customer called and said: {first}"[:300]
    if name == "reason_for_call":
        return first[:200]
    if name == "evidence":
        return (agent or first)[:200]
    return (first.split(".")[0] or name)[:60]
