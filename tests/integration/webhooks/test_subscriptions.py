"""`callpipe webhooks register|list|delete` against the simulator's Subscriptions API and the emulator's Secrets
Manager: the secret is stored (a rotation keeps the old one as `previous`), signs the deliveries, and is never shown."""

from __future__ import annotations

import argparse
import json
import logging

import pytest

from cli.webhooks import run
from queues.bootstrap import Bootstrapper
from shared.aws import AwsClients
from shared.config import Settings
from shared.resources import DataResources
from shared.webhooks.secrets import SecretSource, secret_name, secretsmanager
from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.server import running_simulator
from tests.integration.wxcc.conftest import wxcc_settings

URL = "https://callpipe.example.com/api/v1/webhooks/wxcc"


@pytest.fixture
async def coordination(settings: Settings, clients: AwsClients) -> None:
    """This test's coordination table (the WXCC token store and request budget live there)."""
    async with clients.dynamodb() as ddb, clients.sqs() as sqs, clients.s3() as s3:
        boot = Bootstrapper(sqs, ddb, s3, region=settings.aws_region, verify=False)
        await boot.table(DataResources(settings.name_prefix).coordination_table)


def _args(command: str, **extra: object) -> argparse.Namespace:
    return argparse.Namespace(webhooks_command=command, **extra)


async def _stored(settings: Settings) -> dict[str, str]:
    async with secretsmanager(settings) as client:
        return dict(json.loads((await client.get_secret_value(SecretId=secret_name(settings)))["SecretString"]))


async def test_register_list_delete_keep_the_secret_in_secrets_manager_and_out_of_every_output(
    settings: Settings, coordination: None, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # what any configured level shows (libraries: WARNING)
    async with running_simulator(SimulatorConfig(calls=0)) as sim:
        s = wxcc_settings(settings, sim)
        register = _args("register", url=URL, name="callpipe capture:available", allow_http=False)
        assert await run(register, s) == 0
        first = await _stored(s)
        [sub] = sim.state.subscriptions.values()
        assert sub.secret == first["current"] and len(sub.secret) >= 32
        assert sub.event_types == ["capture:available"] and sub.resource_version == "capture:1.0.0"
        assert await SecretSource(s).current() == [first["current"]]

        assert await run(register, s) == 0  # a second registration rotates the secret
        second = await _stored(s)
        assert second["previous"] == first["current"] and second["current"] != first["current"]
        assert await SecretSource(s).current() == [second["current"], first["current"]]

        assert await run(_args("list"), s) == 0
        listed = capsys.readouterr().out
        assert all(sub_id in listed for sub_id in sim.state.subscriptions)
        for sub_id in list(sim.state.subscriptions):
            assert await run(_args("delete", subscription_id=sub_id), s) == 0
        assert sim.state.subscriptions == {}

        bad = _args("register", url="http://insecure.example.com/x", name="callpipe", allow_http=False)
        assert await run(bad, s) == 2
        out = capsys.readouterr()
        assert "https" in out.err

    shown = out.out + out.err + listed + caplog.text
    for value in (first["current"], second["current"]):
        assert value not in shown
