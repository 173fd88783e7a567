"""The one definition of every stage queue and its dead-letter queue, read by bootstrap, workers and producers."""

from __future__ import annotations

from dataclasses import dataclass

from queues.envelope import Kind


@dataclass(frozen=True)
class StageQueue:
    """A stage's work queue, its DLQ and the settings that fit the stage's work."""

    kind: Kind
    prefix: str
    visibility_timeout_s: int
    max_receive_count: int = 5
    retention_s: int = 14 * 24 * 3600

    @property
    def name(self) -> str:
        return f"{self.prefix}-{self.kind.value}"

    @property
    def dlq_name(self) -> str:
        return f"{self.prefix}-{self.kind.value}-dlq"


# Visibility timeouts are the heartbeat's unit, not a bound on a handler's run time: the consumer extends
# visibility while a handler works. They are sized so one missed heartbeat does not cause a redelivery.
_VISIBILITY_S: dict[Kind, int] = {
    Kind.POLL: 120,
    Kind.FETCH: 300,
    Kind.TRANSCRIBE: 900,
    Kind.ANALYZE: 300,
    Kind.ECHO: 30,
}


def stage_queues(prefix: str, *, max_receive_count: int = 5, include_echo: bool = True) -> tuple[StageQueue, ...]:
    """Every stage queue of a deployment; `echo` is a development stage that shows the runtime working."""
    kinds = [k for k in Kind if include_echo or k is not Kind.ECHO]
    return tuple(StageQueue(k, prefix, _VISIBILITY_S[k], max_receive_count) for k in kinds)


def stage_queue(prefix: str, kind: Kind, *, max_receive_count: int = 5) -> StageQueue:
    """The queue definition of one stage."""
    return StageQueue(kind, prefix, _VISIBILITY_S[kind], max_receive_count)
