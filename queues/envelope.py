"""The one message envelope every queue carries (DESIGN §4), and its SQS wire form."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.errors import PoisonMessage

SCHEMA_VERSION = 1
SUPPORTED_SCHEMA_VERSIONS = frozenset({1})
MAX_ATTEMPT = 10_000  # far above any real wait; an absurd attempt (10**30) would make the backoff arithmetic explode

# Message attribute names. SQS allows 10 per message; the DLQ path adds the error ones.
ATTR_KIND = "kind"
ATTR_JOURNEY = "journey_id"
ATTR_SCHEMA = "schema_version"
ATTR_CLAIM_CHECK = "claim_check"
ATTR_ERROR_TYPE = "error_type"
ATTR_ERROR_MESSAGE = "error_message"
ATTR_SOURCE_QUEUE = "source_queue"


class Kind(StrEnum):
    """Which stage a message is for."""

    POLL = "poll"
    FETCH = "fetch"
    TRANSCRIBE = "transcribe"
    ANALYZE = "analyze"
    ECHO = "echo"


def _now() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    """A unit of work for one stage; `payload` is the stage's own model, validated by the stage."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int = SCHEMA_VERSION
    kind: Kind
    journey_id: str = Field(min_length=1, max_length=128)
    task_id: str | None = Field(default=None, max_length=256)
    attempt: int = Field(default=1, ge=1, le=MAX_ATTEMPT)
    trace_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    created_at: datetime = Field(default_factory=_now)
    payload: dict[str, Any] = Field(default_factory=dict)

    def to_body(self) -> str:
        """The JSON body sent to SQS."""
        return self.model_dump_json()

    def message_attributes(self) -> dict[str, dict[str, str]]:
        """SQS message attributes that repeat the routing fields, so a DLQ can be filtered unparsed."""
        return {
            ATTR_KIND: {"DataType": "String", "StringValue": self.kind.value},
            ATTR_JOURNEY: {"DataType": "String", "StringValue": self.journey_id},
            ATTR_SCHEMA: {"DataType": "Number", "StringValue": str(self.schema_version)},
        }

    @classmethod
    def from_body(cls, body: str) -> Envelope:
        """Parse an SQS body; anything unreadable raises `PoisonMessage` with the reason.

        Unreadable includes what `json.loads` alone would let through or choke on: NaN/Infinity, nesting deep enough
        to exhaust the recursion limit, integers too long to convert, and a `schema_version` that is not exactly a
        supported integer (`true` and `1.0` are not version 1).
        """
        try:
            raw = json.loads(body, parse_constant=_reject_constant)
        except (ValueError, RecursionError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
            raise PoisonMessage(f"body is not JSON: {_short(exc)}") from exc
        if not isinstance(raw, dict):
            raise PoisonMessage(f"body is JSON {type(raw).__name__}, not an object")
        version = raw.get("schema_version")
        if type(version) is not int or version not in SUPPORTED_SCHEMA_VERSIONS:
            supported = sorted(SUPPORTED_SCHEMA_VERSIONS)
            raise PoisonMessage(f"unknown schema_version {_short_repr(version)}; supported: {supported}")
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
            raise PoisonMessage(f"envelope does not validate: {problems}") from exc


def sqs_message_size(body: str, attributes: dict[str, Any]) -> int:
    """The size SQS checks against a queue's `MaximumMessageSize`: the body's UTF-8 bytes plus, per message
    attribute, the bytes of its name, its data type and its value."""
    size = len(body.encode())
    for name, value in attributes.items():
        size += len(name.encode()) + len(str(value.get("DataType", "")).encode())
        if "BinaryValue" in value:
            size += len(value["BinaryValue"])
        else:
            size += len(str(value.get("StringValue", "")).encode())
    return size


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _short(exc: BaseException) -> str:
    return str(exc)[:200] or type(exc).__name__


def _short_repr(value: Any) -> str:
    """A value as an error message shows it: its repr, cut after 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "…"
