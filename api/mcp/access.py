"""Who calls an MCP tool and what they may do: the API's keys (and OIDC tokens) over HTTP, the local user on stdio.

Over streamable HTTP every request must carry an API key the API accepts (`api.auth.Authenticator`, the same keys
and scopes as the HTTP API); without one the ASGI guard answers 401 before the MCP layer sees the request. The key's
scope then decides which tools and actions the caller sees (`tools/list` is narrowed) and may run. On stdio the
caller is the local user who started `callpipe mcp` with their own AWS credentials: the `admin` scope, like the CLI.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import Authenticator, Principal
from api.config import ApiConfig
from api.errors import ApiError
from api.oidc import authenticator
from api.routing import Scope as AccessScope
from shared.logging import get_logger

log = get_logger(__name__)

STDIO_PRINCIPAL = Principal(actor="mcp:stdio", label="local MCP client (stdio)", scope=AccessScope.ADMIN, kind="key")


@dataclass
class KeyGate:
    """Turns the headers of an MCP HTTP request into a `Principal`: the API's own authenticator (keys, scopes, OIDC,
    and anonymous only where the API itself would serve anonymously)."""

    authenticator: Authenticator

    @classmethod
    def from_config(cls, config: ApiConfig) -> KeyGate:
        return cls(authenticator(config))

    async def principal(self, headers: Mapping[str, str]) -> Principal:
        """The caller; raises a 401 `ApiError` without an accepted credential."""
        return await self.authenticator.authenticate(headers)


class RequireKey:
    """ASGI guard in front of the MCP app: 401 JSON (the API's error shape) unless the request carries an accepted
    key; the principal is left in the ASGI scope's state for the tools."""

    def __init__(self, app: ASGIApp, gate: KeyGate) -> None:
        self._app = app
        self._gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        try:
            principal = await self._gate.principal(headers)
        except ApiError as exc:
            log.info("mcp_http_refused", code=exc.code, path=scope.get("path"))
            body = json.dumps({"error": {"code": exc.code, "message": exc.message, "details": None}}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": exc.status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"www-authenticate", b'Bearer realm="callpipe"'),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        scope.setdefault("state", {})[PRINCIPAL_STATE] = principal
        await self._app(scope, receive, send)


PRINCIPAL_STATE = "callpipe_principal"
