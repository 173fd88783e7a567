"""Building WXCC Contact Center webhook deliveries for tests: V2 envelope, headers and signature (computed here)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

SECRET = "test-webhook-secret-0123456789abcdef0123456789"


def delivery(
    task_id: str,
    org_id: str,
    *,
    secret: str = SECRET,
    event_type: str = "capture:available",
    event_id: str | None = None,
    stamp_ms: int | None = None,
    header_stamp_ms: int | None = None,
    data: dict[str, Any] | None = None,
    v1: bool = False,
    raw: bytes | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A signed delivery (body, headers) of one event; the knobs make it wrong in one way at a time."""
    stamp = stamp_ms if stamp_ms is not None else int(time.time() * 1000)
    envelope: dict[str, Any] = {
        "id": event_id or str(uuid.uuid4()),
        "specversion": "1.0",
        "type": event_type,
        "source": "/com/cisco/wxcc/sub-test",
        "comciscoorgid": org_id,
        "datacontenttype": "application/json",
        "data": data if data is not None else {"taskId": task_id, "createdTime": stamp - 1000},
    }
    if not v1:
        envelope["comciscotimestamp"] = str(stamp)
    body = raw if raw is not None else json.dumps(envelope).encode()
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["X-WebexCC-Signature"] = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not v1:
        headers["X-WebExCC-Timestamp"] = str(header_stamp_ms if header_stamp_ms is not None else stamp)
        headers["X-WebexCC-Webhook-Version"] = "capture:1.0.0"
    return body, headers


def event_id_of(body: bytes) -> str:
    return str(json.loads(body)["id"])
