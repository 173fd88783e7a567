"""`POST /api/v1/webhooks/wxcc`: the WXCC Contact Center webhook receiver (the fast path's front door).

Public in the API-key sense: a delivery is authenticated by its signature (`shared.webhooks.signature`, which cites
the Webex pages followed). In order, with no side effect before step 5:

  1. body over `CALLPIPE_WEBHOOK_MAX_BODY_BYTES` → 413 (read no further)
  2. no / wrong `X-WebexCC-Signature` (HMAC-SHA256 of the raw bytes, constant-time compare) → 401
  3. not an envelope → 400 with the reason; a V2 timestamp that differs from the body's or lies outside
     ± `CALLPIPE_WEBHOOK_TOLERANCE_S` (a replay) → 401; another org's event → 403
  4. an event type other than `capture:available` → 200 `ignored` (acknowledged, nothing done)
  5. dedupe by event id (conditional put with a TTL): accepted before → 200 `duplicate`; being accepted by another
     delivery right now → 409 (WXCC retries)
  6. claim the call under the org's live journey (`shared.webhooks.claim`) and send its fetch message
  7. 202 `accepted` — only once the fetch message is in SQS (or the call was already found); if SQS cannot take it
     → 503, the claim is rolled back and the event id forgotten, so a retry (or the reconciliation poll) does it.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web
from pydantic import BaseModel

from api.context import ApiContext, ctx
from api.errors import ApiError, ErrorBody
from api.parsing import json_response
from api.routing import Route, RouteGroup
from queues.envelope import Envelope, Kind
from shared.journeys import Journey
from shared.logging import get_logger
from shared.webhooks.claim import Claim, LiveClaims
from shared.webhooks.events import CAPTURE_AVAILABLE, MalformedEvent, capture_of, parse_event
from shared.webhooks.ledger import EventLedger, Mark
from shared.webhooks.secrets import SecretSource
from shared.webhooks.signature import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    VERSION_HEADER,
    DeliveryRefused,
    verify_freshness,
    verify_signature,
)

log = get_logger(__name__)
PREFIX = "/api/v1"


class WebhookAck(BaseModel):
    """What the receiver did with a delivery it acknowledged."""

    status: Literal["accepted", "duplicate", "ignored"]
    event_id: str
    task_id: str | None = None
    claim: Literal["CLAIMED", "RESEND", "FOUND_BEFORE", "ERASED"] | None = None


@dataclass
class _Receiver:
    """Per-server state of the receiver: secrets cache, ledger, claims, the live journeys made so far."""

    secrets: SecretSource
    ledger: EventLedger
    claims: LiveClaims
    live: dict[str, Journey] = field(default_factory=dict)

    async def live_journey(self, c: ApiContext, org_id: str) -> Journey:
        journey = self.live.get(org_id)
        if journey is None:
            journey = await c.journeys.ensure_live(org_id, pipeline_version=c.settings.pipeline_version)
            self.live[org_id] = journey
        return journey


_RECEIVERS: weakref.WeakKeyDictionary[web.Application, _Receiver] = weakref.WeakKeyDictionary()


def _receiver(request: web.Request) -> _Receiver:
    receiver = _RECEIVERS.get(request.app)
    if receiver is None:
        c = ctx(request)
        s = c.settings
        receiver = _Receiver(
            secrets=SecretSource(s),
            ledger=EventLedger(c.dynamodb, c.resources.coordination_table.name, ttl_s=s.webhook_dedupe_ttl_s),
            claims=LiveClaims(c.dynamodb, c.journeys, c.tracking, lease_s=s.stage_lease_s),
        )
        _RECEIVERS[request.app] = receiver
    return receiver


async def _body(request: web.Request, limit: int) -> bytes:
    """The raw body, or 413 as soon as it passes `limit` bytes (declared or streamed)."""
    too_large = ApiError(413, "payload_too_large", f"a webhook body is at most {limit} bytes", {"limit": limit})
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(16 * 1024):
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _refused(exc: DeliveryRefused | MalformedEvent) -> ApiError:
    if isinstance(exc, MalformedEvent):
        return ApiError(400, "malformed_event", f"not a Contact Center webhook event: {exc}")
    return ApiError(exc.status, exc.code, exc.reason)


async def receive(request: web.Request) -> web.Response:
    """Verify, deduplicate and durably accept a WXCC webhook delivery (see the module docstring)."""
    c = ctx(request)
    s = c.settings
    receiver = _receiver(request)
    body = await _body(request, s.webhook_max_body_bytes)
    try:
        verify_signature(body, request.headers, await receiver.secrets.current())
        event = parse_event(body)
        verify_freshness(
            request.headers,
            event.comciscotimestamp,
            now_ms=int(time.time() * 1000),
            tolerance_s=s.webhook_tolerance_s,
            require_v2=s.webhook_require_v2,
        )
    except (DeliveryRefused, MalformedEvent) as exc:
        error = _refused(exc)
        log.warning("webhook_refused", status=error.status, code=error.code, reason=error.message)
        raise error from None
    if s.wxcc_org_id and event.comciscoorgid != s.wxcc_org_id:
        raise ApiError(403, "org_not_served", f"this deployment serves org {s.wxcc_org_id}, not the event's org")
    if event.type != CAPTURE_AVAILABLE:
        log.info("webhook_ignored", event_type=event.type[:100], event_id=event.id)
        return json_response(WebhookAck(status="ignored", event_id=event.id))
    try:
        capture = capture_of(event)
    except MalformedEvent as exc:
        raise _refused(exc) from None

    mark = await receiver.ledger.begin(event.id)
    if mark is Mark.DONE:
        log.info("webhook_duplicate", event_id=event.id, task_id=capture.taskId)
        return json_response(WebhookAck(status="duplicate", event_id=event.id, task_id=capture.taskId))
    if mark is Mark.IN_PROGRESS:
        raise ApiError(
            409,
            "delivery_in_progress",
            "another delivery of this event is being accepted",
            headers={"Retry-After": "5"},
        )
    org = event.comciscoorgid
    try:
        journey = await receiver.live_journey(c, org)
        facts: dict[str, object] = {"capture_requested": True, "source": "webhook"}
        if capture.createdTime:
            facts["capture_created_ms"] = capture.createdTime
        claim = await receiver.claims.claim(journey, org, capture.taskId, facts)
    except Exception:
        await receiver.ledger.release(event.id)
        raise
    if claim in (Claim.CLAIMED, Claim.RESEND):
        fetch = Envelope(
            kind=Kind.FETCH,
            journey_id=journey.id,
            task_id=capture.taskId,
            payload={"org_id": org, "task_id": capture.taskId},
        )
        try:
            await c.producer.send([fetch])
        except Exception as exc:  # SQS unreachable or refusing: no ack, nothing left behind
            log.error("webhook_not_queued", event_id=event.id, task_id=capture.taskId, error=type(exc).__name__)
            if claim is Claim.CLAIMED:
                await receiver.claims.rollback(journey, org, capture.taskId)
            await receiver.ledger.release(event.id)
            raise ApiError(
                503, "queue_unavailable", "the event could not be queued; retry later", headers={"Retry-After": "30"}
            ) from None
    await receiver.ledger.done(event.id)
    log.info("webhook_accepted", event_id=event.id, task_id=capture.taskId, claim=claim.value)
    ack = WebhookAck(status="accepted", event_id=event.id, task_id=capture.taskId, claim=claim.value)
    return json_response(ack, status=202)


_NOTES = {
    200: "Acknowledged without work: an event type other than capture:available (`ignored`), or an event id "
    "already accepted (`duplicate`).",
    202: "The call was claimed under the org's live journey and its fetch message is queued (or it was already "
    "found by a poll journey).",
    400: "Signed, but not a Contact Center event (or a capture:available without a valid data.taskId).",
    401: "Unsigned, mis-signed, a V1 delivery while V2 is required, or a timestamp outside the replay window.",
    403: "An event of an org this deployment does not serve.",
    409: "Another delivery of the same event is being accepted at this moment.",
    413: "The body is over CALLPIPE_WEBHOOK_MAX_BODY_BYTES.",
    503: "The queue could not take the fetch message: nothing was kept, retry.",
}

GROUP = RouteGroup(
    PREFIX,
    [
        Route(
            "POST",
            "/webhooks/wxcc",
            receive,
            "receiveWxccWebhook",
            "Receive a WXCC Contact Center webhook (capture:available)",
            "webhooks",
            {
                200: WebhookAck,
                202: WebhookAck,
                400: ErrorBody,
                401: ErrorBody,
                403: ErrorBody,
                409: ErrorBody,
                413: ErrorBody,
                503: ErrorBody,
            },
            headers={
                SIGNATURE_HEADER: "Hex HMAC-SHA256 of the raw body, keyed with the subscription's secret.",
                TIMESTAMP_HEADER: "V2: epoch ms of dispatch; equals the body's comciscotimestamp.",
                VERSION_HEADER: "V2: the event's resource version, e.g. capture:1.0.0.",
            },
            notes=_NOTES,
            public=True,  # authenticated by the signature, not an API key
        ),
    ],
)
