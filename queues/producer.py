"""Sends envelopes to their stage queues in batches of up to 10, claim-checking oversized bodies to S3."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from queues.claimcheck import ClaimCheck
from queues.directory import QueueDirectory
from queues.envelope import ATTR_CLAIM_CHECK, Envelope, Kind
from shared.errors import Permanent, Retryable
from shared.logging import get_logger

if TYPE_CHECKING:
    from types_aiobotocore_sqs import SQSClient
    from types_aiobotocore_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

log = get_logger(__name__)

SQS_BATCH_MAX_ENTRIES = 10
SQS_BATCH_MAX_BYTES = 256 * 1024
_ATTRIBUTE_ALLOWANCE = 1024  # bytes per entry reserved for message attributes when packing a batch


class _PartialBatchFailure(Retryable):
    """Some entries of a SendMessageBatch failed for a reason SQS says may pass."""


class Producer:
    """Enqueues envelopes; the one way any callpipe code puts work on a queue."""

    def __init__(
        self,
        sqs: SQSClient,
        directory: QueueDirectory,
        claim_check: ClaimCheck,
        *,
        claim_check_threshold: int = 200_000,
    ) -> None:
        self._sqs = sqs
        self._directory = directory
        self._claim_check = claim_check
        self._threshold = claim_check_threshold

    async def send(self, envelopes: Iterable[Envelope], *, delay_s: int = 0) -> int:
        """Send envelopes to their kinds' queues; returns how many were sent. Raises `Retryable` on failure."""
        by_kind: dict[Kind, list[Envelope]] = defaultdict(list)
        for env in envelopes:
            by_kind[env.kind].append(env)
        sent = 0
        for kind, group in by_kind.items():
            url = (await self._directory.urls(kind)).url
            entries = [await self._entry(i, env, delay_s) for i, env in enumerate(group)]
            for batch in _pack(entries):
                await self._send_batch(url, batch)
                sent += len(batch)
        return sent

    async def _entry(self, index: int, env: Envelope, delay_s: int) -> SendMessageBatchRequestEntryTypeDef:
        body = env.to_body()
        attributes: dict[str, Any] = env.message_attributes()
        if len(body.encode()) > self._threshold:
            key = await self._claim_check.put(env.kind.value, body)
            attributes[ATTR_CLAIM_CHECK] = {"DataType": "String", "StringValue": key}
            body = '{"claim_check": "' + key + '"}'
            log.info("claim_check_stored", kind=env.kind.value, key=key)
        entry: SendMessageBatchRequestEntryTypeDef = {
            "Id": str(index),
            "MessageBody": body,
            "MessageAttributes": attributes,
        }
        if delay_s:
            entry["DelaySeconds"] = delay_s
        return entry

    async def _send_batch(self, url: str, batch: list[SendMessageBatchRequestEntryTypeDef]) -> None:
        pending = batch
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(4),
            wait=wait_random_exponential(multiplier=0.1, max=2),
            retry=retry_if_exception_type(_PartialBatchFailure),
            reraise=True,
        ):
            with attempt:
                resp = await self._sqs.send_message_batch(QueueUrl=url, Entries=pending)
                failed = resp.get("Failed", [])
                if not failed:
                    return
                sender_faults = [f for f in failed if f.get("SenderFault")]
                if sender_faults:
                    raise Permanent(f"SQS rejected {len(sender_faults)} message(s): {sender_faults[0].get('Message')}")
                failed_ids = {f["Id"] for f in failed}
                pending = [e for e in pending if e["Id"] in failed_ids]
                raise _PartialBatchFailure(f"{len(pending)} message(s) not accepted by SQS; retrying")


def _pack(entries: Sequence[SendMessageBatchRequestEntryTypeDef]) -> list[list[SendMessageBatchRequestEntryTypeDef]]:
    """Split entries into batches that respect SQS's 10-entry and 256 KiB limits."""
    batches: list[list[SendMessageBatchRequestEntryTypeDef]] = []
    current: list[SendMessageBatchRequestEntryTypeDef] = []
    size = 0
    for entry in entries:
        entry_size = len(entry["MessageBody"].encode()) + _ATTRIBUTE_ALLOWANCE
        if current and (len(current) == SQS_BATCH_MAX_ENTRIES or size + entry_size > SQS_BATCH_MAX_BYTES):
            batches.append(current)
            current, size = [], 0
        current.append(entry)
        size += entry_size
    if current:
        batches.append(current)
    return batches
