"""License tests: a vendor signing key made per session and a helper that issues keys with it."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.license.keys import LicenseDocument, generate_private_key, new_license_id, public_key_text, sign

DAY = 86_400.0


@pytest.fixture(scope="session")
def vendor_key() -> Ed25519PrivateKey:
    return generate_private_key()


@pytest.fixture(scope="session")
def public_key(vendor_key: Ed25519PrivateKey) -> str:
    return public_key_text(vendor_key)


def issue(
    key: Ed25519PrivateKey,
    org_ids: Sequence[str],
    *,
    calls: int | None = 100,
    not_before: float | None = None,
    expires_at: float | None = None,
    grace_days: int = 0,
    plan: str = "business",
) -> str:
    """A signed key text (valid from yesterday for a year unless told otherwise)."""
    now = time.time()
    doc = LicenseDocument(
        license_id=new_license_id(),
        customer="Acme Corp",
        org_ids=tuple(org_ids),
        plan=plan,
        calls_per_month=calls,
        not_before=now - DAY if not_before is None else not_before,
        expires_at=now + 365 * DAY if expires_at is None else expires_at,
        grace_days=grace_days,
        issued_at=now,
    )
    return sign(doc, key)
