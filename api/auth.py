"""Who is calling: an API key (`Authorization: Bearer` or `X-API-Key`, checked against SHA-256 hashes) or, when OIDC
is on, a bearer JWT; the result is a `Principal` with the scope it holds."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from api.config import ApiKey
from api.errors import ApiError
from api.routing import Scope

if TYPE_CHECKING:
    from api.oidc import OidcVerifier

PrincipalKind = Literal["key", "oidc", "anonymous"]


def hash_key(key: str) -> str:
    """The SHA-256 hex digest a key is configured as."""
    return hashlib.sha256(key.encode()).hexdigest()


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key (or token) request headers carry, if any (Bearer first, then X-API-Key; names in any case)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    scheme, _, token = lowered.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return lowered.get("x-api-key", "").strip() or None


def looks_like_jwt(token: str) -> bool:
    """Three base64url segments: a JWT, not an API key (keys are opaque strings without dots)."""
    parts = token.split(".")
    return len(parts) == 3 and all(parts[:2])


@dataclass(frozen=True)
class Principal:
    """The caller: an actor id for the audit trail, a label, and the highest scope held (None: no scope)."""

    actor: str  # `key:{id}`, `oidc:{sub}` or `anonymous`
    label: str | None
    scope: Scope | None
    kind: PrincipalKind
    expires: datetime | None = None

    def allows(self, needed: Scope) -> bool:
        """Whether the principal holds `needed` (or a scope including it)."""
        return self.scope is not None and self.scope.includes(needed)

    @property
    def scopes(self) -> list[Scope]:
        """Every scope held, lowest first."""
        return self.scope.implied() if self.scope is not None else []


ANONYMOUS = Principal(
    actor="anonymous", label="anonymous (CALLPIPE_API_ALLOW_ANONYMOUS)", scope=Scope.ADMIN, kind="anonymous"
)


def _now() -> datetime:
    return datetime.now(UTC)


class Authenticator:
    """Turns a request's credential into a `Principal`, or raises a 401 `ApiError`."""

    def __init__(
        self,
        keys: Sequence[ApiKey],
        *,
        allow_anonymous: bool = False,
        oidc: OidcVerifier | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._keys = [(k, k.hash.encode()) for k in keys]
        self._oidc = oidc
        self._anonymous = allow_anonymous and not keys and oidc is None
        self._clock = clock

    @property
    def oidc(self) -> OidcVerifier | None:
        return self._oidc

    async def authenticate(self, headers: Mapping[str, str]) -> Principal:
        """The principal of a request's headers (the API's and the MCP server's); 401 when they carry no accepted
        credential. Anonymous only in local development: no keys, no OIDC and `CALLPIPE_API_ALLOW_ANONYMOUS`."""
        if self._anonymous:
            return ANONYMOUS
        token = presented_key(headers)
        if token is None:
            raise ApiError(401, "unauthorized", "an API key is required (Authorization: Bearer or X-API-Key)")
        if self._oidc is not None and looks_like_jwt(token):
            return await self._oidc.principal(token)
        return self.key_principal(token)

    def key_principal(self, key: str) -> Principal:
        """The principal of an API key; 401 when no configured key matches or the key expired."""
        digest = hash_key(key).encode()
        found: ApiKey | None = None
        for spec, accepted in self._keys:  # no early exit: the time does not depend on which key matched
            if hmac.compare_digest(digest, accepted):
                found = spec
        if found is None:
            raise ApiError(401, "unauthorized", "the API key is not valid")
        if found.expired(self._clock()):
            raise ApiError(401, "key_expired", "the API key expired", {"key_id": found.id})
        return Principal(
            actor=f"key:{found.id}", label=found.label or None, scope=found.scope, kind="key", expires=found.expires
        )
