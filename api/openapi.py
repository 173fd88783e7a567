"""The OpenAPI 3.1 document, generated from the route table and the pydantic models (never written by hand)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from api.errors import ErrorBody
from api.routing import Route, Scope

REF = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"\{([^}/]+)\}")
SECURITY_SCHEMES = {
    "bearerKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "`Authorization: Bearer <API key>`, or an OIDC access/ID token (a JWT) when OIDC is on. A key "
        "holds one scope: read ⊂ operate ⊂ admin; each operation's `x-required-scope` names the one it needs.",
    },
    "headerKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}
SCOPE_TEXT = {
    Scope.READ: "journeys, calls, transcripts, analytics, reports",
    Scope.OPERATE: "start/cancel journeys, DLQ replay, simulator controls in dev (and everything `read` allows)",
    Scope.ADMIN: "license activation, erasure, resume held calls, the audit trail (and everything `operate` allows)",
}
_STATUS_TEXT = {
    200: "OK",
    202: "Accepted",
    400: "Malformed request (not JSON, or a request line or header the HTTP parser refuses)",
    401: "Missing, invalid or expired API key (or token)",
    403: "The key holds no scope including the one this operation needs (`details.required_scope`)",
    404: "Not found",
    409: "Conflict",
    413: "Request body too large",
    422: "Validation failed",
    429: "Too many requests: retry after `Retry-After` seconds",
    501: "Not implemented",
    503: "Not ready",
}


Keyed = dict[Any, dict[str, Any]]  # (model, mode) → {"$ref": …}


def _schemas(routes: Sequence[Route]) -> tuple[Keyed, dict[str, Any]]:
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {(ErrorBody, "serialization"): None}
    for route in routes:
        for model in (route.body, route.query):
            if model is not None:
                wanted[(model, "validation")] = None
        for response in route.responses.values():
            if response is not None:
                wanted[(response, "serialization")] = None
    keyed, top = models_json_schema(list(wanted), ref_template=REF)
    return dict(keyed), top.get("$defs", {})


def _ref_name(ref: dict[str, Any]) -> str:
    return str(ref["$ref"]).rsplit("/", 1)[-1]


def _operation(route: Route, keyed: Keyed, defs: dict[str, Any]) -> Any:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAM.findall(route.path)
    ]
    if route.query is not None:
        schema = defs[_ref_name(keyed[(route.query, "validation")])]
        required = set(schema.get("required", []))
        params += [
            {"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema.get("properties", {}).items()
        ]
    params += [
        {"name": name, "in": "header", "required": False, "description": doc, "schema": {"type": "string"}}
        for name, doc in route.headers.items()
    ]
    responses: dict[str, Any] = {}
    statuses = dict(route.responses)
    statuses.setdefault(400, ErrorBody)  # any request: the HTTP parser refuses lines and headers over its limits
    if not route.public:
        statuses.setdefault(401, ErrorBody)
        statuses.setdefault(403, ErrorBody)
    scope = None if route.public else route.scope or Scope.ADMIN  # undeclared: admin, as the middleware enforces
    if route.body is not None:
        statuses.setdefault(413, ErrorBody)
    for status, model in sorted(statuses.items()):
        entry: dict[str, Any] = {"description": route.notes.get(status) or _STATUS_TEXT.get(status, "Response")}
        if status in route.response_headers:
            entry["headers"] = {
                name: {"description": doc, "required": True, "schema": {"type": "string"}}
                for name, doc in route.response_headers[status].items()
            }
        if model is not None:
            entry["content"] = {"application/json": {"schema": keyed[(model, "serialization")]}}
        for media in route.media_types.get(status, ()):
            entry.setdefault("content", {})[media] = {"schema": {"type": "string"}}
        responses[str(status)] = entry
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "description": _description(route, scope),
        "tags": [route.tag],
        "parameters": params,
        "responses": responses,
        "security": [] if scope is None else [{"bearerKey": [scope.value]}, {"headerKey": [scope.value]}],
    }
    if scope is not None:
        operation["x-required-scope"] = scope.value
    if route.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": keyed[(route.body, "validation")]}},
        }
    return operation


def _description(route: Route, scope: Scope | None) -> str:
    text = (route.handler.__doc__ or "").strip()
    access = "No API key needed." if scope is None else f"Required scope: `{scope.value}` ({SCOPE_TEXT[scope]})."
    return f"{text}\n\n{access}" if text else access


def openapi_document(routes: Sequence[Route], *, title: str = "callpipe API", version: str = "1") -> dict[str, Any]:
    """The document describing exactly `routes`."""
    keyed, defs = _schemas(routes)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        method: Literal["get", "post", "put", "patch", "delete"] = route.method.lower()  # type: ignore[assignment]
        paths.setdefault(route.path, {})[method] = _operation(route, keyed, defs)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": "Journeys over WXCC call recordings."},
        "paths": paths,
        "components": {"schemas": defs, "securitySchemes": SECURITY_SCHEMES},
    }
