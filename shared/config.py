"""Process configuration: one `Settings` read once from the environment (prefix `CALLPIPE_`)."""

from __future__ import annotations

import ipaddress
import json
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

AwsService = Literal["sqs", "s3", "dynamodb", "secretsmanager", "ssm"]

_URL_FIELDS = (
    "aws_endpoint_url",
    "aws_endpoint_url_sqs",
    "aws_endpoint_url_s3",
    "aws_endpoint_url_dynamodb",
    "openai_base_url",
    "wxcc_base_url",
    "wxcc_simulator_url",  # MCP (issue 15)
)


def _check_url(value: str) -> str:
    """`value` if it is an absolute http(s) URL with a host, else a `ValueError` saying what it must look like."""
    scheme, sep, rest = value.partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    if not sep or scheme.lower() not in ("http", "https") or not host or host.startswith(":"):
        raise ValueError("is not an http(s) URL with a host")
    return value


def _check_host_entry(entry: str) -> str:
    """One download allow-list entry: a host name, `.domain` (with subdomains) or an IP address; lower-cased."""
    text = entry.strip().lower()
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        pass
    name = text[1:] if text.startswith(".") else text
    if not name or any(c in name for c in ":/@?# "):
        raise ValueError(f"lists {entry!r}, which is not a host name (no scheme, port or path)")
    return text


class Settings(BaseSettings):
    """Everything a callpipe process reads from its environment.

    Project settings use the `CALLPIPE_` prefix; the variables the AWS and OpenAI SDKs already define
    (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_REGION`, `OPENAI_API_KEY`, `OPENAI_BASE_URL`) are read
    under their standard names, so one endpoint switch points everything at LocalStack, moto or real AWS.
    """

    model_config = SettingsConfigDict(env_prefix="CALLPIPE_", extra="ignore", populate_by_name=True)

    name_prefix: str = Field(
        default="callpipe-dev",
        pattern=r"^[a-z0-9][a-z0-9-]{1,40}$",
        description="Prefix of every queue, table and bucket name of this deployment.",
    )

    # --- AWS -------------------------------------------------------------------------------------------------
    aws_region: str = Field(
        default="us-east-1", validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION", "aws_region")
    )
    aws_endpoint_url: str | None = Field(
        default=None, validation_alias=AliasChoices("AWS_ENDPOINT_URL", "aws_endpoint_url")
    )
    aws_endpoint_url_sqs: str | None = Field(
        default=None, validation_alias=AliasChoices("AWS_ENDPOINT_URL_SQS", "aws_endpoint_url_sqs")
    )
    aws_endpoint_url_s3: str | None = Field(
        default=None, validation_alias=AliasChoices("AWS_ENDPOINT_URL_S3", "aws_endpoint_url_s3")
    )
    aws_endpoint_url_dynamodb: str | None = Field(
        default=None, validation_alias=AliasChoices("AWS_ENDPOINT_URL_DYNAMODB", "aws_endpoint_url_dynamodb")
    )
    aws_max_attempts: int = Field(default=5, ge=1, le=20, description="botocore attempts per AWS call.")
    aws_max_pool_connections: int = Field(default=50, ge=1)

    # --- OpenAI ----------------------------------------------------------------------------------------------
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "openai_api_key")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "openai_base_url")
    )

    # --- Webex Contact Center -------------------------------------------------------------------------------
    wxcc_datacenter: Literal["us1", "eu1", "eu2", "anz1", "ca1", "jp1"] = "us1"
    wxcc_base_url: str | None = Field(default=None, description="Explicit API base (a simulator, a proxy).")
    webex_auth_base_url: str = "https://webexapis.com"
    wxcc_org_id: str = ""
    wxcc_auth_mode: Literal["service_app", "refresh_token"] = "service_app"
    wxcc_client_id: str = ""
    wxcc_client_secret: SecretStr | None = None
    wxcc_application_id: str = Field(default="", description="Service app id (service_app mode).")
    wxcc_refresh_token: SecretStr | None = Field(
        default=None, description="Seed refresh token (refresh_token mode); rotations are kept in the token store."
    )
    wxcc_token_refresh_margin_s: float = Field(default=300.0, ge=0, description="Refresh this long before expiry.")
    wxcc_find_calls: Literal["search", "tasks"] = "search"
    wxcc_rate_per_minute: int = Field(default=300, ge=1, description="Request budget shared by all workers.")
    wxcc_rate_window_s: int = Field(default=10, ge=1, le=60)
    wxcc_max_attempts: int = Field(default=5, ge=1, le=20)
    wxcc_timeout_s: float = Field(default=30.0, gt=0)
    wxcc_url_expiration_min: int = Field(default=30, ge=1, le=60)
    wxcc_download_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [".amazonaws.com", ".cisco.com", ".webex.com"],
        description="Hosts recordings may be downloaded from (JSON list or comma-separated); `.x` allows subdomains.",
    )
    wxcc_download_allow_http: bool = Field(default=False, description="Allow plain http (local simulator only).")
    wxcc_max_recording_bytes: int = Field(default=2 * 1024**3, ge=1)

    # --- Pipeline -------------------------------------------------------------------------------------------
    poll_max_window_s: int = Field(default=6 * 3600, ge=60, description="Larger poll windows are split.")
    capture_max_age_s: int = Field(
        default=48 * 3600, ge=60, description="How long after a call ends its recording may still appear."
    )
    poll_recheck_s: int = Field(
        default=300, ge=1, description="Look again at a window whose tasks were still active (tasks mode)."
    )
    stage_lease_s: int = Field(default=60, ge=3, description="A stage's hold on a call, renewed every third of it.")
    capture_min_attempts: int = Field(
        default=3, ge=1, le=100, description="Captures queries before a call past the capture max age may FAIL."
    )
    capture_min_wait_s: int = Field(
        default=600, ge=0, description="Time since the first captures query before a call past the max age may FAIL."
    )
    wxcc_captures_batch_wait_s: float = Field(
        default=1.0,
        ge=0,
        le=10,
        description="How long a captures lookup waits for others to share its request (bench/wxcc_budget.py: 1,000 "
        "calls cost 0.111 requests per call at 1.0 s, 0.167 at 0.5 s).",
    )

    # --- Bounds on one journey (checked by the API, the CLI and again by the poll stage) -----------------------
    journey_max_window_s: int = Field(
        default=31 * 86400, ge=60, description="Longest window one journey may cover (WXCC's search allows 365 days)."
    )
    journey_max_lookback_s: int = Field(
        default=1095 * 86400, ge=60, description="Oldest `from` a journey may ask for (WXCC search: 36 months)."
    )
    journey_max_task_ids: int = Field(default=1000, ge=1, le=10_000, description="Task ids in one journey.")
    transcription_model: str = "whisper-1"
    transcription_max_chunk_s: float = Field(default=1200, ge=30, description="The model's duration limit.")
    transcription_concurrency: int = Field(
        default=20, ge=1, le=256, description="OpenAI requests at once: 2 x consumer slots keeps both channels going."
    )
    transcription_opus_complexity: int = Field(
        default=1, ge=0, le=10, description="libopus complexity of the uploaded chunks: encoder CPU vs quality."
    )
    audio_processes: int = Field(
        default=0, ge=0, le=64, description="Processes preparing audio (0: a thread of the worker); ~ the task's vCPUs."
    )
    analysis_model: str = "gpt-4o-mini"
    pipeline_version: int = Field(default=1, ge=1, description="Bump to reprocess analyses with a new prompt/model.")
    # Estimated cost in the analytics (OpenAI list prices taken 2025-06-01: whisper-1 $0.006 per audio minute,
    # gpt-4o-mini $0.15 / $0.60 per million input / output tokens). Set them to your contract's prices.
    price_audio_per_minute_usd: float = Field(default=0.006, ge=0, description="Transcription, per billed minute.")
    price_input_per_mtok_usd: float = Field(default=0.15, ge=0, description="Analysis, per million prompt tokens.")
    price_output_per_mtok_usd: float = Field(default=0.60, ge=0, description="Analysis, per million output tokens.")

    # --- Webhooks (issue 17): the WXCC capture:available receiver and its subscription -----------------------
    webhook_secret: SecretStr | None = Field(
        default=None, description="The webhook secret itself (local runs); else it is read from Secrets Manager."
    )
    webhook_secret_name: str = Field(
        default="",
        description="Secrets Manager name/ARN of the webhook secret ('': {name_prefix}/wxcc-webhook-secret).",
    )
    webhook_url: str = Field(
        default="", description="Public HTTPS URL WXCC posts to (…/api/v1/webhooks/wxcc), for `callpipe webhooks`."
    )
    webhook_tolerance_s: float = Field(
        default=300.0, gt=0, le=3600, description="Replay window: a V2 delivery's timestamp may be this far from now."
    )
    webhook_require_v2: bool = Field(
        default=True, description="Refuse V1 deliveries (no timestamp, so no replay protection)."
    )
    webhook_max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=1024 * 1024, description="Larger → 413.")
    webhook_dedupe_ttl_s: int = Field(
        default=7 * 86400, ge=60, description="How long an event id is remembered (duplicates acknowledged)."
    )

    # --- Privacy (issue 16): customer-number HMAC, retention per kind of data (days), audio redaction ---------
    privacy_hmac_secret: SecretStr | None = Field(
        default=None, description="Key of the customer-number HMAC (local runs); else read from Secrets Manager."
    )
    privacy_hmac_secret_name: str = Field(
        default="", description="Secrets Manager name of the HMAC key ('': {name_prefix}/privacy-hmac)."
    )
    retention_recordings_days: int = Field(default=180, ge=1, description="Recordings (all legs) in S3.")
    retention_transcripts_days: int = Field(default=365, ge=1, description="Redacted transcripts in S3.")
    retention_analyses_days: int = Field(default=730, ge=1, description="Analyses in S3.")
    retention_analytics_days: int = Field(default=730, ge=1, description="Analytics lines (Athena) in S3.")
    retention_reports_days: int = Field(default=730, ge=1, description="Journey reports and journey logs in S3.")
    retention_checkpoints_days: int = Field(default=2, ge=1, description="Transcription checkpoints (raw text).")
    retention_tracking_days: int = Field(default=400, ge=1, description="Tracking rows (DynamoDB TTL).")
    redact_audio: bool = Field(default=False, description="Mute redacted spans in the stored recording.")

    # --- Metrics --------------------------------------------------------------------------------------------
    metrics_port: int = Field(default=9100, ge=0, le=65535, description="Worker /metrics port; 0 turns it off.")
    emf_interval_s: float = Field(default=60, ge=0, description="EMF metric lines every N s; 0 turns them off.")

    # --- Logging ---------------------------------------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"

    # --- Queues and the consumer runtime ---------------------------------------------------------------------
    max_receive_count: int = Field(default=5, ge=1, le=1000, description="Receives before SQS dead-letters.")
    consumer_concurrency: int = Field(default=10, ge=1, le=1000, description="Handlers running at once.")
    consumer_receivers: int = Field(default=1, ge=1, le=64, description="Concurrent long-poll loops.")
    consumer_wait_time_s: int = Field(default=20, ge=0, le=20)
    consumer_grace_period_s: float = Field(default=30.0, ge=0, description="Drain time on SIGTERM.")
    backoff_base_s: float = Field(default=5.0, gt=0)
    backoff_max_s: float = Field(default=900.0, gt=0)
    not_ready_base_s: float = Field(default=60.0, gt=0)
    not_ready_max_s: float = Field(default=3600.0, gt=0)
    claim_check_threshold_bytes: int = Field(default=200_000, ge=1, le=256 * 1024)

    # --- license (issue 14) ----------------------------------------------------------------------------------
    license_public_key: str | None = Field(
        default=None,
        description="The vendor's Ed25519 public key (`ed25519:<base64>` or PEM) license keys are verified with.",
    )
    license_evaluation_calls_per_month: int = Field(
        default=500, ge=0, description="Analysed calls per month of the built-in evaluation license (no key)."
    )

    # --- MCP (issue 15) --------------------------------------------------------------------------------------
    wxcc_simulator_url: str | None = Field(
        default=None,
        description="The WXCC simulator's base URL for the MCP `wxcc_simulator_tool` (development only; unset in "
        "production, where the tool refuses).",
    )

    @field_validator(*_URL_FIELDS, mode="before")
    @classmethod
    def _optional_url(cls, value: Any) -> Any:
        """An empty variable means "not set"; anything else must be an http(s) URL."""
        if isinstance(value, str):
            value = value.strip()
            return _check_url(value) if value else None
        return value

    @field_validator("webex_auth_base_url", mode="before")
    @classmethod
    def _required_url(cls, value: Any) -> Any:
        return _check_url(value.strip()) if isinstance(value, str) else value

    @field_validator("wxcc_download_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: Any) -> Any:
        """A JSON list (`["127.0.0.1"]`) or a plain comma-separated list (`127.0.0.1,.amazonaws.com`)."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except ValueError:
                    raise ValueError("starts with [ but is not a valid JSON list") from None
            else:
                value = [part for part in (p.strip() for p in text.split(",")) if part]
        if isinstance(value, list):
            return [_check_host_entry(v) if isinstance(v, str) else v for v in value]
        return value

    def endpoint_for(self, service: AwsService) -> str | None:
        """The endpoint URL for one AWS service: its own override, else the global one, else AWS itself."""
        own = {
            "sqs": self.aws_endpoint_url_sqs,
            "s3": self.aws_endpoint_url_s3,
            "dynamodb": self.aws_endpoint_url_dynamodb,
        }.get(service)
        return own or self.aws_endpoint_url

    def secret_values(self) -> list[str]:
        """Literal secret values to scrub from every log line."""
        secrets = (
            self.openai_api_key,
            self.wxcc_client_secret,
            self.wxcc_refresh_token,
            self.webhook_secret,
            self.privacy_hmac_secret,
        )
        return [s.get_secret_value() for s in secrets if s is not None and s.get_secret_value()]

    @property
    def wxcc_api_base(self) -> str:
        """The WXCC API base URL: the explicit one, else the datacenter's."""
        return (self.wxcc_base_url or f"https://api.wxcc-{self.wxcc_datacenter}.cisco.com").rstrip("/")
