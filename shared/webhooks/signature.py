"""Verifies a WXCC Contact Center webhook delivery: HMAC-SHA256 over the raw body, the V2 timestamp, a replay window.

What was followed (Webex developer docs: "Receive and verify Contact Center webhooks", "Using webhooks" and the
Contact Center Subscriptions API reference):
- `X-WebexCC-Signature`: the hex HMAC-SHA256 of the *unmodified* request body, keyed with the secret given when the
  subscription was registered (32-256 characters). It is sent only when the subscription has a secret.
- V2 subscriptions add `X-WebExCC-Timestamp` (epoch ms when the event was dispatched; it must equal the body's
  `comciscotimestamp`, which the signature covers) and `X-WebexCC-Webhook-Version` (the resource version, e.g.
  `capture:1.0.0`). A delivery whose timestamp is outside an acceptable timeframe is to be treated as unauthenticated:
  that is the replay protection. V1 subscriptions carry the signature only.
- Delivery is not guaranteed, may be duplicated or out of order, and must be acknowledged (any 2xx) within 5 s.

Where callpipe is stricter than Cisco's sample receiver: the comparison is constant time (`hmac.compare_digest`), the
window is bounded in both directions (a future-dated timestamp is refused too), and an unauthenticated delivery gets a
4xx (the sample answers 200) so that nothing about it looks accepted. Several secrets may be valid at once (rotation).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

SIGNATURE_HEADER = "X-WebexCC-Signature"
TIMESTAMP_HEADER = "X-WebExCC-Timestamp"  # Cisco's spelling; HTTP header names are case-insensitive
VERSION_HEADER = "X-WebexCC-Webhook-Version"


class DeliveryRefused(Exception):
    """A delivery that must not be acted on: its HTTP status, a stable code and a reason (never the secret)."""

    def __init__(self, status: int, code: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.code = code
        self.reason = reason


def sign(body: bytes, secret: str) -> str:
    """The `X-WebexCC-Signature` value of a body: hex HMAC-SHA256 keyed with the subscription's secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Verified:
    """What the headers of an authentic delivery said: its version (None for V1) and timestamp (None for V1)."""

    version: str | None
    timestamp_ms: int | None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:  # plain dicts (tests, the simulator) are case-sensitive; aiohttp's CIMultiDict is not
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value.strip() if value is not None else None


def verify_signature(body: bytes, headers: Mapping[str, str], secrets: Sequence[str]) -> None:
    """Raise `DeliveryRefused` (401) unless the body's HMAC under one of `secrets` equals the signature header."""
    presented = _header(headers, SIGNATURE_HEADER)
    if not presented:
        raise DeliveryRefused(401, "signature_missing", f"the {SIGNATURE_HEADER} header is missing")
    if not secrets:
        raise DeliveryRefused(401, "no_secret", "no webhook secret is configured: no delivery can be verified")
    candidate = presented.lower().encode()
    matches = [hmac.compare_digest(sign(body, s).encode(), candidate) for s in secrets]  # every secret, always
    if not any(matches):
        raise DeliveryRefused(401, "signature_mismatch", f"the {SIGNATURE_HEADER} does not match the body")


def verify_freshness(
    headers: Mapping[str, str],
    body_timestamp: int | None,
    *,
    now_ms: int,
    tolerance_s: float,
    require_v2: bool,
) -> Verified:
    """Check the V2 timestamp (equal to the signed body's, within ± `tolerance_s` of now); V1 only if allowed."""
    version = _header(headers, VERSION_HEADER)
    raw = _header(headers, TIMESTAMP_HEADER)
    if raw is None and body_timestamp is None and version is None:
        if require_v2:
            raise DeliveryRefused(
                401, "timestamp_missing", f"a V1 delivery (no {TIMESTAMP_HEADER}) has no replay protection: refused"
            )
        return Verified(None, None)
    if raw is None or not raw.isdigit():
        raise DeliveryRefused(401, "timestamp_missing", f"the {TIMESTAMP_HEADER} header is missing or not epoch ms")
    stamp = int(raw)
    if body_timestamp is None or body_timestamp != stamp:
        raise DeliveryRefused(
            401, "timestamp_mismatch", f"the {TIMESTAMP_HEADER} header differs from the body's comciscotimestamp"
        )
    age_s = (now_ms - stamp) / 1000
    if abs(age_s) > tolerance_s:
        word = "old" if age_s > 0 else "in the future"
        raise DeliveryRefused(
            401, "stale_delivery", f"the delivery is {abs(age_s):.0f} s {word} (window ± {tolerance_s:g} s): replay?"
        )
    return Verified(version, stamp)
