"""`GET /api/v1/whoami` (the caller's key id, label and scopes), `GET /api/v1/auth/config` (how to sign in: API keys,
and the OIDC issuer and client id when SSO is on) and `POST /api/v1/auth/token` (the console's PKCE code exchange,
relayed to the issuer so the console talks to its own origin only), so the console can offer SSO and hide what a key
may not do."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from api.auth import PrincipalKind
from api.context import CHECKER
from api.errors import ApiError, ErrorBody
from api.middleware import PRINCIPAL
from api.parsing import json_response, parse_body
from api.routing import Route, RouteGroup, Scope

PREFIX = "/api/v1"


class WhoAmI(BaseModel):
    """The caller as the API sees it."""

    actor: str = Field(description="`key:{id}`, `oidc:{subject}` or `anonymous`: what the audit trail records.")
    label: str | None
    kind: PrincipalKind
    scopes: list[Scope] = Field(description="Every scope held (read ⊂ operate ⊂ admin).")
    expires: datetime | None = Field(description="When the key or token stops being accepted.")


class OidcSignIn(BaseModel):
    """What a browser needs for the authorization-code flow with PKCE."""

    issuer: str
    client_id: str
    authorization_endpoint: str | None = Field(description="From the issuer's discovery document (null: unreachable).")
    token_endpoint: str | None
    scopes: list[str] = Field(description="OAuth scopes to request.")


class AuthConfig(BaseModel):
    """How to authenticate to this API."""

    api_keys: Literal[True] = True
    oidc: OidcSignIn | None = Field(description="Null when OIDC sign-in is off.")


class TokenExchange(BaseModel):
    """The authorization code the issuer returned to the console, with the PKCE verifier it started with."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=2048)
    code_verifier: str = Field(pattern=r"^[A-Za-z0-9._~-]{43,128}$", description="RFC 7636 code verifier.")
    redirect_uri: str = Field(min_length=1, max_length=2048, pattern=r"^https?://")


class TokenOut(BaseModel):
    """A verified ID token: the console's bearer credential until it expires."""

    id_token: str
    expires_in: int = Field(description="Seconds until the token expires.")


async def whoami(request: web.Request) -> web.Response:
    """The calling key's (or user's) id, label and scopes."""
    p = request[PRINCIPAL]
    return json_response(WhoAmI(actor=p.actor, label=p.label, kind=p.kind, scopes=p.scopes, expires=p.expires))


async def auth_config(request: web.Request) -> web.Response:
    """Whether SSO is offered, with the issuer, the console's client id and the issuer's endpoints."""
    verifier = request.app[CHECKER].oidc
    if verifier is None:
        return json_response(AuthConfig(oidc=None))
    endpoints = await verifier.endpoints()
    return json_response(
        AuthConfig(
            oidc=OidcSignIn(
                issuer=verifier.config.issuer,
                client_id=verifier.config.client_id or verifier.config.audience,
                authorization_endpoint=endpoints.get("authorization_endpoint"),
                token_endpoint=endpoints.get("token_endpoint"),
                scopes=["openid", "email", "profile"],
            )
        )
    )


async def exchange_token(request: web.Request) -> web.Response:
    """Trade the console's authorization code and PKCE verifier for a verified ID token (404 when OIDC is off)."""
    verifier = request.app[CHECKER].oidc
    if verifier is None:
        raise ApiError(404, "oidc_off", "OIDC sign-in is not configured on this API")
    body = await parse_body(request, TokenExchange)
    token, expires_in = await verifier.exchange(body.code, body.code_verifier, body.redirect_uri)
    return json_response(TokenOut(id_token=token, expires_in=expires_in))


GROUP = RouteGroup(
    PREFIX,
    [
        Route(
            "GET",
            "/whoami",
            whoami,
            "whoAmI",
            "The caller's key id, label and scopes",
            "auth",
            {200: WhoAmI},
            scope=Scope.READ,
        ),
        Route(
            "GET",
            "/auth/config",
            auth_config,
            "getAuthConfig",
            "How to sign in (API keys, OIDC)",
            "auth",
            {200: AuthConfig},
            public=True,
        ),
        Route(
            "POST",
            "/auth/token",
            exchange_token,
            "exchangeAuthCode",
            "Trade an SSO authorization code (PKCE) for an ID token",
            "auth",
            {200: TokenOut, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody, 503: ErrorBody},
            body=TokenExchange,
            notes={
                400: "The issuer refused the code (expired, reused, wrong verifier or redirect URI)",
                401: "The issuer's token does not validate",
                404: "OIDC sign-in is off",
                503: "The issuer cannot be reached",
            },
            public=True,
        ),
    ],
)
