"""License errors: one domain exception with a stable `code` every front door maps to its own answer."""

from __future__ import annotations

from typing import Literal

LicenseCode = Literal[
    "license_invalid",
    "license_expired",
    "license_wrong_org",
    "license_not_yet_valid",
    "license_not_configured",
]


class LicenseError(Exception):
    """A key or license that cannot be used; `code` says why (`license_invalid`, `license_expired`, …)."""

    def __init__(self, code: LicenseCode, message: str) -> None:
        super().__init__(message)
        self.code: LicenseCode = code
        self.message = message
