"""The WXCC Contact Center Subscriptions API (V2): register, list and delete webhook subscriptions.

Shapes followed (Webex developer docs, Contact Center "Subscriptions" reference and "Register and manage
subscriptions"): `POST /v2/subscriptions` with `name` (4-64), `description`, `eventTypes` (1-32), `destinationUrl`
(HTTPS on 443 with a path; no query, credentials or fragment), `secret` (32-256 characters: it signs every delivery)
and `resourceVersion` (e.g. `capture:1.0.0`); `GET /v2/subscriptions`; `DELETE /v2/subscriptions/{id}` (204).
Subscriptions made with V2 are visible only through the V2 routes. The secret is sent once and never echoed back.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, ConfigDict, Field

from shared.wxcc.client import WxccClient

CAPTURE_RESOURCE_VERSION = "capture:1.0.0"
PATH = "/v2/subscriptions"


class Subscription(BaseModel):
    """A subscription as WXCC lists it (no secret)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str
    name: str = ""
    description: str = ""
    event_types: list[str] = Field(default_factory=list, alias="eventTypes")
    destination_url: str = Field(default="", alias="destinationUrl")
    resource_version: str = Field(default="", alias="resourceVersion")
    status: str | None = None
    created_time: int | None = Field(default=None, alias="createdTime")


def check_destination(url: str, *, allow_http: bool = False) -> str:
    """The destination URL, or ValueError saying why WXCC would refuse it."""
    parts = urlsplit(url)
    if parts.scheme != "https" and not (allow_http and parts.scheme == "http"):
        raise ValueError("the webhook URL must be https")
    if not parts.hostname or parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("the webhook URL needs a host and no credentials, query or fragment")
    if parts.port not in (None, 443) and not allow_http:
        raise ValueError("the webhook URL must use port 443")
    if not parts.path:
        raise ValueError("the webhook URL needs a path (at least /)")
    return url


def _items(body: dict[str, Any]) -> list[dict[str, Any]]:
    for key in ("items", "data", "subscriptions"):
        value = body.get(key)
        if isinstance(value, list):
            return [v for v in value if isinstance(v, dict)]
    return []


class SubscriptionsApi:
    """The three calls `callpipe webhooks` makes, through the WXCC client (token, budget, retries, errors)."""

    def __init__(self, client: WxccClient) -> None:
        self._client = client

    def _params(self) -> dict[str, str]:
        return {"orgId": self._client.org_id} if self._client.org_id else {}

    async def create(
        self, *, name: str, destination_url: str, secret: str, event_types: tuple[str, ...] = ("capture:available",)
    ) -> Subscription:
        """Register a subscription whose deliveries are signed with `secret`."""
        body = {
            "name": name,
            "description": "callpipe: analyse a call as soon as its recording is available",
            "eventTypes": list(event_types),
            "destinationUrl": destination_url,
            "secret": secret,
            "resourceVersion": CAPTURE_RESOURCE_VERSION,
        }
        answer = await self._client.request("POST", PATH, params=self._params(), json=body)
        return Subscription.model_validate(answer)

    async def list(self) -> list[Subscription]:
        """Every V2 subscription of the org."""
        answer = await self._client.request("GET", PATH, params=self._params())
        return [Subscription.model_validate(item) for item in _items(answer)]

    async def delete(self, subscription_id: str) -> None:
        """Delete one subscription (WXCC stops sending to it)."""
        await self._client.request("DELETE", f"{PATH}/{quote(subscription_id, safe='')}", params=self._params())
