"""WXCC failures, each one of the DESIGN §5 classes, carrying WXCC's tracking id and message."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import ValidationError

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


class WxccMalformedResponse(WxccRetryable):
    """A 2xx answer without the documented shape: not JSON, not an object, a required field missing or mistyped.

    The message names the endpoint and the fields (never the values: a token answer may hold secrets). Retryable —
    a proxy's error page or a half-deployed API change may pass — so the request is retried a bounded number of
    times, then the message is, and its last receive dead-letters it with this reason.
    """

    def __init__(self, message: str, *, endpoint: str, fields: tuple[str, ...] = (), status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.endpoint = endpoint
        self.fields = fields


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
        # WXCC's key is usually the HTTP status again ("403"): the caller shows the status already.
        shown_key = key if key and not str(key).strip().isdigit() else None
        return tracking, f"{shown_key}: {text}" if shown_key else text
    return tracking, str(body.get("message") or body)[:500]


def malformed_body(where: str, resp: httpx.Response) -> WxccMalformedResponse | None:
    """Why a 2xx body is not a JSON object (naming the endpoint, showing no content), or None when it is one."""
    content_type = resp.headers.get("Content-Type", "no content type").split(";")[0].strip()
    if not resp.content:
        problem = f"empty body ({content_type})"
    else:
        try:
            body = resp.json()
        except ValueError:
            problem = f"body is not JSON ({content_type}, {len(resp.content)} bytes)"
        else:
            if isinstance(body, dict):
                return None
            problem = f"body is JSON {type(body).__name__}, not an object"
    return WxccMalformedResponse(
        f"{where} → {resp.status_code}: malformed response: {problem}", endpoint=where, status=resp.status_code
    )


def validation_failure(
    where: str, exc: ValidationError, *, prefix: tuple[str | int, ...] = ()
) -> WxccMalformedResponse:
    """A model validation error of a 2xx body as a `WxccMalformedResponse` naming the endpoint and each field
    (`prefix`: where in the body the validated part sits, e.g. `("data", 3)` for one entry of a list)."""
    errors = exc.errors(include_url=False, include_input=False)
    fields = tuple(dict.fromkeys(".".join(str(p) for p in (*prefix, *e["loc"])) for e in errors))
    problems = "; ".join(f"{'.'.join(str(p) for p in (*prefix, *e['loc']))}: {e['msg']}" for e in errors[:5])
    more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
    return WxccMalformedResponse(f"{where}: malformed response: {problems}{more}", endpoint=where, fields=fields)


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
