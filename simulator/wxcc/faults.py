"""Fault injection rules (429, 5xx, slow, truncated downloads, expired URLs, malformed answers) and their engine.

A rule fires on the next `count` matching requests, or with `probability` per matching request (both: with that
probability, at most `count` times). Probabilistic decisions are a hash of (seed, rule, endpoint, n-th request to that
endpoint), so the same requests against the same seed see the same faults, however requests to other endpoints
interleave.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

FaultKind = Literal["rate_limit", "server_error", "slow", "truncate", "expired_url", "malformed"]
Mutation = Literal["any", "drop_field", "wrong_type", "extra_fields", "html", "truncated", "empty"]
Endpoint = Literal["token", "tasks", "search", "captures", "recordings", "*"]
ENDPOINTS: tuple[str, ...] = ("token", "tasks", "search", "captures", "recordings")
"""Every endpoint a fault can hit (the control API never faults)."""
KINDS: tuple[str, ...] = ("rate_limit", "server_error", "slow", "truncate", "expired_url", "malformed")


class FaultRule(BaseModel):
    """One fault to inject; JSON accepts camelCase (`retryAfterS`) or snake_case (`retry_after_s`) keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)

    kind: FaultKind
    endpoints: tuple[Endpoint, ...] = ("*",)
    probability: float | None = Field(default=None, ge=0, le=1)
    count: int | None = Field(default=None, ge=1, description="the next N matching requests")
    retry_after_s: int = Field(default=1, ge=0, description="rate_limit: the Retry-After header")
    status: int = Field(default=503, ge=500, le=599, description="server_error: the status sent")
    delay_s: float = Field(default=1.0, ge=0, le=300, description="slow: seconds before the response")
    fraction: float = Field(
        default=0.5, ge=0, lt=1, description="truncate: share of the body sent before the connection drops"
    )
    mutation: Mutation = Field(
        default="any", description="malformed: how a 200 JSON answer is spoiled (`any`: each mutation in turn)"
    )
    field: str | None = Field(
        default=None,
        max_length=200,
        description="malformed drop_field / wrong_type: dotted path into the body (default: per endpoint)",
    )

    @model_validator(mode="after")
    def _check(self) -> FaultRule:
        if self.probability is None and self.count is None:
            raise ValueError("a fault needs `probability`, `count`, or both")
        return self

    def matches(self, endpoint: str) -> bool:
        """Whether the rule applies to requests to `endpoint`."""
        return "*" in self.endpoints or endpoint in self.endpoints


@dataclass
class _Active:
    id: int
    rule: FaultRule
    remaining: int | None
    seen: Counter[str] = field(default_factory=Counter)


def _draw(seed: int, rule_id: int, endpoint: str, n: int) -> float:
    digest = hashlib.blake2b(f"{seed}:{rule_id}:{endpoint}:{n}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class FaultEngine:
    """The active rules, which of them fire for each request, and how many faults of each kind were injected."""

    def __init__(self, rules: tuple[FaultRule, ...] | list[FaultRule], seed: int) -> None:
        self._seed = seed
        self._next_id = 1
        self._active: list[_Active] = []
        self.injected: Counter[str] = Counter()
        self.add(rules)

    def add(self, rules: tuple[FaultRule, ...] | list[FaultRule]) -> None:
        """Append rules after the active ones."""
        for rule in rules:
            self._active.append(_Active(self._next_id, rule, rule.count))
            self._next_id += 1

    def replace(self, rules: tuple[FaultRule, ...] | list[FaultRule]) -> None:
        """Drop every active rule, then add `rules` (rule ids keep counting, so draws do not repeat)."""
        self._active.clear()
        self.add(rules)

    def take(self, kind: str, endpoint: str) -> FaultRule | None:
        """The first rule of `kind` that fires for this request to `endpoint` (consuming one of its count), or None."""
        for active in self._active:
            rule = active.rule
            if rule.kind != kind or not rule.matches(endpoint) or active.remaining == 0:
                continue
            active.seen[endpoint] += 1
            if rule.probability is not None and _draw(self._seed, active.id, endpoint, active.seen[endpoint]) >= (
                rule.probability
            ):
                continue
            if active.remaining is not None:
                active.remaining -= 1
            self.injected[kind] += 1
            return rule
        return None

    def describe(self) -> list[dict[str, Any]]:
        """The active rules as JSON, with `remaining` (None: unlimited) and `id`."""
        return [
            {"id": a.id, **a.rule.model_dump(by_alias=True, exclude_none=True), "remaining": a.remaining}
            for a in self._active
        ]
