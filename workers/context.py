"""What every stage handler may use, built once per worker process: stores, storage, WXCC and OpenAI clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from shared.aws import AwsClients
from shared.config import Settings
from shared.journeys import JourneyStore
from shared.privacy.retention import tracking_row_ttl_s
from shared.reports import ReportWriter
from shared.resources import DataResources
from shared.storage import Storage
from shared.tracking import TrackingTable
from shared.wxcc.batcher import CapturesBatcher
from shared.wxcc.budget import RateBudget
from shared.wxcc.client import WxccClient
from shared.wxcc.download import RecordingDownloader
from shared.wxcc.tokens import TokenProvider

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient


@dataclass
class StageContext:
    """Long-lived dependencies of the stage handlers of one process."""

    settings: Settings
    resources: DataResources
    dynamodb: DynamoDBClient
    tracking: TrackingTable
    journeys: JourneyStore
    storage: Storage
    wxcc: WxccClient
    captures: CapturesBatcher
    downloader: RecordingDownloader


@asynccontextmanager
async def stage_context(settings: Settings) -> AsyncIterator[StageContext]:
    """Open every client a stage needs and close them on exit."""
    resources = DataResources(settings.name_prefix)
    clients = AwsClients(settings)
    async with AsyncExitStack() as stack:
        ddb = await stack.enter_async_context(clients.dynamodb())
        s3 = await stack.enter_async_context(clients.s3())
        api_http = await stack.enter_async_context(httpx.AsyncClient(timeout=settings.wxcc_timeout_s))
        # Recording downloads use their own client: presigned URLs must never see the WXCC bearer token.
        download_http = await stack.enter_async_context(httpx.AsyncClient(timeout=httpx.Timeout(60, connect=10)))
        coordination = resources.coordination_table.name
        client_key = settings.wxcc_client_id or settings.wxcc_application_id or "default"
        tokens = TokenProvider(ddb, coordination, api_http, settings)
        budget = RateBudget(
            ddb,
            coordination,
            client_key,
            per_minute=settings.wxcc_rate_per_minute,
            window_s=settings.wxcc_rate_window_s,
        )
        wxcc = WxccClient(api_http, tokens, settings, budget=budget)
        journeys = JourneyStore(ddb, resources.journeys_table.name)
        storage = Storage(s3)
        # The worker that completes a journey writes its report (shared.reports); the API builds it if that fails.
        journeys.on_completed = ReportWriter(journeys, storage, resources.results_bucket.name).write
        yield StageContext(
            settings=settings,
            resources=resources,
            dynamodb=ddb,
            tracking=TrackingTable(ddb, resources.tracking_table.name, row_ttl_s=tracking_row_ttl_s(settings)),
            journeys=journeys,
            storage=storage,
            wxcc=wxcc,
            captures=CapturesBatcher(wxcc),
            downloader=RecordingDownloader(
                download_http,
                settings.wxcc_download_hosts,
                max_bytes=settings.wxcc_max_recording_bytes,
                allow_http=settings.wxcc_download_allow_http,
            ),
        )
