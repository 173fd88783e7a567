"""The vendor's side of licensing: load the signing key from a file or Secrets Manager, issue signed keys.

The private key is never logged, printed or put in an exception message: only where it came from is.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.aws import AwsClients
from shared.config import Settings
from shared.license.keys import (
    DAY_S,
    Feature,
    LicenseDocument,
    generate_private_key,
    load_private_key,
    new_license_id,
    private_key_pem,
    public_key_text,
    sign,
)


def write_new_key(path: Path) -> str:
    """Generate a signing key, write it as PEM readable by its owner only (refusing to overwrite a file), and
    return the public key text the product is configured with."""
    key = generate_private_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(private_key_pem(key))
    return public_key_text(key)


def key_from_file(path: Path) -> Ed25519PrivateKey:
    """The signing key stored in a PEM file; `ValueError` naming the file (never its content) otherwise."""
    try:
        return load_private_key(path.read_bytes())
    except OSError as exc:
        raise ValueError(f"cannot read the private key file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


async def key_from_secret(settings: Settings, name: str) -> Ed25519PrivateKey:
    """The signing key held (as PEM text) in a Secrets Manager secret."""
    async with AwsClients(settings).secretsmanager() as client:
        value = (await client.get_secret_value(SecretId=name))["SecretString"]
    try:
        return load_private_key(value)
    except ValueError as exc:
        raise ValueError(f"secret {name}: {exc}") from None


def issue_key(
    private_key: Ed25519PrivateKey,
    *,
    customer: str,
    org_ids: Sequence[str],
    plan: str,
    calls_per_month: int | None,
    audio_hours_per_month: float | None,
    features: Sequence[Feature],
    days: float,
    grace_days: int = 0,
    not_before: float | None = None,
) -> tuple[LicenseDocument, str]:
    """A new license document valid for `days` from `not_before` (now), and its signed key text."""
    now = time.time()
    start = now if not_before is None else not_before
    doc = LicenseDocument(
        license_id=new_license_id(),
        customer=customer,
        org_ids=tuple(org_ids),
        plan=plan,
        calls_per_month=calls_per_month,
        audio_hours_per_month=audio_hours_per_month,
        features=tuple(features),
        not_before=start,
        expires_at=start + days * DAY_S,
        grace_days=grace_days,
        issued_at=now,
    )
    return doc, sign(doc, private_key)
