"""The console's saved OpenAPI document (its TypeScript types are generated from it) is the one the API serves."""

from __future__ import annotations

import json
from pathlib import Path

from api.app import app_routes
from api.openapi import openapi_document

SAVED = Path(__file__).resolve().parents[2] / "console" / "openapi.json"


def test_the_console_types_come_from_the_document_the_api_serves() -> None:
    served = openapi_document(app_routes())
    assert json.loads(SAVED.read_text()) == served, (
        "console/openapi.json is stale: refresh it from GET /api/v1/openapi.json (json.dumps(indent=1)), "
        "then `cd console && npm run gen:api`"
    )
