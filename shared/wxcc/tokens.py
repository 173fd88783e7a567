"""The WXCC access token, shared by every worker through one DynamoDB item with a single refresher at a time.

Item `pk = WXCC#TOKEN#{client_id}` in the coordination table:
`access_token, expires_at, refresh_token, refresh_expires_at, version, lease_owner, lease_until`.

Two workers whose token is about to expire (A and B), the store's `version` is 7:

    A: GetItem (v7, expiring)                B: GetItem (v7, expiring)
    A: UpdateItem SET lease = A              B: UpdateItem SET lease = B
       IF no live lease AND version = 7  ✓      IF no live lease AND version = 7  ✗ (A holds it)
    A: POST token endpoint                   B: keeps using the v7 token while it is still valid,
    A: PutItem v8 (new access + rotated         else re-reads the item until v8 appears
       refresh token), lease removed
       IF lease_owner = A AND version = 7 ✓  B: GetItem → v8 ✓

* Only the lease holder calls the token endpoint, so a rotated refresh token is issued once and written in the same
  conditional put that publishes the access token: it is never lost to a race.
* A crashed refresher's lease expires (`lease_until`), and the next worker takes over.
* After a 401 a worker forces one refresh — unless the stored token already differs from the one refused, in which
  case somebody refreshed meanwhile and that token is used.
* A token is refreshed `min(CALLPIPE_WXCC_TOKEN_REFRESH_MARGIN_S, a quarter of its lifetime)` before it expires, the
  lifetime being the `expires_in` of the response that issued it: a 30 s token is used for 22 s, not refreshed on
  every request (each refresh of a rotating refresh token is one more chance to lose the chain).
* `refresh_token` mode: the item remembers a SHA-256 of the `CALLPIPE_WXCC_REFRESH_TOKEN` its chain started from
  (`seed_sha256`). When the configured token changes, the next refresh starts a new chain from it; when the stored
  (rotated) token is refused, the configured one is tried once unless it already seeded that chain. `reset_token`
  (`callpipe wxcc reset-token`) deletes the item, so the next refresh starts from the configured token.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import ValidationError

from shared.config import Settings
from shared.logging import get_logger
from shared.wxcc.errors import (
    WxccAuthError,
    WxccRetryable,
    describe_error,
    json_or_text,
    malformed_body,
    retry_after,
    validation_failure,
)
from shared.wxcc.models import TokenResponse

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

log = get_logger(__name__)

LEASE_S = 60
_WAIT_STEP_S = 0.2
MARGIN_SHARE_OF_LIFETIME = 0.25
"""A token is refreshed at most this share of its lifetime before it expires (and at most the configured margin)."""
RESET_HINT = "run `callpipe wxcc reset-token` after setting a fresh CALLPIPE_WXCC_REFRESH_TOKEN"


def token_key(settings: Settings) -> dict[str, Any]:
    """The key of the shared token item of the configured client."""
    return {"pk": {"S": f"WXCC#TOKEN#{settings.wxcc_client_id or settings.wxcc_application_id}"}}


def seed_digest(settings: Settings) -> str | None:
    """SHA-256 (hex) of the configured refresh token, or None when none is configured."""
    if settings.wxcc_refresh_token is None or not settings.wxcc_refresh_token.get_secret_value():
        return None
    return hashlib.sha256(settings.wxcc_refresh_token.get_secret_value().encode()).hexdigest()


async def reset_token(dynamodb: DynamoDBClient, table: str, settings: Settings) -> bool:
    """Forget the shared token (access and refresh): the next request starts again from the configured credentials,
    in `refresh_token` mode from `CALLPIPE_WXCC_REFRESH_TOKEN`. Returns whether there was a stored token."""
    resp = await dynamodb.delete_item(TableName=table, Key=token_key(settings), ReturnValues="ALL_OLD")
    existed = bool(resp.get("Attributes"))
    log.info("wxcc_token_reset", existed=existed)
    return existed


@dataclass(frozen=True)
class StoredToken:
    """What the token item holds."""

    access_token: str | None
    expires_at: float
    refresh_token: str | None
    version: int
    lease_owner: str | None
    lease_until: float
    lifetime_s: float = 0.0
    """`expires_in` of the response that issued the access token (0: not recorded)."""
    seed_sha256: str | None = None
    """`refresh_token` mode: SHA-256 of the configured refresh token this chain started from (None: not known)."""

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> StoredToken:
        def s(key: str) -> str | None:
            return item[key]["S"] if key in item else None

        def n(key: str) -> float:
            return float(item[key]["N"]) if key in item else 0.0

        return cls(
            s("access_token"),
            n("expires_at"),
            s("refresh_token"),
            int(n("version")),
            s("lease_owner"),
            n("lease_until"),
            n("lifetime_s"),
            s("seed_sha256"),
        )

    def refresh_at(self, margin_s: float) -> float:
        """When this access token is due for a refresh: `margin_s` before expiry, at most a share of its lifetime."""
        margin = min(margin_s, self.lifetime_s * MARGIN_SHARE_OF_LIFETIME) if self.lifetime_s > 0 else margin_s
        return self.expires_at - margin


class TokenProvider:
    """Hands out a valid WXCC access token, refreshing it through the shared store when needed."""

    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table: str,
        http: httpx.AsyncClient,
        settings: Settings,
        *,
        owner: str | None = None,
    ) -> None:
        self._ddb = dynamodb
        self._table = table
        self._http = http
        self._settings = settings
        self._owner = owner or f"worker-{uuid.uuid4().hex[:12]}"
        self._key = token_key(settings)
        self._margin = settings.wxcc_token_refresh_margin_s
        self._seed = seed_digest(settings) if settings.wxcc_auth_mode == "refresh_token" else None

    async def access_token(self) -> str:
        """A token valid for at least the refresh margin if possible, and valid now in any case."""
        return await self._get(rejected=None)

    async def after_unauthorized(self, rejected: str) -> str:
        """The token to retry with after WXCC refused `rejected` (forces one refresh unless someone already did)."""
        return await self._get(rejected=rejected)

    async def _get(self, rejected: str | None) -> str:
        deadline = time.monotonic() + LEASE_S + 10
        while time.monotonic() < deadline:
            stored = await self._load()
            now = time.time()
            usable = (
                stored is not None
                and stored.access_token is not None
                and stored.access_token != rejected
                and not self._seed_changed(stored)
            )
            if usable and stored and stored.refresh_at(self._margin) > now:
                return stored.access_token  # type: ignore[return-value]
            if await self._take_lease(stored, now):
                return await self._refresh(stored)
            if usable and stored and stored.expires_at > now + 5:
                return stored.access_token  # type: ignore[return-value]  # still valid: no need to wait
            await asyncio.sleep(_WAIT_STEP_S)  # another worker holds the lease: re-read until its token appears
        raise WxccRetryable("timed out waiting for another worker's WXCC token refresh")

    def _seed_changed(self, stored: StoredToken) -> bool:
        """Whether the configured refresh token is not the one the stored chain started from (an operator's new one)."""
        return self._seed is not None and stored.seed_sha256 is not None and stored.seed_sha256 != self._seed

    async def _load(self) -> StoredToken | None:
        resp = await self._ddb.get_item(TableName=self._table, Key=self._key, ConsistentRead=True)
        return StoredToken.from_item(resp["Item"]) if "Item" in resp else None

    async def _take_lease(self, stored: StoredToken | None, now: float) -> bool:
        version = stored.version if stored else 0
        try:
            await self._ddb.update_item(
                TableName=self._table,
                Key=self._key,
                UpdateExpression="SET lease_owner = :me, lease_until = :until",
                ConditionExpression=(
                    "(attribute_not_exists(lease_until) OR lease_until < :now) "
                    "AND (attribute_not_exists(version) OR version = :v)"
                ),
                ExpressionAttributeValues={
                    ":me": {"S": self._owner},
                    ":until": {"N": str(now + LEASE_S)},
                    ":now": {"N": str(now)},
                    ":v": {"N": str(version)},
                },
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _refresh_sources(self, stored: StoredToken | None) -> list[str | None]:
        """Which refresh token to use, in order: None is the configured one, a string a stored one.

        A stored chain is continued unless the configured token changed since it seeded the chain; a stored token
        whose origin is unknown is tried first, then the configured one."""
        if self._settings.wxcc_auth_mode != "refresh_token":
            return [None]
        if stored is None or not stored.refresh_token or self._seed_changed(stored):
            return [None]
        if self._seed is not None and stored.seed_sha256 is None:
            return [stored.refresh_token, None]
        return [stored.refresh_token]

    async def _refresh(self, stored: StoredToken | None) -> str:
        version = stored.version if stored else 0
        sources = self._refresh_sources(stored)
        try:
            for i, source in enumerate(sources):
                try:
                    token = await self._call_token_endpoint(source)
                    break
                except WxccAuthError as exc:
                    if i == len(sources) - 1:
                        raise
                    log.warning("wxcc_stored_refresh_token_refused", error=str(exc), next="configured refresh token")
        except BaseException:
            await self._release_lease()
            raise
        now = time.time()
        item: dict[str, Any] = {
            **self._key,
            "access_token": {"S": token.access_token},
            "expires_at": {"N": str(now + token.expires_in)},
            "lifetime_s": {"N": str(token.expires_in)},
            "version": {"N": str(version + 1)},
            "updated_by": {"S": self._owner},
        }
        seeded = source is None and self._seed is not None
        chain_seed = self._seed if seeded else (stored.seed_sha256 if stored else None)
        if chain_seed:
            item["seed_sha256"] = {"S": chain_seed}
        refresh = token.refresh_token or source
        if refresh:
            item["refresh_token"] = {"S": refresh}
        if token.refresh_token_expires_in:
            item["refresh_expires_at"] = {"N": str(now + token.refresh_token_expires_in)}
        try:
            await self._ddb.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="lease_owner = :me AND (attribute_not_exists(version) OR version = :v)",
                ExpressionAttributeValues={":me": {"S": self._owner}, ":v": {"N": str(version)}},
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            # Only possible if our lease expired mid-refresh and another worker refreshed too: theirs is stored.
            log.error("wxcc_token_store_conflict", version=version)
        log.info(
            "wxcc_token_refreshed",
            version=version + 1,
            expires_in_s=token.expires_in,
            from_configured_refresh_token=seeded,
        )
        return token.access_token

    async def _release_lease(self) -> None:
        with contextlib.suppress(self._ddb.exceptions.ConditionalCheckFailedException):
            await self._ddb.update_item(
                TableName=self._table,
                Key=self._key,
                UpdateExpression="REMOVE lease_owner, lease_until",
                ConditionExpression="lease_owner = :me",
                ExpressionAttributeValues={":me": {"S": self._owner}},
            )

    def _hint(self, status: int, stored_refresh: str | None) -> str:
        """What an operator can do about a refused token request."""
        s = self._settings
        if s.wxcc_auth_mode == "service_app":
            if status == 404:
                return f" — no service app {s.wxcc_application_id!r} there: check CALLPIPE_WXCC_APPLICATION_ID"
            return " — check CALLPIPE_WXCC_CLIENT_ID, CALLPIPE_WXCC_CLIENT_SECRET and CALLPIPE_WXCC_ORG_ID"
        if stored_refresh is not None:
            return f" — the stored refresh token was refused: {RESET_HINT}"
        return " — CALLPIPE_WXCC_REFRESH_TOKEN was refused (expired, revoked or already rotated): set a fresh one"

    async def _call_token_endpoint(self, stored_refresh: str | None) -> TokenResponse:
        """One token request: the service-app grant, or the refresh grant with `stored_refresh` (None: the
        configured `CALLPIPE_WXCC_REFRESH_TOKEN`)."""
        s = self._settings
        secret = s.wxcc_client_secret.get_secret_value() if s.wxcc_client_secret else ""
        base = s.webex_auth_base_url.rstrip("/")
        if s.wxcc_auth_mode == "service_app" and not s.wxcc_application_id:
            raise WxccAuthError(
                "CALLPIPE_WXCC_APPLICATION_ID is not set: the default auth mode `service_app` needs the service app's "
                "id (or set CALLPIPE_WXCC_AUTH_MODE=refresh_token and CALLPIPE_WXCC_REFRESH_TOKEN)"
            )
        try:
            if s.wxcc_auth_mode == "service_app":
                resp = await self._http.post(
                    f"{base}/v1/applications/{s.wxcc_application_id}/token",
                    json={"clientId": s.wxcc_client_id, "clientSecret": secret, "targetOrgId": s.wxcc_org_id},
                )
            else:
                refresh = stored_refresh or (s.wxcc_refresh_token.get_secret_value() if s.wxcc_refresh_token else "")
                if not refresh:
                    raise WxccAuthError("no WXCC refresh token: set CALLPIPE_WXCC_REFRESH_TOKEN once")
                resp = await self._http.post(
                    f"{base}/v1/access_token",
                    data={
                        "grant_type": "refresh_token",
                        "client_id": s.wxcc_client_id,
                        "client_secret": secret,
                        "refresh_token": refresh,
                    },
                )
        except httpx.TransportError as exc:
            raise WxccRetryable(f"token endpoint unreachable: {type(exc).__name__}") from exc
        if resp.status_code == 429 or resp.status_code >= 500:
            tracking, message = describe_error(json_or_text(resp))
            raise WxccRetryable(
                f"token endpoint {resp.status_code}: {message}",
                status=resp.status_code,
                tracking_id=tracking,
                retry_after=retry_after(resp),
            )
        if resp.status_code >= 400:
            tracking, message = describe_error(json_or_text(resp))
            hint = self._hint(resp.status_code, stored_refresh)
            raise WxccAuthError(
                f"WXCC refused the credentials ({resp.status_code}): {message}{hint}",
                status=resp.status_code,
                tracking_id=tracking,
            )
        where = f"{resp.request.method} {resp.request.url.path}"
        malformed = malformed_body(where, resp)
        if malformed is not None:
            log.warning("wxcc_malformed_response", where=where, status=resp.status_code, error=str(malformed))
            raise malformed
        try:
            return TokenResponse.model_validate(resp.json())
        except ValidationError as exc:
            # Only field names and pydantic's messages: never the values, which may be tokens.
            error = validation_failure(where, exc)
            log.warning("wxcc_malformed_response", where=where, fields=list(error.fields), error=str(error))
            raise error from None
