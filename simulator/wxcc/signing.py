"""Presigned recording URLs: S3-style query parameters carrying a date, a lifetime and an HMAC over path and both."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum

_DATE_FORMAT = "%Y%m%dT%H%M%SZ"


class Verdict(Enum):
    """What checking a signed URL found."""

    OK = "ok"
    EXPIRED = "expired"
    BAD_SIGNATURE = "bad_signature"


class UrlSigner:
    """Signs a path for a number of seconds, and checks such a signature against a moment."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, path: str, date: str, expires: str) -> str:
        return hmac.new(self._secret, f"{path}\n{date}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def sign(self, path: str, *, issued_s: int, expires_in_s: int) -> dict[str, str]:
        """The query parameters that make `path` valid from `issued_s` (epoch seconds) for `expires_in_s` seconds."""
        date = datetime.fromtimestamp(issued_s, UTC).strftime(_DATE_FORMAT)
        expires = str(expires_in_s)
        return {"X-Amz-Date": date, "X-Amz-Expires": expires, "X-Amz-Signature": self._mac(path, date, expires)}

    def verify(self, path: str, query: Mapping[str, str], *, now_s: float) -> Verdict:
        """Whether `query` signs `path` and is still valid at `now_s`."""
        date, expires, signature = (query.get(k, "") for k in ("X-Amz-Date", "X-Amz-Expires", "X-Amz-Signature"))
        if not hmac.compare_digest(self._mac(path, date, expires), signature):
            return Verdict.BAD_SIGNATURE
        try:
            issued = datetime.strptime(date, _DATE_FORMAT).replace(tzinfo=UTC).timestamp()
            lifetime = int(expires)
        except ValueError:
            return Verdict.BAD_SIGNATURE
        return Verdict.OK if now_s <= issued + lifetime else Verdict.EXPIRED
