"""Turns a tool's pydantic input model into an SDK tool: flat arguments, output schema, scopes, confirmations.

The SDK builds a tool's input schema from its function's signature, so each tool gets a signature made from its
input model's fields (one argument per field, same types, defaults and descriptions) plus the SDK's `Context`; the
call then validates the arguments into the model (cross-field rules included), checks the caller's scope for the
action and, for a destructive action, `confirm: true`. Anticipated failures (`ApiError`, `ToolFailure`, a model
that does not validate) become MCP tool errors with a readable message; anything else is the SDK's opaque error.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import Tool, ToolAnnotations
from pydantic import BaseModel, ValidationError

from api.auth import Principal
from api.errors import ApiError
from api.mcp.models import ToolName
from api.routing import Scope
from shared.logging import get_logger

log = get_logger(__name__)

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)
CallerOf = Callable[[Context], Principal]


class ToolFailure(Exception):
    """An anticipated failure of a tool, shown to the model as it is (no internals, no secrets)."""


@dataclass(frozen=True)
class Call(Generic[In]):
    """One tool call: its validated arguments and who made it."""

    args: In
    principal: Principal


@dataclass(frozen=True)
class ToolSpec(Generic[In, Out]):
    """A tool: name, model-oriented description, input and output models, per-action scope, destructive actions."""

    name: ToolName
    title: str
    description: str
    input: type[In]
    output: type[Out]
    handler: Callable[[Call[In]], Awaitable[Out]]
    scopes: Mapping[str, Scope]  # action → the scope it needs; read-scope actions are read-only
    destructive: frozenset[str] = frozenset()  # actions that need `confirm: true`
    idempotent: bool = False
    open_world: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def annotations(self, actions: list[str] | None = None) -> ToolAnnotations:
        """The MCP hints for the tool, or for the subset of its actions a caller may run."""
        shown = actions if actions is not None else list(self.scopes)
        read_only = all(self.scopes[a] is Scope.READ for a in shown)
        return ToolAnnotations(
            title=self.title,
            read_only_hint=read_only,
            destructive_hint=None if read_only else any(a in self.destructive for a in shown),
            idempotent_hint=True if read_only else self.idempotent,
            open_world_hint=self.open_world,
        )

    def allowed(self, principal: Principal) -> list[str]:
        """The actions `principal` may run."""
        return [a for a, needed in self.scopes.items() if principal.allows(needed)]


def readable(exc: ValidationError) -> str:
    """A pydantic error as one line per problem: `field: message`."""
    lines = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"{where}: {message}" if where else message)
    return "invalid arguments: " + "; ".join(lines)


def _signature(spec: ToolSpec[Any, Any]) -> inspect.Signature:
    params = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=inspect.Parameter.empty if info.is_required() else info.default,
            annotation=Annotated[info.annotation, info],
        )
        for name, info in spec.input.model_fields.items()
    ]
    params.append(inspect.Parameter("context", inspect.Parameter.KEYWORD_ONLY, annotation=Context))
    return inspect.Signature(params, return_annotation=spec.output)


def register(server: MCPServer[Any], spec: ToolSpec[In, Out], caller_of: CallerOf) -> None:
    """Add the tool to the server."""

    async def run(*, context: Context, **arguments: Any) -> Out:
        try:
            args = spec.input.model_validate(arguments)
        except ValidationError as exc:
            raise ToolError(readable(exc)) from None
        principal = caller_of(context)
        action = str(args.action)  # type: ignore[attr-defined]
        needed = spec.scopes[action]
        if not principal.allows(needed):
            held = principal.scope.value if principal.scope else "none"
            raise ToolError(f"action {action!r} of {spec.name} needs the {needed.value} scope; this key holds {held}")
        if action in spec.destructive and not getattr(args, "confirm", False):
            raise ToolError(f"action {action!r} is destructive: ask the user, then call again with confirm: true")
        try:
            return await spec.handler(Call(args, principal))
        except ApiError as exc:
            raise ToolError(f"{exc.code}: {exc.message}") from None
        except ToolFailure as exc:
            raise ToolError(str(exc)) from None

    run.__signature__ = _signature(spec)  # type: ignore[attr-defined]
    run.__name__ = spec.name.value
    server.add_tool(
        run,
        name=spec.name.value,
        title=spec.title,
        description=spec.description,
        annotations=spec.annotations(),
        structured_output=True,
    )


def narrowed(tool: Tool, spec: ToolSpec[Any, Any], principal: Principal) -> Tool | None:
    """The tool as `principal` sees it: only the actions its scope allows (None: none), with matching hints."""
    allowed = spec.allowed(principal)
    if not allowed:
        return None
    if len(allowed) == len(spec.scopes):
        return tool
    schema = copy.deepcopy(tool.input_schema)
    action = schema["properties"]["action"]
    schema["properties"]["action"] = {
        "type": "string",
        "enum": allowed,
        "description": action.get("description", ""),
    }
    hidden = [a for a in spec.scopes if a not in allowed]
    note = f"\n\nWith this API key's scope the actions {', '.join(hidden)} are not available."
    return tool.model_copy(
        update={
            "input_schema": schema,
            "annotations": spec.annotations(allowed),
            "description": (tool.description or "") + note,
        }
    )
