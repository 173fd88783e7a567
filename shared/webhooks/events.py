"""The Contact Center webhook envelope (CloudEvents-like) and the `capture:available` event's data.

Envelope, as documented for Contact Center subscriptions: `id` (the event id, what deduplication keys on),
`specversion` ("1.0"), `type` (e.g. `capture:available`), `source` (ends in the subscription id), `comciscoorgid`,
`datacontenttype`, `data`, and for V2 subscriptions `comciscotimestamp` (epoch ms, a string or a number).
`capture:available` data: `taskId`, `filePath` (a presigned URL: never stored or logged), `createdTime`.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

CAPTURE_AVAILABLE = "capture:available"


class MalformedEvent(Exception):
    """A body that is not a webhook envelope (or not a valid event of its type); the message says why."""


class WebhookEvent(BaseModel):
    """A delivery's envelope; unknown fields are kept out of the way, not refused (Cisco may add some)."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=200)
    specversion: str | None = None
    source: str | None = Field(default=None, max_length=1000)
    comciscoorgid: str = Field(min_length=1, max_length=200)
    datacontenttype: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    comciscotimestamp: int | None = None

    @field_validator("comciscotimestamp", mode="before")
    @classmethod
    def _epoch_ms(cls, value: Any) -> Any:
        """Documented as a string in samples and a number elsewhere: accept both, as an int."""
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        if isinstance(value, bool) or (value is not None and not isinstance(value, int)):
            raise ValueError("comciscotimestamp must be epoch milliseconds")
        return value


class CaptureAvailable(BaseModel):
    """The data of a `capture:available` event: the task whose recording can now be fetched."""

    model_config = ConfigDict(extra="ignore")

    taskId: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
    createdTime: int | None = Field(default=None, ge=0)


def _first_error(exc: ValidationError, *where: str) -> str:
    err = exc.errors(include_url=False, include_input=False)[0]
    field = ".".join(str(p) for p in (*where, *err["loc"])) or "body"
    return f"{field}: {err['msg']}"


def parse_event(body: bytes) -> WebhookEvent:
    """The envelope of a body, or `MalformedEvent` naming the first problem."""
    try:
        raw = json.loads(body)
    except ValueError as exc:
        raise MalformedEvent(f"the body is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise MalformedEvent(f"the body is JSON {type(raw).__name__}, not an object")
    try:
        return WebhookEvent.model_validate(raw)
    except ValidationError as exc:
        raise MalformedEvent(_first_error(exc)) from None


def capture_of(event: WebhookEvent) -> CaptureAvailable:
    """The data of a `capture:available` event, or `MalformedEvent`."""
    try:
        return CaptureAvailable.model_validate(event.data)
    except ValidationError as exc:
        raise MalformedEvent(_first_error(exc, "data")) from None
