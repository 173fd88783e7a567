"""The webhook secret: generated for a subscription, kept in Secrets Manager, read (and cached) by the receiver.

The Secrets Manager value is JSON `{"current": "...", "previous": "..."}` (`previous` is accepted while a rotation
is under way; a plain string is read as `current`). `CALLPIPE_WEBHOOK_SECRET` gives the secret directly instead
(local runs). A secret value is never logged: only the secret's name is.
"""

from __future__ import annotations

import json
import secrets
import time
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from shared.aws import AwsClients
from shared.config import Settings
from shared.logging import get_logger, redactor

if TYPE_CHECKING:
    from types_aiobotocore_secretsmanager import SecretsManagerClient

log = get_logger(__name__)

SECRET_BYTES = 48  # 64 URL-safe characters: within WXCC's 32-256


def new_secret() -> str:
    """A fresh random webhook secret."""
    return secrets.token_urlsafe(SECRET_BYTES)


def secret_name(settings: Settings) -> str:
    """The Secrets Manager name (or ARN) holding the webhook secret."""
    return settings.webhook_secret_name or f"{settings.name_prefix}/wxcc-webhook-secret"


def secretsmanager(settings: Settings) -> AbstractAsyncContextManager[SecretsManagerClient]:
    """A Secrets Manager client against the configured endpoint (`AWS_ENDPOINT_URL` for the emulators)."""
    return AwsClients(settings).secretsmanager()


def _parse(value: str) -> list[str]:
    try:
        doc: Any = json.loads(value)
    except ValueError:
        return [value] if value else []
    if isinstance(doc, dict):
        return [str(doc[k]) for k in ("current", "previous") if doc.get(k)]
    return [value]


async def store_secret(client: SecretsManagerClient, name: str, value: str) -> str:
    """Make `value` the current secret (the old current one stays valid as `previous`); returns the ARN."""
    previous: list[str] = []
    try:
        previous = _parse((await client.get_secret_value(SecretId=name))["SecretString"])
    except client.exceptions.ResourceNotFoundException:
        created = await client.create_secret(
            Name=name, SecretString=json.dumps({"current": value}), Description="callpipe WXCC webhook secret"
        )
        log.info("webhook_secret_created", name=name)
        return str(created["ARN"])
    doc = {"current": value, **({"previous": previous[0]} if previous else {})}
    put = await client.put_secret_value(SecretId=name, SecretString=json.dumps(doc))
    log.info("webhook_secret_rotated", name=name)
    return str(put["ARN"])


class SecretSource:
    """The secrets a delivery may be signed with, read from Secrets Manager at most every `ttl_s` seconds."""

    def __init__(self, settings: Settings, *, ttl_s: float = 60.0) -> None:
        self._settings = settings
        self._ttl_s = ttl_s
        self._cached: list[str] = []
        self._read_at = float("-inf")

    async def current(self) -> list[str]:
        """The valid secrets (current first); an empty list when none is configured or it cannot be read."""
        direct = self._settings.webhook_secret
        if direct is not None and direct.get_secret_value():
            return [direct.get_secret_value()]
        if time.monotonic() - self._read_at < self._ttl_s and self._cached:
            return self._cached
        name = secret_name(self._settings)
        try:
            async with secretsmanager(self._settings) as client:
                value = (await client.get_secret_value(SecretId=name))["SecretString"]
        except Exception as exc:  # keep the last good value; without one, every delivery is refused (401)
            log.warning("webhook_secret_unreadable", name=name, error=type(exc).__name__)
            return self._cached
        self._cached = _parse(value)
        redactor.add(self._cached)  # scrubbed from any log line, should one ever carry it
        self._read_at = time.monotonic()
        return self._cached
