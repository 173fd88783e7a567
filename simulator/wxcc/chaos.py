"""Chaos mode: the `malformed` fault spoils a good 200 answer of the token, tasks, search or captures route.

Mutations (a rule's `mutation`; `any` takes them in turn, one per injected fault):

* `drop_field`   — removes a field the client needs (`field`, or the endpoint's default below);
* `wrong_type`   — changes a field's type: string → number, number → string, list → object, object → list,
  bool → string;
* `extra_fields` — adds unknown fields to every object of the body (harmless: a client must ignore them);
* `html`         — a 200 whose body is an HTML error page (`text/html`), as a proxy in front of an API sends;
* `truncated`    — a 200 `application/json` body cut in half;
* `empty`        — a 200 `application/json` with no body at all.

`field` is a dotted path into the JSON body, list items by index (`data.0.recording`). Without one, the first default
path of the endpoint that exists in the body is used (so an empty `data` list loses `data` itself).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

MALFORMABLE = frozenset({"token", "tasks", "search", "captures"})
"""The endpoints whose JSON answers chaos mode can mutate (a recording download is not JSON)."""

MUTATIONS: tuple[str, ...] = ("drop_field", "wrong_type", "extra_fields", "html", "truncated", "empty")
"""What `mutation: any` cycles through, in this order."""

_DEFAULT_PATHS: dict[str, dict[str, tuple[str, ...]]] = {
    "drop_field": {
        "token": ("access_token",),
        "tasks": ("data.0.attributes.createdTime", "data"),
        "search": ("data.taskDetails.pageInfo",),
        "captures": ("data.0.recording.0.attributes.filePath", "data.0.taskId", "data"),
    },
    "wrong_type": {
        "token": ("access_token",),
        "tasks": ("data",),
        "search": ("data.taskDetails.tasks",),
        "captures": ("data.0.recording", "data"),
    },
}

EXTRA_FIELD = "chaosExtra"
_EXTRA_VALUE: dict[str, Any] = {"note": "an unknown field from chaos mode", "list": [1, "two", None], "nested": {}}
_HTML = "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"


def pick_mutation(mutation: str, injected_before: int) -> str:
    """The mutation to apply: the rule's own, or for `any` the next one of `MUTATIONS`."""
    return MUTATIONS[injected_before % len(MUTATIONS)] if mutation == "any" else mutation


def malformed_response(endpoint: str, response: web.Response, mutation: str, field: str | None) -> web.Response:
    """A mutated copy of a JSON 200 `response` of `endpoint` (the response itself is not sent)."""
    if mutation == "html":
        return web.Response(status=200, text=_HTML, content_type="text/html")
    if mutation == "empty":
        return web.Response(status=200, body=b"", content_type="application/json")
    raw = response.body
    text = raw.decode() if isinstance(raw, bytes) else ""
    if mutation == "truncated":
        return web.Response(status=200, text=text[: len(text) // 2], content_type="application/json")
    body = json.loads(text)
    if mutation == "extra_fields":
        _add_extra(body)
    else:
        paths = (field,) if field else _DEFAULT_PATHS[mutation][endpoint]
        path = next((p for p in paths if _exists(body, p)), None)
        if path is not None:
            parent, key = _parent(body, path)
            if mutation == "drop_field":
                del parent[key]
            else:
                parent[key] = _other_type(parent[key])
    return web.json_response(body, status=200)


def _add_extra(value: Any) -> None:
    if isinstance(value, dict):
        for item in list(value.values()):
            _add_extra(item)
        value[EXTRA_FIELD] = json.loads(json.dumps(_EXTRA_VALUE))
    elif isinstance(value, list):
        for item in value:
            _add_extra(item)


def _other_type(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return 12345
    if isinstance(value, int | float):
        return "not-a-number"
    if isinstance(value, list):
        return {"items": value}
    if isinstance(value, dict):
        return [value]
    return {"unexpected": True}  # null


def _step(node: Any, key: str) -> tuple[bool, Any]:
    if isinstance(node, dict):
        return (key in node, node.get(key))
    if isinstance(node, list) and key.isdigit() and int(key) < len(node):
        return True, node[int(key)]
    return False, None


def _exists(body: Any, path: str) -> bool:
    node = body
    for key in path.split("."):
        found, node = _step(node, key)
        if not found:
            return False
    return True


def _parent(body: Any, path: str) -> tuple[Any, Any]:
    """The container holding the last step of an existing `path`, and that step's key (an int for a list)."""
    *head, last = path.split(".")
    node = body
    for key in head:
        _, node = _step(node, key)
    return node, (int(last) if isinstance(node, list) else last)
