"""OIDC bearer tokens against a local test issuer (discovery + JWKS served by an aiohttp server in the test): a
valid token is accepted with the scope its groups map to; expired, wrong-audience, wrong-issuer, `alg: none`,
HS256-with-the-public-key and unknown-`kid` tokens are refused; an unknown kid refetches the JWKS, at most once per
`jwks_refresh_min_s`, so rotated keys are picked up."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from api.app import create_app
from api.config import ApiConfig, OidcConfig
from api.errors import ApiError
from api.mcp.access import KeyGate
from api.oidc import OidcVerifier
from api.routing import Scope
from queues.bootstrap import bootstrap
from shared.config import Settings

Client = TestClient[web.Request, web.Application]
AUDIENCE = "callpipe-console-client"
VERIFIER = "v" * 43
WINDOW = {"kind": "window", "from": "2026-01-01T00:00:00Z", "to": "2026-01-01T06:00:00Z"}


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Issuer:
    """A local OIDC issuer: signing keys by kid, the JWKS it publishes, and how often it was fetched."""

    url: str = ""
    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    published: list[str] = field(default_factory=list)
    jwks_fetches: int = 0

    def jwks(self) -> dict[str, Any]:
        out = []
        for kid in self.published:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.keys[kid].public_key()))
            out.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": out}

    def token(self, kid: str = "k1", *, groups: list[str] | None = None, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": "user-0042",
            "cognito:username": "qa.analyst",
            "cognito:groups": groups or ["callpipe-operate"],
            "iat": now,
            "nbf": now,
            "exp": now + 300,
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, self.keys[kid], algorithm="RS256", headers={"kid": kid})


@pytest.fixture
async def issuer() -> AsyncIterator[Issuer]:
    state = Issuer(keys={"k1": _new_key(), "k2": _new_key()}, published=["k1"])

    async def discovery(_request: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": state.url,
                "jwks_uri": f"{state.url}/jwks.json",
                "authorization_endpoint": f"{state.url}/oauth2/authorize",
                "token_endpoint": f"{state.url}/oauth2/token",
            }
        )

    async def jwks(_request: web.Request) -> web.Response:
        state.jwks_fetches += 1
        return web.json_response(state.jwks())

    async def token(request: web.Request) -> web.Response:
        form = await request.post()
        wanted = {
            "grant_type": "authorization_code",
            "client_id": AUDIENCE,
            "code": "good-code",
            "code_verifier": VERIFIER,
        }
        if any(form.get(k) != v for k, v in wanted.items()):
            return web.json_response({"error": "invalid_grant"}, status=400)
        return web.json_response({"id_token": state.token(), "access_token": "opaque", "token_type": "Bearer"})

    app = web.Application()
    app.router.add_post("/oauth2/token", token)
    app.router.add_get("/.well-known/openid-configuration", discovery)
    app.router.add_get("/jwks.json", jwks)
    server = TestServer(app)
    await server.start_server()
    state.url = str(server.make_url("")).rstrip("/")
    yield state
    await server.close()


@pytest.fixture
async def api(settings: Settings, issuer: Issuer) -> AsyncIterator[Client]:
    await bootstrap(settings, include_echo=False)
    oidc = OidcConfig(issuer=issuer.url, audience=AUDIENCE, jwks_refresh_min_s=3600)
    booted = settings.model_copy(update={"wxcc_org_id": "org-oidc"})
    async with TestClient(TestServer(create_app(booted, ApiConfig(oidc=oidc)))) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def refusal(api: Client, token: str) -> str:
    resp = await api.get("/api/v1/journeys", headers=bearer(token))
    assert resp.status == 401, await resp.text()
    error = (await resp.json())["error"]
    assert error["code"] == "invalid_token"
    return str(error["details"]["reason"])


async def test_a_valid_token_is_accepted_with_the_scope_its_groups_map_to(api: Client, issuer: Issuer) -> None:
    token = issuer.token()
    me = await (await api.get("/api/v1/whoami", headers=bearer(token))).json()
    assert me["actor"] == "oidc:user-0042" and me["label"] == "qa.analyst" and me["kind"] == "oidc"
    assert me["scopes"] == ["read", "operate"]
    assert (await api.post("/api/v1/journeys", json=WINDOW, headers=bearer(token))).status == 202
    assert (await api.get("/api/v1/audit", headers=bearer(token))).status == 403
    admin = issuer.token(groups=["callpipe-read", "callpipe-admin"])
    assert (await api.get("/api/v1/audit", headers=bearer(admin))).status == 200
    nobody = issuer.token(groups=["marketing"])
    resp = await api.get("/api/v1/journeys", headers=bearer(nobody))
    assert resp.status == 403 and (await resp.json())["error"]["details"]["scopes"] == []
    assert issuer.jwks_fetches == 1  # cached


async def test_bad_tokens_are_refused(api: Client, issuer: Issuer) -> None:
    now = int(time.time())
    assert await refusal(api, issuer.token(exp=now - 120, iat=now - 600, nbf=now - 600)) == "expired"
    assert await refusal(api, issuer.token(aud="someone-else")) == "audience"
    assert await refusal(api, issuer.token(iss="https://evil.example")) == "issuer"
    assert await refusal(api, issuer.token(nbf=now + 600)) == "not_yet_valid"
    assert await refusal(api, issuer.token(exp=None)) == "invalid"  # exp is required
    assert await refusal(api, issuer.token("k2")) == "kid"  # signed by a key the issuer does not publish

    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = jwt.decode(issuer.token(), options={"verify_signature": False})
    unsigned = f"{b64({'alg': 'none', 'kid': 'k1', 'typ': 'JWT'})}.{b64(claims)}."
    assert await refusal(api, unsigned) == "algorithm"
    public_pem = (
        issuer.keys["k1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    signing_input = f"{b64({'alg': 'HS256', 'kid': 'k1', 'typ': 'JWT'})}.{b64(claims)}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"  # HS256 keyed by the public key
    assert await refusal(api, forged) == "algorithm"
    tampered = issuer.token().split(".")
    tampered[1] = b64({**claims, "cognito:groups": ["callpipe-admin"]})
    assert await refusal(api, ".".join(tampered)) == "invalid"
    assert issuer.jwks_fetches == 1  # the unknown kid refetched within the refresh interval: no


async def test_an_unknown_kid_refetches_the_jwks_at_most_once_per_interval(issuer: Issuer) -> None:
    now = [1000.0]
    verifier = OidcVerifier(
        OidcConfig(issuer=issuer.url, audience=AUDIENCE, jwks_refresh_min_s=60), clock=lambda: now[0]
    )
    try:
        assert (await verifier.principal(issuer.token("k1"))).scope is not None
        issuer.published.append("k2")  # the issuer rotates in a new key
        with pytest.raises(ApiError) as refused:
            await verifier.principal(issuer.token("k2"))  # within 60 s of the last fetch: not refetched
        assert refused.value.status == 401 and issuer.jwks_fetches == 1
        now[0] += 61
        principal = await verifier.principal(issuer.token("k2"))
        assert principal.actor == "oidc:user-0042" and issuer.jwks_fetches == 2
        assert (await verifier.principal(issuer.token("k1"))).kind == "oidc" and issuer.jwks_fetches == 2
    finally:
        await verifier.close()


async def test_auth_config_advertises_the_issuer_for_sso(api: Client, issuer: Issuer) -> None:
    body = await (await api.get("/api/v1/auth/config")).json()
    assert body["oidc"]["issuer"] == issuer.url and body["oidc"]["client_id"] == AUDIENCE
    assert body["oidc"]["authorization_endpoint"] == f"{issuer.url}/oauth2/authorize"
    assert body["oidc"]["token_endpoint"] == f"{issuer.url}/oauth2/token"


async def test_the_console_trades_its_code_for_a_verified_id_token(api: Client) -> None:
    exchange = {"code": "good-code", "code_verifier": VERIFIER, "redirect_uri": "http://localhost:8080/signin/callback"}
    resp = await api.post("/api/v1/auth/token", json=exchange)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert 0 < body["expires_in"] <= 300
    me = await api.get("/api/v1/whoami", headers=bearer(body["id_token"]))
    assert (await me.json())["actor"] == "oidc:user-0042"
    refused = await api.post("/api/v1/auth/token", json={**exchange, "code": "stolen"})
    assert refused.status == 400 and (await refused.json())["error"]["details"] == {"reason": "invalid_grant"}
    short = await api.post("/api/v1/auth/token", json={**exchange, "code_verifier": "short"})
    assert short.status == 422


def test_symmetric_algorithms_cannot_be_configured() -> None:
    with pytest.raises(ValueError, match="asymmetric"):
        OidcConfig(issuer="https://issuer.example", audience="a", algorithms=["HS256"])
    with pytest.raises(ValueError, match="AUDIENCE"):
        OidcConfig(issuer="https://issuer.example")


async def test_the_mcp_http_gate_takes_the_same_tokens(issuer: Issuer) -> None:
    """`callpipe mcp --http` authenticates as the API does: an issuer's token is a principal with its groups' scope."""
    gate = KeyGate.from_config(ApiConfig(oidc=OidcConfig(issuer=issuer.url, audience=AUDIENCE)))
    principal = await gate.principal({"authorization": f"Bearer {issuer.token()}"})
    assert principal.actor == "oidc:user-0042" and principal.scopes == [Scope.READ, Scope.OPERATE]
    with pytest.raises(ApiError) as refused:
        await gate.principal({"authorization": f"Bearer {issuer.token(aud='someone-else')}"})
    assert refused.value.status == 401


async def test_with_oidc_on_neither_the_api_nor_the_mcp_gate_serves_anonymously(issuer: Issuer) -> None:
    """`CALLPIPE_API_ALLOW_ANONYMOUS` left set on an OIDC deployment without keys admits nobody without a token."""
    config = ApiConfig(oidc=OidcConfig(issuer=issuer.url, audience=AUDIENCE), allow_anonymous=True)
    with pytest.raises(ApiError) as refused:
        await KeyGate.from_config(config).principal({})
    assert refused.value.status == 401
