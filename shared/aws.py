"""The aioboto3 client factory: one session per process, endpoints and retries from `Settings`."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

import aioboto3
from botocore.config import Config

from shared.config import AwsService, Settings

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_secretsmanager import SecretsManagerClient
    from types_aiobotocore_sqs import SQSClient


_SESSIONS: dict[str, aioboto3.Session] = {}


def _session(region: str) -> aioboto3.Session:
    """One session per region and process: each session loads its own service models (~12 MB for S3 alone)."""
    if region not in _SESSIONS:
        _SESSIONS[region] = aioboto3.Session(region_name=region)
    return _SESSIONS[region]


class AwsClients:
    """Opens AWS clients against the endpoint the settings name (LocalStack, moto or real AWS).

    Each method returns an async context manager; open a client once per process and reuse it.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._session = _session(settings.aws_region)
        self._config = Config(
            retries={"mode": "standard", "max_attempts": settings.aws_max_attempts},
            max_pool_connections=settings.aws_max_pool_connections,
            connect_timeout=5,
            read_timeout=30,
        )

    def _client(self, service: AwsService) -> AbstractAsyncContextManager[Any]:
        endpoint = self._settings.endpoint_for(service)
        config = self._config
        if service == "s3" and endpoint:
            # Emulators on 127.0.0.1/localhost have no per-bucket DNS names: address buckets by path.
            config = config.merge(Config(s3={"addressing_style": "path"}))
        return self._session.client(  # type: ignore[call-overload,no-any-return]
            service, endpoint_url=endpoint, config=config
        )

    def sqs(self) -> AbstractAsyncContextManager[SQSClient]:
        """An SQS client."""
        return self._client("sqs")

    def s3(self) -> AbstractAsyncContextManager[S3Client]:
        """An S3 client."""
        return self._client("s3")

    def dynamodb(self) -> AbstractAsyncContextManager[DynamoDBClient]:
        """A low-level DynamoDB client."""
        return self._client("dynamodb")

    def secretsmanager(self) -> AbstractAsyncContextManager[SecretsManagerClient]:
        """A Secrets Manager client (license signing key, webhook secret, privacy HMAC key)."""
        return self._client("secretsmanager")
