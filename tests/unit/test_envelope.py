"""The envelope: round trip, routing attributes, and every way a body can be poison."""

import json

import pytest

from queues.envelope import Envelope, Kind
from shared.errors import PoisonMessage


def test_round_trips_through_its_body() -> None:
    env = Envelope(kind=Kind.FETCH, journey_id="j1", task_id="t1", payload={"org": "o"})
    assert Envelope.from_body(env.to_body()) == env
    attrs = env.message_attributes()
    assert attrs["kind"]["StringValue"] == "fetch"
    assert attrs["journey_id"]["StringValue"] == "j1"
    assert attrs["schema_version"]["StringValue"] == "1"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "JSON list, not an object"),
        (json.dumps({"schema_version": 2, "kind": "fetch", "journey_id": "j"}), "unknown schema_version 2"),
        (json.dumps({"kind": "fetch", "journey_id": "j"}), "unknown schema_version None"),
        (json.dumps({"schema_version": 1, "kind": "teleport", "journey_id": "j"}), "kind"),
        (json.dumps({"schema_version": 1, "kind": "fetch", "journey_id": "j", "extra": 1}), "extra"),
        (json.dumps({"schema_version": 1, "kind": "fetch", "journey_id": ""}), "journey_id"),
    ],
)
def test_unreadable_bodies_are_poison_with_the_reason(body: str, reason: str) -> None:
    with pytest.raises(PoisonMessage, match=reason):
        Envelope.from_body(body)
