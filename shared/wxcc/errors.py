"""WXCC failures, each one of the DESIGN §5 classes, carrying WXCC's tracking id and message."""

from __future__ import annotations

from typing import Any

import httpx

from shared.errors import Permanent, Retryable


class WxccFailure:
    """Mixin: the HTTP status, WXCC's `trackingId` and the error text of a failed request."""

    status: int | None
    tracking_id: str | None

    def _init_wxcc(self, status: int | None, tracking_id: str | None) -> None:
        self.status = status
        self.tracking_id = tracking_id


class WxccRetryable(Retryable, WxccFailure):
    """429, 5xx, a timeout or a dropped connection: try again later (honouring `retry_after`)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        tracking_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, retry_after=retry_after)
        self._init_wxcc(status, tracking_id)


class WxccPermanent(Permanent, WxccFailure):
    """A 4xx that will not change on retry (bad request, forbidden, not found)."""

    def __init__(self, message: str, *, status: int | None = None, tracking_id: str | None = None) -> None:
        super().__init__(message)
        self._init_wxcc(status, tracking_id)


class WxccAuthError(WxccPermanent):
    """Credentials were refused even after a fresh token: an operator must fix the configuration."""


class RecordingRejected(Permanent):
    """A recording URL that must not be fetched (host off the allow-list, redirect off it, over the size cap)."""


def describe_error(body: Any) -> tuple[str | None, str]:
    """WXCC's `trackingId` and a readable message from an error body of the documented shape (or anything else)."""
    if not isinstance(body, dict):
        return None, str(body)[:500]
    tracking = body.get("trackingId")
    error = body.get("error")
    if isinstance(error, dict):
        parts = [m.get("description", "") for m in error.get("message", []) if isinstance(m, dict)]
        key = error.get("key")
        text = "; ".join(p for p in parts if p) or str(error)
        return tracking, f"{key}: {text}" if key else text
    return tracking, str(body.get("message") or body)[:500]


def json_or_text(resp: httpx.Response) -> Any:
    """A response body as JSON when it is JSON, else as text."""
    try:
        return resp.json()
    except ValueError:
        return resp.text


def retry_after(resp: httpx.Response) -> float | None:
    """The `Retry-After` header in seconds, when given as a number."""
    value = resp.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
