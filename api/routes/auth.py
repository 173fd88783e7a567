"""`GET /api/v1/whoami` (the caller's key id, label and scopes) and `GET /api/v1/auth/config` (how to sign in: API
keys, and the OIDC issuer and client id when SSO is on), so the console can offer SSO and hide what a key may not do."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, Field

from api.auth import PrincipalKind
from api.context import CHECKER
from api.middleware import PRINCIPAL
from api.parsing import json_response
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
    ],
)
