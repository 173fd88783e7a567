"""Fixtures for the WXCC client: a running simulator, settings pointing at it, the shared coordination table."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from types_aiobotocore_dynamodb import DynamoDBClient

from queues.bootstrap import Bootstrapper
from shared.aws import AwsClients
from shared.config import Settings
from shared.resources import DataResources
from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.server import SimulatorHandle, running_simulator


def wxcc_settings(settings: Settings, sim: SimulatorHandle, **overrides: object) -> Settings:
    """The test's settings pointed at the simulator for both webexapis.com and the WXCC API."""
    cfg = sim.config
    return settings.model_copy(
        update={
            "wxcc_base_url": sim.base_url,
            "webex_auth_base_url": sim.base_url,
            "wxcc_org_id": cfg.org_id,
            "wxcc_client_id": cfg.client_id,
            "wxcc_client_secret": SecretStr(cfg.client_secret),
            "wxcc_application_id": cfg.application_id,
            "wxcc_refresh_token": SecretStr(cfg.refresh_token),
            "wxcc_download_hosts": ["127.0.0.1"],
            "wxcc_download_allow_http": True,
            "wxcc_max_attempts": 6,
            **overrides,
        }
    )


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorHandle]:
    async with running_simulator(SimulatorConfig(calls=40, seed=11, availability_delay_s=0)) as handle:
        yield handle


@pytest.fixture
async def ddb(clients: AwsClients, settings: Settings) -> AsyncIterator[DynamoDBClient]:
    """A DynamoDB client with this test's coordination table created."""
    async with clients.dynamodb() as client, clients.sqs() as sqs, clients.s3() as s3:
        boot = Bootstrapper(sqs, client, s3, region=settings.aws_region, verify=False)
        await boot.table(DataResources(settings.name_prefix).coordination_table)
        yield client
