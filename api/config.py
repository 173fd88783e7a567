"""The API's own settings (prefix `CALLPIPE_API_`): key hashes, body limit, page sizes, creation rate, jobs."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_REPO_CONSOLE_DIST = Path(__file__).resolve().parent.parent / "console" / "dist"


def _repo_console_dist() -> Path | None:
    """The repo's built console (`make console`), when this is a source checkout that has one."""
    return _REPO_CONSOLE_DIST if (_REPO_CONSOLE_DIST / "index.html").is_file() else None


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
    journey_creates_per_minute: int = Field(
        default=30,
        ge=0,
        description="Journeys one API key may create per minute, over every API task (0: no limit); then 429.",
    )
    idempotency_ttl_s: int = Field(
        default=24 * 3600, ge=1, description="How long an Idempotency-Key keeps answering with its first journey."
    )
    replay_jobs_per_process: int = Field(
        default=4, ge=1, le=64, description="DLQ replay jobs one API process runs at once; more get 429."
    )
    replay_heartbeat_s: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="How often a running replay job writes its progress; 5 missed writes show it as INTERRUPTED.",
    )
    replay_job_ttl_s: int = Field(default=7 * 24 * 3600, ge=60, description="How long a replay job's record is kept.")
    console_dir: Path | None = Field(
        default_factory=_repo_console_dist,
        description="The built web console served at `/` (index.html + assets/); default the repo's console/dist "
        "when built, an empty value turns it off.",
    )

    @field_validator("console_dir", mode="before")
    @classmethod
    def _empty_is_off(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("key_hashes")
    @classmethod
    def _hex_digests(cls, value: list[str]) -> list[str]:
        cleaned = [v.strip().lower() for v in value]
        bad = [i for i, v in enumerate(cleaned) if not _SHA256_HEX.match(v)]
        if bad:
            raise ValueError(f"entries {bad} are not SHA-256 hex digests (64 hex characters)")
        return cleaned
