"""OAuth tokens the simulator issues: service-app grants, refresh grants that rotate the refresh token, and checks."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SERVICE_APP = "service_app"
REFRESH_TOKEN = "refresh_token"  # noqa: S105 - a grant name, not a secret


class TokenError(Exception):
    """A grant that is refused: `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class _Access:
    client_id: str
    expires_ms: int


@dataclass
class _Refresh:
    client_id: str
    expires_ms: int
    rotated_ms: int | None = None


class TokenStore:
    """Issued tokens and their lifetimes; a refresh grant retires the refresh token it used after `overlap_ms`."""

    def __init__(
        self, now_ms: Callable[[], int], *, org_id: str, access_ttl_s: int, refresh_ttl_s: int, overlap_s: float
    ) -> None:
        self._now_ms = now_ms
        self._org_id = org_id
        self._access_ttl_s = access_ttl_s
        self._refresh_ttl_s = refresh_ttl_s
        self._overlap_ms = round(overlap_s * 1000)
        self._access: dict[str, _Access] = {}
        self._refresh: dict[str, _Refresh] = {}
        self.issued: Counter[str] = Counter()

    def add_refresh_token(self, token: str, client_id: str) -> None:
        """Make `token` a valid refresh token of `client_id` (what an authorization-code grant would have given)."""
        self._refresh[token] = _Refresh(client_id, self._now_ms() + self._refresh_ttl_s * 1000)

    def _issue(self, client_id: str, grant: str) -> dict[str, Any]:
        now = self._now_ms()
        access = f"{secrets.token_urlsafe(48)}_PF84_{self._org_id}"
        refresh = secrets.token_urlsafe(48)
        self._access[access] = _Access(client_id, now + self._access_ttl_s * 1000)
        self._refresh[refresh] = _Refresh(client_id, now + self._refresh_ttl_s * 1000)
        self.issued[grant] += 1
        return {
            "access_token": access,
            "expires_in": self._access_ttl_s,
            "refresh_token": refresh,
            "refresh_token_expires_in": self._refresh_ttl_s,
            "token_type": "Bearer",
        }

    def service_app_grant(self, client_id: str) -> dict[str, Any]:
        """A token response for a service app whose credentials the caller already checked."""
        return self._issue(client_id, SERVICE_APP)

    def refresh_grant(self, client_id: str, refresh_token: str) -> dict[str, Any]:
        """A new access token and a NEW refresh token; the old refresh token stops working after the overlap."""
        now = self._now_ms()
        entry = self._refresh.get(refresh_token)
        if entry is None or entry.client_id != client_id:
            raise TokenError(400, "Invalid refresh token.")
        if now >= entry.expires_ms:
            raise TokenError(400, "The refresh token has expired.")
        if entry.rotated_ms is not None and now > entry.rotated_ms + self._overlap_ms:
            raise TokenError(400, "The refresh token was already used and has been replaced by a newer one.")
        if entry.rotated_ms is None:
            entry.rotated_ms = now
        return self._issue(client_id, REFRESH_TOKEN)

    def client_of(self, access_token: str) -> str | None:
        """The client an access token belongs to, or None when it is unknown or expired."""
        entry = self._access.get(access_token)
        if entry is None or self._now_ms() >= entry.expires_ms:
            return None
        return entry.client_id

    def expire_access_tokens(self) -> int:
        """Invalidate every access token issued so far (refresh tokens keep working); returns how many."""
        count = len(self._access)
        self._access.clear()
        return count

    def revoke_refresh_tokens(self) -> int:
        """Invalidate every refresh token; returns how many."""
        count = len(self._refresh)
        self._refresh.clear()
        return count
