"""The simulator's small parts: fault rules, token rotation, URL signatures, GraphQL parsing, the rate limiter."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from simulator.wxcc.faults import FaultEngine, FaultRule
from simulator.wxcc.graphql import GraphQLError, parse_task_details, project
from simulator.wxcc.ratelimit import RateLimiter
from simulator.wxcc.signing import UrlSigner, Verdict
from simulator.wxcc.tokens import TokenError, TokenStore


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000_000

    def __call__(self) -> int:
        return self.now


def test_count_rules_fire_on_the_next_n_matching_requests_only() -> None:
    engine = FaultEngine([FaultRule(kind="rate_limit", endpoints=("tasks",), count=2)], seed=1)
    assert engine.take("rate_limit", "search") is None
    assert engine.take("server_error", "tasks") is None
    fired = [engine.take("rate_limit", "tasks") is not None for _ in range(4)]
    assert fired == [True, True, False, False]
    assert engine.injected == {"rate_limit": 2}
    assert engine.describe()[0]["remaining"] == 0


def test_probabilistic_rules_are_deterministic_per_seed_and_endpoint() -> None:
    def pattern(seed: int, interleave: bool) -> list[bool]:
        engine = FaultEngine([FaultRule(kind="server_error", probability=0.5)], seed=seed)
        out = []
        for _ in range(64):
            if interleave:
                engine.take("server_error", "search")  # other endpoints do not shift the tasks sequence
            out.append(engine.take("server_error", "tasks") is not None)
        return out

    assert pattern(5, False) == pattern(5, True)
    assert pattern(5, False) != pattern(6, False)
    assert 16 < sum(pattern(5, False)) < 48


def test_a_rule_needs_a_count_or_a_probability_and_accepts_camel_case() -> None:
    with pytest.raises(ValidationError):
        FaultRule(kind="slow")
    rule = FaultRule.model_validate({"kind": "rate_limit", "count": 1, "retryAfterS": 7})
    assert rule.retry_after_s == 7


def _store(clock: FakeClock, overlap_s: float = 0) -> TokenStore:
    store = TokenStore(clock, org_id="org", access_ttl_s=60, refresh_ttl_s=3600, overlap_s=overlap_s)
    store.add_refresh_token("r0", "client")
    return store


def test_refresh_rotates_and_the_old_refresh_token_stops_working() -> None:
    clock = FakeClock()
    store = _store(clock)
    first = store.refresh_grant("client", "r0")
    assert first["refresh_token"] != "r0" and first["expires_in"] == 60
    clock.now += 1
    with pytest.raises(TokenError, match="already used"):
        store.refresh_grant("client", "r0")
    second = store.refresh_grant("client", first["refresh_token"])
    assert store.client_of(second["access_token"]) == "client"
    assert store.issued == {"refresh_token": 2}


def test_a_rotated_refresh_token_works_during_the_overlap() -> None:
    clock = FakeClock()
    store = _store(clock, overlap_s=5)
    store.refresh_grant("client", "r0")
    clock.now += 5_000
    store.refresh_grant("client", "r0")
    clock.now += 1
    with pytest.raises(TokenError):
        store.refresh_grant("client", "r0")


def test_access_tokens_expire_and_can_be_expired_at_once() -> None:
    clock = FakeClock()
    store = _store(clock)
    token = store.service_app_grant("client")["access_token"]
    assert store.client_of(token) == "client"
    clock.now += 60_000
    assert store.client_of(token) is None
    token = store.service_app_grant("client")["access_token"]
    assert store.expire_access_tokens() == 2
    assert store.client_of(token) is None
    with pytest.raises(TokenError):
        store.refresh_grant("other-client", "r0")


def test_signed_urls_expire_and_detect_tampering() -> None:
    signer = UrlSigner(b"k")
    query = signer.sign("/recordings/a.wav", issued_s=1000, expires_in_s=60)
    assert signer.verify("/recordings/a.wav", query, now_s=1060) is Verdict.OK
    assert signer.verify("/recordings/a.wav", query, now_s=1061) is Verdict.EXPIRED
    assert signer.verify("/recordings/b.wav", query, now_s=1000) is Verdict.BAD_SIGNATURE
    assert signer.verify("/recordings/a.wav", {**query, "X-Amz-Expires": "6000"}, now_s=1000) is Verdict.BAD_SIGNATURE
    assert UrlSigner(b"other").verify("/recordings/a.wav", query, now_s=1000) is Verdict.BAD_SIGNATURE


QUERY = (
    "query($from: Long!, $to: Long!, $cursor: String) { taskDetails(from: $from, to: $to, timeComparator: endedTime, "
    "filter: {and: [{channelType: {equals: telephony}}, {isActive: {equals: false}}]}, pagination: {cursor: $cursor}) "
    "{ tasks { id endedTime owner { name } } pageInfo { hasNextPage endCursor } } }"
)


def test_graphql_arguments_and_selection_are_read() -> None:
    query = parse_task_details(QUERY, {"from": 1, "to": 2, "cursor": "NA"})
    assert (query.start_ms, query.end_ms, query.cursor) == (1, 2, None)
    assert (query.comparator, query.is_active) == ("endedTime", False)
    assert query.selection == {"id": None, "endedTime": None, "owner": {"name": None}}
    task = {"id": "t", "endedTime": 5, "status": "ended", "owner": {"id": "a", "name": "Ann"}}
    assert project(task, query.selection) == {"id": "t", "endedTime": 5, "owner": {"name": "Ann"}}
    assert project({**task, "owner": None}, query.selection)["owner"] is None


def test_graphql_rejects_what_it_cannot_answer() -> None:
    with pytest.raises(GraphQLError, match="Long"):
        parse_task_details(QUERY, {"from": "1", "to": 2})
    with pytest.raises(GraphQLError, match="undefined"):
        project({"id": "t"}, {"nope": None})
    with pytest.raises(GraphQLError):
        parse_task_details("{ agents { id } }", {})


def test_rate_limiter_allows_n_per_rolling_minute_per_client() -> None:
    clock = FakeClock()
    limiter = RateLimiter(3, clock)
    assert [limiter.check("a") for _ in range(3)] == [None, None, None]
    assert limiter.check("b") is None
    clock.now += 20_000
    assert limiter.check("a") == 40
    clock.now += 40_000
    assert limiter.check("a") is None
    assert RateLimiter(None, clock).check("a") is None
