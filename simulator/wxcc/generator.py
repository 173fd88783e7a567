"""Deterministic, seeded generation of calls: agents, queues, directions, durations, abandons, consults, scripts.

The same seed, batch number and window always give the same calls. Each call knows how it looks at any moment
(status, `captureRequested`, whether its recordings are listed yet), so the API views only ask it.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.dialogue import TOPICS, consult_dialogue, main_dialogue
from simulator.wxcc.script import RecordingScript, layout, recording_tag

_FIRST = [
    "Joseph",
    "Maria",
    "Aisha",
    "Daniel",
    "Priya",
    "Lucas",
    "Emma",
    "Kenji",
    "Sofia",
    "Omar",
    "Hannah",
    "Mateo",
    "Grace",
    "Ivan",
    "Chloe",
    "Samuel",
    "Nadia",
    "Leo",
]
_LAST = [
    "Lambert",
    "Garcia",
    "Khan",
    "Okafor",
    "Rossi",
    "Nguyen",
    "Schmidt",
    "Tanaka",
    "Silva",
    "Novak",
    "Brennan",
    "Haddad",
    "Larsen",
    "Moreau",
    "Patel",
]
_QUEUE_NAMES = {
    "billing": "Billing Queue",
    "technical": "Technical Support Queue",
    "orders": "Orders Queue",
    "account": "Account Security Queue",
}
OUTDIAL_QUEUE = "cb_outdial_queue"
CONTACT_NUMBER = "+18005555555"
_REASONS = ("Resolved", "Credit", "Escalated", "Callback", "Information")
MIN_CALL_S = 3.0


@dataclass(frozen=True)
class Party:
    """An agent or a queue: an id and a display name."""

    id: str
    name: str


@dataclass(frozen=True)
class RecordingLeg:
    """One recording of a call (the main leg or a consult leg) with its script."""

    id: str
    call_type: str  # "main" | "consult"
    file_name: str
    start_ms: int
    stop_ms: int
    channel1: str
    channel2: str
    participants: tuple[str, str]
    script: RecordingScript

    @property
    def duration_ms(self) -> int:
        """Length of the recording."""
        return self.stop_ms - self.start_ms


@dataclass(frozen=True)
class Call:
    """A generated telephony task and the truth about it."""

    task_id: str
    direction: str  # "inbound" | "outbound"
    origin: str
    destination: str
    queue: Party
    agent: Party | None
    topic: str
    created_ms: int
    answered_ms: int | None
    ended_ms: int
    wrapup_ms: int
    capture_requested: bool
    capture_known_ms: int
    reason_code: str | None
    recordings: tuple[RecordingLeg, ...]
    capture_flag_set: bool = True  # False: captureRequested stays null for good (recordings are still listed)

    @property
    def abandoned(self) -> bool:
        """Never answered: no owner, no recording."""
        return self.answered_ms is None

    def status_at(self, now_ms: int) -> str:
        """The WXCC task status at `now_ms`."""
        if self.answered_ms is None:
            return "queued" if now_ms < self.ended_ms else "abandoned"
        if now_ms < self.answered_ms:
            return "queued"
        return "assigned" if now_ms < self.ended_ms else "completed"

    def capture_requested_at(self, now_ms: int) -> bool | None:
        """`captureRequested` at `now_ms`: null while the call runs and, for some calls, a while after it ended."""
        if self.abandoned:
            return False if now_ms >= self.ended_ms else None
        if not self.capture_flag_set:
            return None
        return self.capture_requested if now_ms >= self.capture_known_ms else None

    def recording_count_at(self, now_ms: int) -> int:
        """`recordingCount` at `now_ms`: the legs once the capture is known, or once ended when the flag never is."""
        if not self.capture_requested:
            return 0
        known = self.capture_known_ms if self.capture_flag_set else self.ended_ms
        return len(self.recordings) if now_ms >= known else 0

    def last_updated_at(self, now_ms: int) -> int:
        """`lastUpdatedTime` at `now_ms` (after the end it includes wrap-up: it is not the end time)."""
        if now_ms < self.ended_ms:
            answered = self.answered_ms is not None and now_ms >= self.answered_ms
            return self.answered_ms if answered and self.answered_ms is not None else self.created_ms
        done = self.ended_ms + self.wrapup_ms
        return done if now_ms >= done else self.ended_ms

    def recordings_available_from(self, delay_ms: int) -> int | None:
        """When the captures API starts listing the recordings, or None if it never will."""
        if not self.capture_requested or not self.recordings:
            return None
        known = self.capture_known_ms if self.capture_flag_set else self.ended_ms
        return max(self.ended_ms + delay_ms, known)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def roster(seed: int, count: int) -> tuple[list[Party], dict[str, Party], Party]:
    """The agents, the queue of each topic and the outdial queue of a seed."""
    rng = random.Random(f"{seed}:roster")
    names: list[str] = []
    while len(names) < count:
        name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        if name not in names or len(names) >= len(_FIRST) * len(_LAST):
            names.append(name)
    agents = [Party(_uuid(rng), name) for name in names]
    queues = {topic: Party(_uuid(rng), name) for topic, name in _QUEUE_NAMES.items()}
    return agents, queues, Party(_uuid(rng), OUTDIAL_QUEUE)


def generate_calls(
    config: SimulatorConfig, *, batch: int, count: int, start_ms: int, end_ms: int, first_serial: int
) -> list[Call]:
    """`count` calls created in [start_ms, end_ms), sorted by createdTime; recording tags count from `first_serial`."""
    rng = random.Random(f"{config.seed}:batch:{batch}")
    agents, queues, outdial = roster(config.seed, config.agents)
    created = sorted(rng.randrange(start_ms, end_ms) for _ in range(count))
    for i in range(1, count):
        if rng.random() < config.same_created_fraction:
            created[i] = created[i - 1]
    calls: list[Call] = []
    serial = first_serial
    for created_ms in created:
        call = _one_call(config, rng, created_ms, agents, queues, outdial, serial)
        serial += len(call.recordings)
        calls.append(call)
    return calls


def _one_call(
    config: SimulatorConfig,
    rng: random.Random,
    created_ms: int,
    agents: list[Party],
    queues: dict[str, Party],
    outdial: Party,
    serial: int,
) -> Call:
    scale = config.duration_scale
    task_id = _uuid(rng)
    outbound = rng.random() < config.outbound_fraction
    topic = rng.choice(sorted(TOPICS))
    abandoned = not outbound and rng.random() < config.abandoned_fraction
    customer = f"+1{rng.randint(2_012_000_000, 9_899_999_999)}"
    wait_ms = round(rng.uniform(5, 90 if abandoned else 40) * scale * 1000)
    target_s = max(MIN_CALL_S, rng.uniform(config.duration_min_s, config.duration_max_s) * scale)
    consult = rng.random() < config.consult_fraction
    agent, colleague = rng.sample(agents, 2)
    recorded = rng.random() >= config.unrecorded_fraction
    pending = rng.random() < config.capture_pending_fraction
    wrapup_ms = round(rng.uniform(5, 60) * scale * 1000)
    reason = rng.choice(_REASONS)
    main_id, consult_id = _uuid(rng), _uuid(rng)
    origin, destination = (CONTACT_NUMBER, customer) if outbound else (customer, CONTACT_NUMBER)
    queue = outdial if outbound else queues[topic]

    if abandoned:
        ended = created_ms + wait_ms
        return Call(
            task_id=task_id,
            direction="inbound",
            origin=origin,
            destination=destination,
            queue=queue,
            agent=None,
            topic=topic,
            created_ms=created_ms,
            answered_ms=None,
            ended_ms=ended,
            wrapup_ms=wrapup_ms,
            capture_requested=False,
            capture_known_ms=ended,
            reason_code=None,
            recordings=(),
        )

    script_rng = random.Random(f"{config.seed}:script:{task_id}")
    # Its own stream, so that calls without sensitive lines stay exactly as they were.
    sensitive = random.Random(f"{config.seed}:sensitive:{task_id}").random() < config.sensitive_fraction
    lines = main_dialogue(
        script_rng,
        topic=topic,
        outbound=outbound,
        agent=agent.name.split()[0],
        target_s=target_s,
        consult=consult,
        sensitive=sensitive,
    )
    legs: list[RecordingLeg] = []
    answered = created_ms + wait_ms
    consult_script: RecordingScript | None = None
    if any(line.hold_after for line in lines):
        consult_script = layout(
            consult_dialogue(topic),
            speakers=("agent", "colleague"),
            first_index=len(lines),
            tag=recording_tag(serial + 1),
            rng=script_rng,
        )
    hold_s = consult_script.duration_s + 0.6 if consult_script else 0.0
    main_script = layout(
        lines, speakers=("customer", "agent"), first_index=0, tag=recording_tag(serial), rng=script_rng, hold_s=hold_s
    )
    ended = answered + round(main_script.duration_s * 1000)
    legs.append(
        RecordingLeg(
            id=main_id,
            call_type="main",
            file_name="combinedRecordings.wav",
            start_ms=answered,
            stop_ms=ended,
            channel1="Caller",
            channel2="Agent",
            participants=(agent.id, customer),
            script=main_script,
        )
    )
    if consult_script is not None and main_script.hold_start_s is not None:
        start = answered + round((main_script.hold_start_s + 0.3) * 1000)
        stop = start + round(consult_script.duration_s * 1000)
        legs.append(
            RecordingLeg(
                id=consult_id,
                call_type="consult",
                file_name="consult.wav",
                start_ms=start,
                stop_ms=stop,
                channel1="Agent",
                channel2="Agent",
                participants=(agent.id, colleague.id),
                script=consult_script,
            )
        )
    known = ended + (round(config.capture_pending_s * 1000) if pending else 0)
    # A draw of its own (not from `rng`), so that turning the knob leaves every other call of the seed as it was.
    flag_set = not (
        recorded
        and config.null_capture_fraction > 0
        and random.Random(f"{config.seed}:null-capture:{task_id}").random() < config.null_capture_fraction
    )
    return Call(
        task_id=task_id,
        direction="outbound" if outbound else "inbound",
        origin=origin,
        destination=destination,
        queue=queue,
        agent=agent,
        topic=topic,
        created_ms=created_ms,
        answered_ms=answered,
        ended_ms=ended,
        wrapup_ms=wrapup_ms,
        capture_requested=recorded,
        capture_known_ms=known,
        reason_code=reason,
        recordings=tuple(legs),
        capture_flag_set=flag_set,
    )
