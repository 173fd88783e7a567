"""Producer batching: never more than 10 entries or 256 KiB in one SendMessageBatch."""

from queues.producer import SQS_BATCH_MAX_BYTES, _pack


def entry(i: int, size: int) -> dict[str, object]:
    return {"Id": str(i), "MessageBody": "x" * size}


def test_packs_by_count_and_by_size() -> None:
    small = _pack([entry(i, 10) for i in range(23)])  # type: ignore[misc]
    assert [len(b) for b in small] == [10, 10, 3]
    big = _pack([entry(i, 100_000) for i in range(5)])  # type: ignore[misc]
    assert [len(b) for b in big] == [2, 2, 1]
    for batch in big:
        assert sum(len(str(e["MessageBody"])) for e in batch) <= SQS_BATCH_MAX_BYTES
