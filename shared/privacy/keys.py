"""The customer-number HMAC: a keyed hash stored (and indexed) in place of the number, its key from Secrets Manager.

The key is `CALLPIPE_PRIVACY_HMAC_SECRET` when set (local runs), else the Secrets Manager secret
`CALLPIPE_PRIVACY_HMAC_SECRET_NAME` (default `{name_prefix}/privacy-hmac`). Against a local endpoint (moto,
LocalStack) a missing secret falls back to a fixed development key; against AWS it is an error, because hashes made
with a guessable key can be reversed by trying every number.
"""

from __future__ import annotations

import hashlib
import hmac

import phonenumbers

from shared.aws import AwsClients
from shared.config import Settings
from shared.logging import get_logger

log = get_logger(__name__)

DEV_KEY = b"callpipe-dev-privacy-hmac-key"
DEFAULT_REGION = "US"


def secret_name(settings: Settings) -> str:
    return settings.privacy_hmac_secret_name or f"{settings.name_prefix}/privacy-hmac"


def normalise_number(number: str) -> str:
    """A phone number in E.164 when it parses (so "+44 20 7946 0958" and "+442079460958" hash alike), else its digits
    with a leading + kept."""
    text = number.strip()
    try:
        parsed = phonenumbers.parse(text, DEFAULT_REGION)
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        pass
    digits = "".join(c for c in text if c.isdigit())
    return ("+" if text.startswith("+") else "") + digits


def customer_hash(key: bytes, number: str) -> str:
    """The keyed hash of a customer number, as stored in `customer_hash`."""
    return hmac.new(key, normalise_number(number).encode(), hashlib.sha256).hexdigest()


async def load_key(settings: Settings) -> bytes:
    """The HMAC key (see the module docstring)."""
    if settings.privacy_hmac_secret is not None and settings.privacy_hmac_secret.get_secret_value():
        return settings.privacy_hmac_secret.get_secret_value().encode()
    name = secret_name(settings)
    async with AwsClients(settings).secretsmanager() as sm:
        try:
            value = (await sm.get_secret_value(SecretId=name))["SecretString"]
            return str(value).encode()
        except Exception as exc:
            if settings.aws_endpoint_url is None:
                raise RuntimeError(f"the privacy HMAC key {name} cannot be read: {type(exc).__name__}") from exc
            # Expected on a local stack (demo, tests): the development key, said once per process at info level.
            log.info("privacy_hmac_dev_key", name=name, reason=type(exc).__name__)
            return DEV_KEY


_CACHE: dict[str, bytes] = {}


async def cached_key(settings: Settings) -> bytes:
    """`load_key`, read once per process and secret name."""
    name = secret_name(settings) + ("#direct" if settings.privacy_hmac_secret is not None else "")
    if name not in _CACHE:
        _CACHE[name] = await load_key(settings)
    return _CACHE[name]


def customer_numbers(participants: list[str]) -> list[str]:
    """The participants of a recording that are phone numbers (the others are agent ids)."""
    return [p for p in participants if len([c for c in p if c.isdigit()]) >= 7 and not any(c.isalpha() for c in p)]
