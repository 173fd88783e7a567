"""Resolves stage queues to URLs once per process and caches them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from queues.envelope import Kind
from queues.topology import StageQueue, stage_queue

if TYPE_CHECKING:
    from types_aiobotocore_sqs import SQSClient


@dataclass(frozen=True)
class QueueUrls:
    """The URLs of one stage's work queue and dead-letter queue."""

    url: str
    dlq_url: str


class QueueDirectory:
    """Maps a message kind to its queue URLs, asking SQS at most once per queue."""

    def __init__(self, sqs: SQSClient, prefix: str) -> None:
        self._sqs = sqs
        self.prefix = prefix
        self._cache: dict[Kind, QueueUrls] = {}

    def spec(self, kind: Kind) -> StageQueue:
        """The topology entry for a kind."""
        return stage_queue(self.prefix, kind)

    async def urls(self, kind: Kind) -> QueueUrls:
        """Work and DLQ URLs of a kind's queue."""
        if kind not in self._cache:
            spec = self.spec(kind)
            url = (await self._sqs.get_queue_url(QueueName=spec.name))["QueueUrl"]
            dlq = (await self._sqs.get_queue_url(QueueName=spec.dlq_name))["QueueUrl"]
            self._cache[kind] = QueueUrls(url, dlq)
        return self._cache[kind]
