"""OIDC bearer tokens: JWT signature against the issuer's JWKS (cached, refetched on an unknown `kid` at most once per
`jwks_refresh_min_s`), `exp`/`nbf`/`aud`/`iss` checks with PyJWT, asymmetric algorithms only, scope from a claim."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt

from api.auth import Authenticator, Principal
from api.config import ApiConfig, OidcConfig
from api.errors import ApiError
from api.routing import Scope
from shared.logging import get_logger

log = get_logger(__name__)

FETCH_TIMEOUT_S = 5.0
MAX_JWKS_BYTES = 256 * 1024


def _refused(reason: str, message: str) -> ApiError:
    return ApiError(401, "invalid_token", message, {"reason": reason})


class OidcVerifier:
    """Validates bearer JWTs of one issuer and maps their scope claim to a `Scope`."""

    def __init__(
        self,
        config: OidcConfig,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._issuer = config.issuer.strip()
        self._http = http
        self._own_http = http is None
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        self._endpoints: dict[str, str] | None = None

    async def close(self) -> None:
        """Close the HTTP client it opened (if any)."""
        if self._own_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def endpoints(self) -> dict[str, str]:
        """The issuer's authorization and token endpoints (from discovery, cached; empty when unreachable)."""
        if self._endpoints is None:
            try:
                doc = await self._get_json(self._issuer.rstrip("/") + "/.well-known/openid-configuration")
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("oidc_discovery_unavailable", issuer=self._issuer, error=type(exc).__name__)
                return {}
            self._endpoints = {
                k: v
                for k in ("authorization_endpoint", "token_endpoint", "jwks_uri")
                if isinstance(v := doc.get(k), str) and v.startswith(("https://", "http://"))
            }
        return self._endpoints

    async def exchange(self, code: str, verifier: str, redirect_uri: str) -> tuple[str, int]:
        """Trade a PKCE authorization code for the ID token at the issuer's token endpoint (for the console, whose
        content policy allows this origin only); the token is verified before it is handed on. (token, expires_in)."""
        endpoint = (await self.endpoints()).get("token_endpoint")
        if endpoint is None:
            raise ApiError(503, "oidc_unavailable", "the sign-in provider's token endpoint could not be discovered")
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=FETCH_TIMEOUT_S, follow_redirects=False)
        form = {
            "grant_type": "authorization_code",
            "client_id": self.config.client_id or self.config.audience,
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        try:
            resp = await self._http.post(endpoint, data=form, headers={"Accept": "application/json"})
            body = resp.json() if len(resp.content) <= MAX_JWKS_BYTES else {}
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("oidc_token_exchange_unavailable", issuer=self._issuer, error=type(exc).__name__)
            raise ApiError(503, "oidc_unavailable", "the sign-in provider could not be reached") from exc
        if resp.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("id_token"), str):
            reason = str(body.get("error", "") if isinstance(body, dict) else "")[:64] or f"http_{resp.status_code}"
            log.info("oidc_token_exchange_refused", reason=reason)
            raise ApiError(400, "token_exchange_failed", "the sign-in provider issued no token", {"reason": reason})
        token = str(body["id_token"])
        claims = await self.claims(token)
        return token, max(0, int(claims["exp"]) - int(time.time()))

    async def principal(self, token: str) -> Principal:
        """The principal a valid token names; 401 `invalid_token` with a reason otherwise."""
        claims = await self.claims(token)
        sub = str(claims.get("sub", ""))[:150]
        return Principal(
            actor=f"oidc:{sub}",
            label=str(claims.get("username") or claims.get("cognito:username") or claims.get("email") or "")[:100]
            or None,
            scope=self.scope_of(claims),
            kind="oidc",
            expires=datetime.fromtimestamp(int(claims["exp"]), UTC),
        )

    async def claims(self, token: str) -> dict[str, Any]:
        """The verified claims of `token`."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _refused("malformed", "the bearer token is not a JWT") from exc
        alg = header.get("alg")
        if alg not in self.config.algorithms:
            raise _refused("algorithm", f"tokens signed with {str(alg)[:20]!r} are not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _refused("kid", "the token names no signing key (kid)")
        key = await self._key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=[alg],
                audience=self.config.audience,
                issuer=self._issuer,
                leeway=self.config.leeway_s,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise _refused("expired", "the token expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise _refused("not_yet_valid", "the token is not valid yet (nbf/iat)") from exc
        except jwt.InvalidAudienceError as exc:
            raise _refused("audience", "the token is for another audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise _refused("issuer", "the token is from another issuer") from exc
        except jwt.PyJWTError as exc:
            raise _refused("invalid", f"the token is not valid ({type(exc).__name__})") from exc
        return claims

    def scope_of(self, claims: dict[str, Any]) -> Scope | None:
        """The highest scope the token's scope claim maps to (None when nothing maps)."""
        raw = claims.get(self.config.scope_claim)
        values = raw.split() if isinstance(raw, str) else raw if isinstance(raw, list) else []
        mapped = [self.config.scope_map[v] for v in values if isinstance(v, str) and v in self.config.scope_map]
        return max(mapped, key=lambda s: s.rank) if mapped else None

    async def _key(self, kid: str) -> jwt.PyJWK:
        key = self._keys.get(kid)
        if key is not None:
            return key
        async with self._lock:
            key = self._keys.get(kid)
            stale = self._fetched_at is None or self._clock() - self._fetched_at >= self.config.jwks_refresh_min_s
            if key is None and stale:
                await self._refresh()
                key = self._keys.get(kid)
        if key is None:
            raise _refused("kid", "the token's signing key (kid) is not one of the issuer's")
        return key

    async def _refresh(self) -> None:
        """Refetch the JWKS (a failure keeps the keys held and counts as a fetch, so it is not retried per request)."""
        self._fetched_at = self._clock()
        try:
            jwks = await self._get_json(await self._jwks_url())
            keys: dict[str, jwt.PyJWK] = {}
            for entry in jwks.get("keys", []):
                if not isinstance(entry, dict) or not entry.get("kid") or entry.get("use", "sig") != "sig":
                    continue
                try:
                    keys[str(entry["kid"])] = jwt.PyJWK(entry)
                except jwt.PyJWTError as exc:
                    log.warning("oidc_jwk_skipped", kid=str(entry["kid"])[:64], error=type(exc).__name__)
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("oidc_jwks_unavailable", issuer=self._issuer, error=type(exc).__name__)
            raise ApiError(503, "oidc_unavailable", "the sign-in provider's keys could not be fetched") from exc
        self._keys = keys
        log.info("oidc_jwks_fetched", issuer=self._issuer, keys=len(keys))

    async def _jwks_url(self) -> str:
        if self.config.jwks_url:
            return self.config.jwks_url
        self._endpoints = None  # rediscover: the issuer may have moved its keys
        url = (await self.endpoints()).get("jwks_uri")
        if url is None:
            raise ValueError("the discovery document has no jwks_uri (or the issuer is unreachable)")
        return url

    async def _get_json(self, url: str) -> dict[str, Any]:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=FETCH_TIMEOUT_S, follow_redirects=False)
        resp = await self._http.get(url)
        resp.raise_for_status()
        if len(resp.content) > MAX_JWKS_BYTES:
            raise ValueError("the document is too large")
        body = resp.json()
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
        return body


def authenticator(config: ApiConfig) -> Authenticator:
    """The API's authenticator: its keys and, when `CALLPIPE_OIDC_ISSUER` is set, OIDC bearer tokens (every front door
    that takes HTTP requests: the API and the MCP server)."""
    verifier = OidcVerifier(config.oidc) if config.oidc.enabled else None
    return Authenticator(config.all_keys(), allow_anonymous=config.allow_anonymous, oidc=verifier)
