"""The real `callpipe license …` entry point: the vendor makes a key pair and issues a key; the operator activates
it (recorded in the audit trail), reads status and usage; a refused key is one line with its code."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from queues.bootstrap import bootstrap
from shared.audit import AuditLog
from shared.aws import AwsClients
from shared.config import Settings
from tests.helpers import settings_env
from tests.integration.test_config_errors import callpipe

ORG = "org-cli"


async def test_keygen_issue_activate_status_usage(settings: Settings, tmp_path: Path) -> None:
    await bootstrap(settings, include_echo=False)
    private = tmp_path / "vendor.pem"
    code, err, out = await callpipe("license", "keygen", "--out", str(private), env=settings_env(settings))
    assert (code, err) == (0, []), err
    public = next(line for line in out.splitlines() if line.startswith("CALLPIPE_LICENSE_PUBLIC_KEY="))
    assert private.stat().st_mode & 0o077 == 0, "the private key must be readable by its owner only"
    pem = private.read_text()
    assert "PRIVATE KEY" in pem and pem.strip() not in out

    code, err, _ = await callpipe("license", "keygen", "--out", str(private), env=settings_env(settings))
    assert code == 2 and "refusing to overwrite" in err[0]

    env = {
        **settings_env(settings),
        "CALLPIPE_WXCC_ORG_ID": ORG,
        "CALLPIPE_LICENSE_PUBLIC_KEY": public.split("=", 1)[1],
        "CALLPIPE_LOG_LEVEL": "WARNING",
    }
    issue = ("license", "issue", "--private-key-file", str(private), "--customer", "Acme", "--calls-per-month", "40")
    code, err, key = await callpipe(*issue, "--org", ORG, env=env)
    assert (code, err) == (0, []), err
    assert key.strip().startswith("CPL1.") and pem.strip() not in key

    code, err, _ = await callpipe("license", "activate", "--key", key.strip()[:-5], env=env)
    assert code == 1 and err[0].startswith("callpipe license: license_invalid:"), err

    key_file = tmp_path / "license.key"
    key_file.write_text(key)
    code, err, out = await callpipe("license", "activate", "--key-file", str(key_file), "--json", env=env)
    assert (code, err) == (0, []), err
    activated = json.loads(out)
    assert activated["state"] == "active" and activated["calls_per_month"] == 40 and activated["customer"] == "Acme"

    code, err, out = await callpipe("license", "status", env=env)
    assert code == 0 and "40" in out and activated["license_id"] in out
    code, err, out = await callpipe("license", "usage", "--months", "2", "--json", env=env)
    assert code == 0 and [m["analysed_calls"] for m in json.loads(out)] == [0, 0]

    async with AwsClients(settings).s3() as s3:
        now = datetime.now(UTC)
        log = AuditLog.for_prefix(s3, settings.name_prefix)
        events = await log.read(now - timedelta(hours=1), now + timedelta(minutes=1), action="license.activate")
    assert [(e.outcome.value, e.detail) for e in events] == [("denied", "license_invalid"), ("ok", None)]
    assert events[1].targets == {"org_id": ORG, "license_id": activated["license_id"]}
