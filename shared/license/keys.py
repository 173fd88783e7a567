"""License keys: a signed document (Ed25519) in a compact text form, verified offline against a public key.

Text form: `CPL1.<payload>.<signature>`, both parts base64url without padding. The payload is the license document
as canonical JSON (sorted keys, no spaces); the signature covers the bytes `CPL1.<payload>`, so changing one
character of the payload, the prefix or the signature makes the key invalid. The public key is written
`ed25519:<base64 of its 32 raw bytes>` (or given as PEM); the private key is a PEM file or a Secrets Manager secret.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.license.errors import LicenseError

KEY_PREFIX = "CPL1"
PUBLIC_PREFIX = "ed25519:"
DAY_S = 86_400
MAX_KEY_CHARS = 8_192

Feature = Literal["analysis", "webhooks", "mcp", "console"]
ALL_FEATURES: tuple[Feature, ...] = ("analysis", "webhooks", "mcp", "console")


class LicenseDocument(BaseModel):
    """What a license grants: who, which WXCC orgs, how much per calendar month (UTC), which features, and when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    license_id: str = Field(min_length=1, max_length=64)
    customer: str = Field(min_length=1, max_length=200)
    org_ids: tuple[str, ...] = Field(min_length=1, description="WXCC org ids the key may be activated for.")
    plan: str = Field(min_length=1, max_length=64)
    calls_per_month: int | None = Field(default=None, ge=0, description="Analysed calls per month; None: unlimited.")
    audio_hours_per_month: float | None = Field(default=None, ge=0, description="Billed audio hours; None: unlimited.")
    features: tuple[Feature, ...] = ALL_FEATURES
    not_before: float = Field(description="Epoch seconds from which the key is valid.")
    expires_at: float = Field(description="Epoch seconds after which the key is expired (after its grace days).")
    grace_days: int = Field(default=0, ge=0, le=365)
    issued_at: float = 0.0

    def state_at(self, now: float) -> Literal["not_yet_valid", "active", "grace", "expired"]:
        """Where the license is in its validity at `now` (grace: past expiry, within its grace days)."""
        if now < self.not_before:
            return "not_yet_valid"
        if now < self.expires_at:
            return "active"
        if now < self.expires_at + self.grace_days * DAY_S:
            return "grace"
        return "expired"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _canonical(doc: LicenseDocument) -> bytes:
    return json.dumps(doc.model_dump(mode="json"), sort_keys=True, separators=(",", ":")).encode()


def generate_private_key() -> Ed25519PrivateKey:
    """A new vendor signing key."""
    return Ed25519PrivateKey.generate()


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    """The private key as unencrypted PKCS#8 PEM (store it as a file readable by its owner only, or a secret)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_private_key(pem: bytes | str) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM; `ValueError` (never the key's bytes) if it is not one."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise ValueError("the private key is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the private key is not an Ed25519 key")
    return key


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The compact text form of a public key: `ed25519:<base64 of 32 bytes>` (the product's configured key)."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return PUBLIC_PREFIX + base64.b64encode(raw).decode("ascii")


def load_public_key(text: str) -> Ed25519PublicKey:
    """A public key from `ed25519:<base64>` or PEM; `ValueError` saying what it must look like."""
    value = text.strip()
    if value.startswith(PUBLIC_PREFIX):
        try:
            return Ed25519PublicKey.from_public_bytes(base64.b64decode(value[len(PUBLIC_PREFIX) :], validate=True))
        except (ValueError, binascii.Error):
            raise ValueError("is not `ed25519:` followed by the base64 of 32 bytes") from None
    try:
        key = serialization.load_pem_public_key(value.encode())
    except ValueError:
        raise ValueError("is neither `ed25519:<base64>` nor a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("is not an Ed25519 public key")
    return key


def new_license_id() -> str:
    return f"lic_{uuid.uuid4().hex[:16]}"


def sign(doc: LicenseDocument, private_key: Ed25519PrivateKey) -> str:
    """The key text of a license document."""
    signed = f"{KEY_PREFIX}.{_b64(_canonical(doc))}"
    return f"{signed}.{_b64(private_key.sign(signed.encode()))}"


def decode(text: str, public_key: Ed25519PublicKey) -> LicenseDocument:
    """The document of a key whose signature is valid, whatever its dates and orgs; `LicenseError(license_invalid)`
    for anything else (garbage, truncated, tampered, signed by another key)."""
    value = "".join(text.split())  # copy-paste may wrap a key over lines
    if len(value) > MAX_KEY_CHARS:
        raise LicenseError("license_invalid", "the license key is too long to be a callpipe key")
    parts = value.split(".")
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        raise LicenseError("license_invalid", f"not a callpipe license key (expected {KEY_PREFIX}.<payload>.<sig>)")
    try:
        signature = _unb64(parts[2])
        payload = _unb64(parts[1])
    except (ValueError, binascii.Error):
        raise LicenseError("license_invalid", "the license key is damaged (bad base64): copy it again") from None
    try:
        public_key.verify(signature, f"{parts[0]}.{parts[1]}".encode())
    except InvalidSignature:
        raise LicenseError(
            "license_invalid", "the license key's signature does not verify (tampered, truncated or not ours)"
        ) from None
    try:
        return LicenseDocument.model_validate_json(payload)
    except ValidationError:
        raise LicenseError("license_invalid", "the license key's content is not a license this version reads") from None


def verify(text: str, public_key: Ed25519PublicKey, org_id: str, *, now: float | None = None) -> LicenseDocument:
    """The document of a key that is valid for `org_id` now; `LicenseError` with the reason otherwise."""
    doc = decode(text, public_key)
    if org_id not in doc.org_ids:
        raise LicenseError("license_wrong_org", f"license {doc.license_id} is not issued for org {org_id}")
    state = doc.state_at(time.time() if now is None else now)
    if state == "not_yet_valid":
        raise LicenseError("license_not_yet_valid", f"license {doc.license_id} is not valid before its start date")
    if state == "expired":
        raise LicenseError("license_expired", f"license {doc.license_id} has expired (grace days included)")
    return doc
