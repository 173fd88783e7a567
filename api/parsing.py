"""Reading a request's JSON body and query string into pydantic models (400 malformed, 422 invalid)."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from api.errors import ApiError

M = TypeVar("M", bound=BaseModel)


def _problems(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


async def read_json(request: web.Request) -> Any:
    """The request body as JSON; 400 when it is not JSON (413 comes from aiohttp's body limit)."""
    raw = await request.read()
    if not raw:
        raise ApiError(400, "bad_request", "the request needs a JSON body")
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, "malformed_json", "the request body is not valid JSON", {"reason": str(exc)})


def validate(model: type[M], data: Any) -> M:
    """Validate data against a model; 422 with each problem's location otherwise."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "validation_failed", "the request does not validate", _problems(exc))


async def parse_body(request: web.Request, model: type[M]) -> M:
    """The request body, read and validated."""
    return validate(model, await read_json(request))


def parse_query(request: web.Request, model: type[M]) -> M:
    """The query string, validated (repeated parameters: the last one wins)."""
    return validate(model, {k: v for k, v in request.query.items()})


def json_response(model: BaseModel, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A model as a JSON response (by alias, so `from` stays `from`)."""
    return web.Response(
        status=status,
        text=model.model_dump_json(by_alias=True),
        content_type="application/json",
        headers=headers or None,
    )
