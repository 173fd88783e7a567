"""API-key authentication: `Authorization: Bearer <key>` or `X-API-Key`, checked against SHA-256 hashes."""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web

from api.errors import ApiError


def hash_key(key: str) -> str:
    """The SHA-256 hex digest a key is configured as."""
    return hashlib.sha256(key.encode()).hexdigest()


def presented_key(request: web.Request) -> str | None:
    """The key a request carries, if any (Bearer first, then X-API-Key)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    key = request.headers.get("X-API-Key", "").strip()
    return key or None


class KeyChecker:
    """Compares a presented key's hash with every configured hash in constant time."""

    def __init__(self, hashes: list[str], *, allow_anonymous: bool = False) -> None:
        self._hashes = [h.encode() for h in hashes]
        self._anonymous = allow_anonymous and not hashes

    def check(self, request: web.Request) -> None:
        """Raise a 401 `ApiError` unless the request carries an accepted key."""
        if self._anonymous:
            return
        key = presented_key(request)
        if key is None:
            raise ApiError(401, "unauthorized", "an API key is required (Authorization: Bearer or X-API-Key)")
        digest = hash_key(key).encode()
        matched = False
        for accepted in self._hashes:  # no early exit: the time does not depend on which key matched
            matched |= hmac.compare_digest(digest, accepted)
        if not matched:
            raise ApiError(401, "unauthorized", "the API key is not valid")
