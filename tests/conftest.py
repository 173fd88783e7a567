"""Fixtures shared by every test: a local AWS endpoint, throwaway resource names, open AWS clients."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from types_aiobotocore_s3 import S3Client
from types_aiobotocore_sqs import SQSClient

from shared.aws import AwsClients
from shared.config import Settings
from simulator.aws import LocalAws

# Dummy credentials: the emulators accept anything, and no test may ever reach real AWS.
os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_REGION="us-east-1")
for _var in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
    os.environ.pop(_var, None)


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAws]:
    """A moto server on 127.0.0.1 for the whole session (DynamoDB always; SQS/S3 unless LocalStack is given)."""
    with LocalAws() as aws:
        yield aws


@pytest.fixture
def settings(local_aws: LocalAws) -> Settings:
    """Settings with a throwaway name prefix, pointed at the local endpoint(s).

    `CALLPIPE_TEST_SQS_ENDPOINT` / `CALLPIPE_TEST_S3_ENDPOINT` (set by `make test-localstack`) send SQS and S3 to
    LocalStack instead. botocore retries are off so an emulator error surfaces at once instead of being retried away.
    """
    return Settings(
        name_prefix=f"t-{uuid.uuid4().hex[:10]}",
        aws_region="us-east-1",
        aws_endpoint_url=local_aws.endpoint,
        aws_endpoint_url_sqs=os.environ.get("CALLPIPE_TEST_SQS_ENDPOINT"),
        aws_endpoint_url_s3=os.environ.get("CALLPIPE_TEST_S3_ENDPOINT"),
        aws_max_attempts=1,
        consumer_wait_time_s=1,
        consumer_grace_period_s=10,
        backoff_base_s=1,
        backoff_max_s=4,
        log_format="json",
    )


@pytest.fixture
def clients(settings: Settings) -> AwsClients:
    return AwsClients(settings)


@pytest.fixture
async def sqs(clients: AwsClients) -> AsyncIterator[SQSClient]:
    async with clients.sqs() as client:
        yield client


@pytest.fixture
async def s3(clients: AwsClients) -> AsyncIterator[S3Client]:
    async with clients.s3() as client:
        yield client
