"""The route table: each route's method, path, handler and models, used both to serve and to document it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from aiohttp import web
from pydantic import BaseModel

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Scope(StrEnum):
    """What an API key may do: `read` ⊂ `operate` ⊂ `admin` (each scope implies the ones before it)."""

    READ = "read"  # journeys, calls, transcripts, analytics, reports
    OPERATE = "operate"  # start/cancel journeys, DLQ replay, simulator controls in dev
    ADMIN = "admin"  # license activation, erasure, resume held calls

    @property
    def rank(self) -> int:
        """0 for read, 1 for operate, 2 for admin."""
        return list(Scope).index(self)

    def includes(self, needed: Scope) -> bool:
        """Whether holding this scope grants `needed`."""
        return self.rank >= needed.rank

    def implied(self) -> list[Scope]:
        """This scope and every scope it includes, lowest first."""
        return [s for s in Scope if self.includes(s)]


@dataclass(frozen=True)
class Route:
    """One operation: served by `handler`, described to OpenAPI by the rest."""

    method: str
    path: str
    handler: Handler
    operation_id: str
    summary: str
    tag: str
    responses: dict[int, type[BaseModel] | None]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    headers: dict[str, str] = field(default_factory=dict)  # request header name → description
    notes: dict[int, str] = field(default_factory=dict)  # status → when this route answers it (OpenAPI description)
    response_headers: dict[int, dict[str, str]] = field(default_factory=dict)  # status → header name → description
    media_types: dict[int, tuple[str, ...]] = field(default_factory=dict)  # status → non-JSON content types (text)
    public: bool = False  # served without an API key
    scope: Scope | None = None  # the scope a key needs; every non-public route declares one (a test enforces it)


@dataclass(frozen=True)
class RouteGroup:
    """A set of routes under one prefix (journeys, calls, …); future groups are added as modules of their own."""

    prefix: str
    routes: Sequence[Route]

    def full(self) -> list[Route]:
        """The routes with the group prefix applied to their paths."""
        return [replace(r, path=self.prefix + r.path) for r in self.routes]


def register(app: web.Application, routes: Sequence[Route]) -> None:
    """Add routes to the app's router."""
    for route in routes:
        app.router.add_route(route.method, route.path, route.handler, name=route.operation_id)
