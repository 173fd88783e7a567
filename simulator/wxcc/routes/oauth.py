"""`POST /v1/access_token` (refresh grant, rotating) and `POST /v1/applications/{applicationId}/token` (service app)."""

from __future__ import annotations

import hmac

from aiohttp import web

from simulator.wxcc.errors import ApiError
from simulator.wxcc.http import read_json, state_of
from simulator.wxcc.tokens import TokenError


def _check_client(request: web.Request, client_id: object, client_secret: object) -> str:
    config = state_of(request).config
    ok_id = isinstance(client_id, str) and hmac.compare_digest(client_id, config.client_id)
    ok_secret = isinstance(client_secret, str) and hmac.compare_digest(client_secret, config.client_secret)
    if not (ok_id and ok_secret):
        raise ApiError(401, "Incorrect Credentials.")
    return config.client_id


async def access_token(request: web.Request) -> web.Response:
    """The refresh-token grant (form-encoded): a new access token and a new refresh token."""
    form = await request.post()
    grant = form.get("grant_type")
    if grant != "refresh_token":
        raise ApiError(400, f"Unsupported grant_type {grant!r}: the simulator implements refresh_token.")
    client_id = _check_client(request, form.get("client_id"), form.get("client_secret"))
    refresh = form.get("refresh_token")
    if not isinstance(refresh, str) or not refresh:
        raise ApiError(400, "refresh_token is required.")
    try:
        body = state_of(request).tokens.refresh_grant(client_id, refresh)
    except TokenError as exc:
        raise ApiError(exc.status, exc.message)
    return web.json_response(body)


async def service_app_token(request: web.Request) -> web.Response:
    """A service app's token for a target org (JSON body `{clientId, clientSecret, targetOrgId}`)."""
    state = state_of(request)
    if request.match_info["application_id"] != state.config.application_id:
        raise ApiError(404, "Application not found.")
    body = await read_json(request)
    client_id = _check_client(request, body.get("clientId"), body.get("clientSecret"))
    if body.get("targetOrgId") != state.config.org_id:
        raise ApiError(403, "The service app is not authorized for this organization.")
    return web.json_response(state.tokens.service_app_grant(client_id))
