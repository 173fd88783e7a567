"""Token lifetimes, re-seeding a refresh-token chain, and what a misconfiguration says — against the simulator."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr
from types_aiobotocore_dynamodb import DynamoDBClient

from shared.config import Settings
from shared.resources import DataResources
from shared.wxcc.errors import WxccAuthError, WxccPermanent
from shared.wxcc.tokens import StoredToken, reset_token, token_key
from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.server import SimulatorHandle, running_simulator
from tests.integration.wxcc.conftest import wxcc_settings
from tests.integration.wxcc.test_client import client_for


async def expire(sim: SimulatorHandle, *, refresh_tokens: bool = False) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(sim.url("/api/v1/simulator/tokens/expire"), json={"refreshTokens": refresh_tokens})
        response.raise_for_status()


def test_the_refresh_margin_is_at_most_a_quarter_of_the_token_lifetime() -> None:
    short = StoredToken("a", expires_at=1030.0, refresh_token=None, version=1, lease_owner=None, lease_until=0,
                        lifetime_s=30)  # fmt: skip
    long = StoredToken("a", expires_at=44199.0, refresh_token=None, version=1, lease_owner=None, lease_until=0,
                       lifetime_s=43199)  # fmt: skip
    unknown = StoredToken("a", expires_at=1030.0, refresh_token=None, version=1, lease_owner=None, lease_until=0)
    assert short.refresh_at(300) == 1022.5
    assert long.refresh_at(300) == 43899.0
    assert unknown.refresh_at(300) == 730.0  # an item written before lifetimes were stored: the configured margin


@pytest.mark.parametrize("mode", ["refresh_token", "service_app"])
async def test_thirty_second_tokens_are_not_refreshed_on_every_request(
    settings: Settings, ddb: DynamoDBClient, mode: str
) -> None:
    """With the default 300 s margin a 30 s token was always "about to expire": 46 tokens for 60 requests."""
    async with running_simulator(SimulatorConfig(calls=5, seed=3, access_token_ttl_s=30)) as sim:
        s = wxcc_settings(settings, sim, wxcc_auth_mode=mode, wxcc_rate_per_minute=100_000)
        assert s.wxcc_token_refresh_margin_s == 300
        async with client_for(s, ddb) as client:
            for i in range(60):
                await client.captures([f"t{i}"])
        served = sim.state.stats.requests["captures"]
        issued = sum(sim.state.tokens.issued.values())
    assert served == 60
    assert issued <= served / 10, f"{issued} tokens for {served} requests"


async def test_a_new_configured_refresh_token_starts_a_new_chain_by_itself(
    settings: Settings, ddb: DynamoDBClient, sim: SimulatorHandle
) -> None:
    s = wxcc_settings(settings, sim, wxcc_auth_mode="refresh_token")
    async with client_for(s, ddb) as client:
        await client.captures(["warm-up"])
    # The chain dies (revoked, or a rotated token lost), and the operator authorizes again: a new refresh token.
    await expire(sim, refresh_tokens=True)
    sim.state.tokens.add_refresh_token("operator-new-token", sim.config.client_id)
    renewed = s.model_copy(update={"wxcc_refresh_token": SecretStr("operator-new-token")})
    async with client_for(renewed, ddb) as client:
        captures = await client.captures(["t1"])
    assert set(captures) == {"t1"}
    assert sim.state.tokens.issued["refresh_token"] == 2
    # The new chain goes on from its rotated token (the seed itself is not used twice).
    await expire(sim)
    async with client_for(renewed, ddb) as client:
        await client.captures(["t2"])
    assert sim.state.tokens.issued["refresh_token"] == 3


async def test_a_dead_stored_chain_says_how_to_reset_it_and_reset_token_does(
    settings: Settings, ddb: DynamoDBClient, sim: SimulatorHandle
) -> None:
    s = wxcc_settings(settings, sim, wxcc_auth_mode="refresh_token")
    table = DataResources(s.name_prefix).coordination_table.name
    async with client_for(s, ddb) as client:
        await client.captures(["warm-up"])
        await expire(sim, refresh_tokens=True)
        # The configured token is valid again (say, re-issued with the same value), but the store holds a dead one.
        sim.state.tokens.add_refresh_token(sim.config.refresh_token, sim.config.client_id)
        with pytest.raises(WxccAuthError, match=r"stored refresh token was refused: run `callpipe wxcc reset-token`"):
            await client.captures(["t1"])
        assert await reset_token(ddb, table, s) is True
        assert "Item" not in await ddb.get_item(TableName=table, Key=token_key(s))
        captures = await client.captures(["t1"])
    assert set(captures) == {"t1"}
    assert await reset_token(ddb, table, s) is True
    assert await reset_token(ddb, table, s) is False


async def test_a_stored_chain_of_unknown_origin_falls_back_to_the_configured_token_once(
    settings: Settings, ddb: DynamoDBClient, sim: SimulatorHandle
) -> None:
    """An item written before seeds were remembered: its dead refresh token is tried, then the configured one."""
    s = wxcc_settings(settings, sim, wxcc_auth_mode="refresh_token")
    table = DataResources(s.name_prefix).coordination_table.name
    async with client_for(s, ddb) as client:
        await client.captures(["warm-up"])
        await ddb.update_item(TableName=table, Key=token_key(s), UpdateExpression="REMOVE seed_sha256")
        await expire(sim, refresh_tokens=True)
        sim.state.tokens.add_refresh_token(sim.config.refresh_token, sim.config.client_id)
        await client.captures(["t1"])
    item = (await ddb.get_item(TableName=table, Key=token_key(s)))["Item"]
    assert "seed_sha256" in item, "the chain now knows its seed"
    assert sim.state.tokens.issued["refresh_token"] == 2


async def test_service_app_mode_without_an_application_id_names_the_setting(
    settings: Settings, ddb: DynamoDBClient, sim: SimulatorHandle
) -> None:
    s = wxcc_settings(settings, sim, wxcc_auth_mode="service_app", wxcc_application_id="")
    async with client_for(s, ddb) as client:
        with pytest.raises(WxccAuthError, match="CALLPIPE_WXCC_APPLICATION_ID is not set"):
            await client.captures(["t1"])
    assert sum(sim.state.stats.requests.values()) == 0, "a request was sent that could only fail"

    wrong = wxcc_settings(settings, sim, wxcc_auth_mode="service_app", wxcc_application_id="no-such-app")
    async with client_for(wrong, ddb) as client:
        with pytest.raises(WxccAuthError, match=r"\(404\): Application not found\. — no service app 'no-such-app'"):
            await client.captures(["t1"])


async def test_a_wrong_org_says_so_once_and_names_the_setting(
    settings: Settings, ddb: DynamoDBClient, sim: SimulatorHandle
) -> None:
    s = wxcc_settings(settings, sim, wxcc_auth_mode="refresh_token", wxcc_org_id="some-other-org")
    async with client_for(s, ddb) as client:
        with pytest.raises(WxccPermanent) as caught:
            await client.captures(["t1"])
    message = str(caught.value)
    assert message.startswith("POST /v1/captures/query → 403: Not authorized for this orgId.")
    assert "403: 403" not in message
    assert "CALLPIPE_WXCC_ORG_ID (some-other-org)" in message
