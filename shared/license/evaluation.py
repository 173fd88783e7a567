"""The evaluation license built into the product: used for an org that has activated no key."""

from __future__ import annotations

from shared.license.keys import ALL_FEATURES, LicenseDocument

EVALUATION_CALLS_PER_MONTH = 500
EVALUATION_ID = "evaluation"


def evaluation_license(org_id: str, calls_per_month: int = EVALUATION_CALLS_PER_MONTH) -> LicenseDocument:
    """500 analysed calls per calendar month (UTC), every feature, no audio-hours limit, no expiry."""
    return LicenseDocument(
        license_id=EVALUATION_ID,
        customer="evaluation",
        org_ids=(org_id,),
        plan="evaluation",
        calls_per_month=calls_per_month,
        audio_hours_per_month=None,
        features=ALL_FEATURES,
        not_before=0,
        expires_at=4_102_444_800,  # 2100-01-01
    )
