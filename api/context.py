"""What every handler needs, opened once per server: AWS clients, stores, the producer, the creation limiter, the
replay jobs (stopped, and recorded as interrupted, before the clients close)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from api.auth import Authenticator
from api.config import ApiConfig
from api.errors import ApiError
from api.ratelimit import CreationLimiter
from api.replay_jobs import ReplayJobStore, ReplayRunner
from queues.claimcheck import ClaimCheck
from queues.directory import QueueDirectory
from queues.producer import Producer
from shared.audit import AuditLog
from shared.aws import AwsClients
from shared.config import Settings
from shared.journeys import JourneyStore
from shared.logging import get_logger
from shared.privacy.retention import tracking_row_ttl_s
from shared.resources import DataResources
from shared.tracking import TrackingTable

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_sqs import SQSClient

log = get_logger(__name__)


@dataclass(frozen=True)
class ApiContext:
    """The server's dependencies, built on startup."""

    settings: Settings
    config: ApiConfig
    resources: DataResources
    dynamodb: DynamoDBClient
    sqs: SQSClient
    s3: S3Client
    journeys: JourneyStore
    tracking: TrackingTable
    directory: QueueDirectory
    producer: Producer
    limiter: CreationLimiter
    replay_jobs: ReplayJobStore
    replays: ReplayRunner
    audit: AuditLog
    dlq_depths: dict[str, tuple[float, int]] = field(default_factory=dict)  # stage → (read at, messages)


CONTEXT = web.AppKey("callpipe_api_context", ApiContext)
CHECKER = web.AppKey("callpipe_api_authenticator", Authenticator)
CONFIG = web.AppKey("callpipe_api_config", ApiConfig)


def org_of(c: ApiContext, requested: str | None) -> str:
    """The org a request is about: the one it names, or the server's WXCC org (422 when neither)."""
    org = requested or c.settings.wxcc_org_id
    if not org:
        raise ApiError(
            422,
            "validation_failed",
            "`org_id` is required: the server has no default WXCC org",
            [{"loc": ["org_id"], "msg": "Field required", "type": "missing"}],
        )
    return org


def ctx(request: web.Request) -> ApiContext:
    """The context of the app serving a request."""
    return request.app[CONTEXT]


def aws_context(
    settings: Settings, config: ApiConfig, clients: AwsClients
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A `cleanup_ctx` entry that opens the AWS clients on startup and closes them on shutdown."""

    async def open_clients(app: web.Application) -> AsyncIterator[None]:
        resources = DataResources(settings.name_prefix)
        async with AsyncExitStack() as stack:
            ddb = await stack.enter_async_context(clients.dynamodb())
            sqs = await stack.enter_async_context(clients.sqs())
            s3 = await stack.enter_async_context(clients.s3())
            directory = QueueDirectory(sqs, settings.name_prefix)
            table = resources.journeys_table.name
            replay_jobs = ReplayJobStore(ddb, table, ttl_s=config.replay_job_ttl_s)
            replays = ReplayRunner(
                replay_jobs, max_running=config.replay_jobs_per_process, heartbeat_s=config.replay_heartbeat_s
            )
            stack.push_async_callback(replays.close)  # before the clients close: jobs record their interruption
            app[CONTEXT] = ApiContext(
                settings=settings,
                config=config,
                resources=resources,
                dynamodb=ddb,
                sqs=sqs,
                s3=s3,
                journeys=JourneyStore(ddb, table),
                tracking=TrackingTable(ddb, resources.tracking_table.name, row_ttl_s=tracking_row_ttl_s(settings)),
                directory=directory,
                producer=Producer(
                    sqs,
                    directory,
                    ClaimCheck(s3, resources.messages_bucket.name),
                    claim_check_threshold=settings.claim_check_threshold_bytes,
                ),
                limiter=CreationLimiter(ddb, table, per_minute=config.journey_creates_per_minute),
                replay_jobs=replay_jobs,
                replays=replays,
                audit=AuditLog(s3, resources.logs_bucket.name),
            )
            log.info("api_clients_open", prefix=settings.name_prefix)
            yield
        log.info("api_clients_closed")

    return open_clients
