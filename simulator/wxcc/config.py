"""Settings of one simulator instance: the calls it generates, tokens, recordings, limits and faults at start."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from simulator.wxcc.faults import FaultRule

DEFAULT_ORG_ID = "f4b1c2d3-0000-4a5b-9c8d-111122223333"


class SimulatorConfig(BaseModel):
    """Everything a simulator instance is started with; `/api/v1/simulator/reset` can override any field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # --- generated calls
    seed: int = 7
    org_id: str = DEFAULT_ORG_ID
    calls: int = Field(default=50, ge=0, le=100_000, description="calls generated at start (and on reset)")
    window_hours: float = Field(
        default=24.0, gt=0, description="calls are created in the last N hours, unless a window is set"
    )
    window_start_ms: int | None = None
    window_end_ms: int | None = None
    agents: int = Field(default=8, ge=2, le=200)
    abandoned_fraction: float = Field(
        default=0.12, ge=0, le=1, description="inbound calls abandoned in queue: no owner"
    )
    unrecorded_fraction: float = Field(
        default=0.05, ge=0, le=1, description="answered calls with captureRequested false"
    )
    consult_fraction: float = Field(default=0.15, ge=0, le=1, description="answered calls with a consult leg")
    # privacy: calls whose customer reads out card, email and phone details (redaction tests)
    sensitive_fraction: float = Field(default=0.0, ge=0, le=1, description="answered calls with card/contact details")
    outbound_fraction: float = Field(default=0.25, ge=0, le=1)
    capture_pending_fraction: float = Field(
        default=0.2, ge=0, le=1, description="calls whose captureRequested stays null ..."
    )
    capture_pending_s: float = Field(default=120.0, ge=0, description="... for this long after they end")
    null_capture_fraction: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="recorded calls whose captureRequested is never set (null forever) though recordingCount "
        "counts their legs and the captures API lists them",
    )
    same_created_fraction: float = Field(
        default=0.1, ge=0, le=1, description="calls sharing the previous call's createdTime"
    )
    duration_min_s: float = Field(default=30.0, gt=0)
    duration_max_s: float = Field(default=360.0, gt=0)
    duration_scale: float = Field(
        default=1.0, gt=0, description="multiplies every duration (0.05 → calls of a few seconds)"
    )

    # --- recordings
    availability_delay_s: float = Field(
        default=30.0, ge=0, description="a recording is listed this long after the call ends"
    )
    captures_listed_from_query: int = Field(
        default=1,
        ge=1,
        le=1000,
        description="a call's recordings are listed only from its Nth captures query on (once available): "
        "earlier queries answer `recording: []`, even for old calls",
    )
    sample_rate: Literal[8000, 16000] = 8000
    voice: Literal["auto", "espeak", "synth"] = "auto"
    wav_cache_bytes: int = Field(default=256 * 2**20, ge=0)
    url_secret: str | None = Field(default=None, description="HMAC key of recording URLs (random when None)")
    public_base_url: str | None = Field(
        default=None, description="base of recording URLs (the request's origin when None)"
    )

    # --- OAuth
    client_id: str = "sim-client-id"
    client_secret: str = "sim-client-secret"  # noqa: S105 - a fake for the fake server
    application_id: str = "sim-service-app"
    refresh_token: str = Field(default="sim-refresh-token", description="the refresh token valid at start")
    access_token_ttl_s: int = Field(default=43199, ge=1)
    refresh_token_ttl_s: int = Field(default=5086600, ge=1)
    refresh_overlap_s: float = Field(default=0.0, ge=0, description="how long a rotated refresh token keeps working")

    # --- API behaviour
    search_page_size: int = Field(default=100, ge=1, le=1000)
    rate_limit_per_min: int | None = Field(
        default=None, ge=1, description="requests a client may make per minute; None: off"
    )
    faults: tuple[FaultRule, ...] = ()

    # --- webhooks (issue 17): capture:available deliveries to subscriptions, and their faults
    webhook_tick_s: float = Field(default=0.2, gt=0, le=60, description="how often new captures are looked for")
    webhook_allow_http: bool = Field(default=True, description="accept http:// destinations (a local receiver)")
    webhook_lost_fraction: float = Field(default=0.0, ge=0, le=1, description="events never sent")
    webhook_duplicate_fraction: float = Field(default=0.0, ge=0, le=1, description="events sent twice")
    webhook_delay_fraction: float = Field(default=0.0, ge=0, le=1, description="events sent late ...")
    webhook_delay_s: float = Field(default=5.0, ge=0, description="... by this long")
    webhook_reorder: bool = Field(default=False, description="shuffle the events found in one tick")
    webhook_bad_signature_fraction: float = Field(
        default=0.0, ge=0, le=1, description="events sent with a wrong signature (and not correctly)"
    )
    webhook_replay_fraction: float = Field(
        default=0.0, ge=0, le=1, description="events whose old copy (validly signed, stale timestamp) is sent too"
    )
    webhook_replay_age_s: float = Field(default=3600.0, ge=0, description="how old a replayed copy claims to be")
    webhook_retries: int = Field(default=2, ge=0, le=10, description="retries of a delivery answered 5xx/409/nothing")
    fault_seed: int | None = Field(default=None, description="seed of probabilistic faults (the call seed when None)")

    @model_validator(mode="after")
    def _check(self) -> SimulatorConfig:
        if self.duration_min_s > self.duration_max_s:
            raise ValueError("duration_min_s must not exceed duration_max_s")
        if (self.window_start_ms is None) != (self.window_end_ms is None):
            raise ValueError("set both window_start_ms and window_end_ms, or neither")
        if (
            self.window_start_ms is not None
            and self.window_end_ms is not None
            and (self.window_start_ms >= self.window_end_ms)
        ):
            raise ValueError("window_start_ms must be before window_end_ms")
        return self
