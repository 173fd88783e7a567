"""The API's own settings (prefix `CALLPIPE_API_`): accepted key hashes, body limit, page sizes."""

from __future__ import annotations

import re

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class ApiConfig(BaseSettings):
    """Settings read by the API server only; `Settings` (prefix `CALLPIPE_`) holds everything shared."""

    model_config = SettingsConfigDict(env_prefix="CALLPIPE_API_", extra="ignore")

    key_hashes: list[str] = Field(
        default_factory=list,
        description="SHA-256 hex digests of the accepted API keys (JSON list); the keys themselves are never stored.",
    )
    allow_anonymous: bool = Field(
        default=False, description="Serve without any API key (local development only); ignored when keys are set."
    )
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="Larger request bodies get 413.")
    max_failures_shown: int = Field(default=5, ge=0, le=100, description="Failures listed in a journey's status.")
    default_page_size: int = Field(default=20, ge=1, le=100)

    @field_validator("key_hashes")
    @classmethod
    def _hex_digests(cls, value: list[str]) -> list[str]:
        cleaned = [v.strip().lower() for v in value]
        bad = [i for i, v in enumerate(cleaned) if not _SHA256_HEX.match(v)]
        if bad:
            raise ValueError(f"entries {bad} are not SHA-256 hex digests (64 hex characters)")
        return cleaned
