"""The API's own settings (prefix `CALLPIPE_API_`): keys and their scopes, body limit, page sizes, creation rate, jobs;
and the optional OIDC sign-in (`CALLPIPE_OIDC_*`, `OidcConfig`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.routing import Scope

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_REPO_CONSOLE_DIST = Path(__file__).resolve().parent.parent / "console" / "dist"


def _repo_console_dist() -> Path | None:
    """The repo's built console (`make console`), when this is a source checkout that has one."""
    return _REPO_CONSOLE_DIST if (_REPO_CONSOLE_DIST / "index.html").is_file() else None


LEGACY_SCOPE = Scope.ADMIN  # a bare digest in CALLPIPE_API_KEY_HASHES: what every key could do before scopes


class ApiKey(BaseModel):
    """One accepted API key: its SHA-256 digest (never the key), a short id, a label, a scope and an optional expiry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$", description="Short id, shown in the audit trail.")
    label: str = Field(default="", max_length=100, description="Whose key it is, for people (no secrets).")
    hash: str = Field(description="SHA-256 hex digest of the key.")
    scope: Scope = Field(description="read ⊂ operate ⊂ admin: the highest scope the key holds.")
    expires: datetime | None = Field(default=None, description="After this instant the key answers 401 (UTC).")

    @field_validator("hash")
    @classmethod
    def _hex_digest(cls, value: str) -> str:
        cleaned = value.strip().lower()
        if not _SHA256_HEX.match(cleaned):
            raise ValueError("not a SHA-256 hex digest (64 hex characters)")
        return cleaned

    @field_validator("expires")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("the expiry must carry a time zone (e.g. 2026-12-31T00:00:00Z)")
        return value.astimezone(UTC) if value is not None else None

    def expired(self, now: datetime) -> bool:
        """Whether the key is past its expiry at `now`."""
        return self.expires is not None and now >= self.expires


class OidcConfig(BaseSettings):
    """Optional OIDC sign-in (prefix `CALLPIPE_OIDC_`): bearer JWTs from one issuer, scopes from a claim."""

    model_config = SettingsConfigDict(env_prefix="CALLPIPE_OIDC_", extra="ignore")

    issuer: str = Field(default="", description="The issuer URL (`iss`); empty: OIDC off. Its JWKS is discovered.")
    audience: str = Field(default="", description="The expected `aud` (Cognito: the app client id).")
    client_id: str = Field(default="", description="The console's public client id (default: the audience).")
    jwks_url: str = Field(default="", description="Override of the discovered `jwks_uri`.")
    scope_claim: str = Field(
        default="cognito:groups", description="The claim holding the user's groups or scopes (a list or a string)."
    )
    scope_map: dict[str, Scope] = Field(
        default_factory=lambda: {s.value: s for s in Scope} | {f"callpipe-{s.value}": s for s in Scope},
        description="Claim value → scope (JSON object); the highest mapped scope wins; none mapped: 403.",
    )
    algorithms: list[str] = Field(
        default_factory=lambda: ["RS256", "ES256"], description="Accepted signing algorithms (asymmetric only)."
    )
    leeway_s: int = Field(default=30, ge=0, le=300, description="Clock skew allowed on exp/nbf.")
    jwks_refresh_min_s: float = Field(
        default=60.0, ge=0, description="An unknown `kid` refetches the JWKS at most this often."
    )

    @property
    def enabled(self) -> bool:
        return bool(self.issuer.strip())

    @field_validator("algorithms")
    @classmethod
    def _asymmetric_only(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if not re.match(r"^(RS|PS|ES)(256|384|512)$|^EdDSA$", a)]
        if bad or not value:
            raise ValueError(f"only asymmetric algorithms (RS*, PS*, ES*, EdDSA) are accepted, not {bad or 'none'}")
        return value

    @model_validator(mode="after")
    def _audience_with_issuer(self) -> OidcConfig:
        if self.enabled and not self.audience.strip():
            raise ValueError("CALLPIPE_OIDC_AUDIENCE is required with CALLPIPE_OIDC_ISSUER")
        return self


class ApiConfig(BaseSettings):
    """Settings read by the API server only; `Settings` (prefix `CALLPIPE_`) holds everything shared."""

    model_config = SettingsConfigDict(env_prefix="CALLPIPE_API_", extra="ignore")

    key_hashes: list[str] = Field(
        default_factory=list,
        description="SHA-256 hex digests of accepted API keys (JSON list), each with the admin scope; the keys "
        "themselves are never stored. Prefer CALLPIPE_API_KEYS (ids, labels, scopes, expiry).",
    )
    keys: list[ApiKey] = Field(
        default_factory=list,
        description='Accepted API keys (JSON list of {"id", "label", "hash", "scope", "expires"}); two keys may be '
        "valid at once while one is rotated out.",
    )
    oidc: OidcConfig = Field(
        default_factory=OidcConfig, description="OIDC sign-in, read from CALLPIPE_OIDC_* (off unless ISSUER is set)."
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

    @model_validator(mode="after")
    def _unique_ids(self) -> ApiConfig:
        ids = [k.id for k in self.all_keys()]
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated:
            raise ValueError(f"API key ids {duplicated} are used more than once")
        return self

    def all_keys(self) -> list[ApiKey]:
        """Every accepted key: CALLPIPE_API_KEYS, then each bare digest as `legacy-{8 hex}` with the admin scope."""
        legacy = [
            ApiKey(id=f"legacy-{digest[:8]}", label="CALLPIPE_API_KEY_HASHES", hash=digest, scope=LEGACY_SCOPE)
            for digest in self.key_hashes
        ]
        return [*self.keys, *legacy]

    @property
    def has_keys(self) -> bool:
        return bool(self.key_hashes or self.keys)
