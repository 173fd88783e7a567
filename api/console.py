"""Serves the built web console: its files, index.html for client routes, cache headers and a strict CSP.

The console is a fallback, not a route group: it answers only GET/HEAD requests the router has no route for, outside
`/api`, `/health`, `/ready` and `/metrics`, so the OpenAPI document and the API's own answers are unchanged.
- `/assets/*` (Vite's content-hashed files): cached for a year, `immutable`; a missing asset is a 404.
- other files at the top of the build (`/`, `/index.html`, `/favicon.svg`): `no-cache` (revalidated on every load).
- any other path asked for by a browser (`Accept: text/html`) is a client route: index.html (SPA fallback); other
  clients keep the API's JSON 404, so `curl /nowhere` is still told that nothing is there.
Every console response carries the Content-Security-Policy and `X-Content-Type-Options: nosniff`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from api.config import ApiConfig
from api.errors import ApiError
from shared.config import Settings
from shared.logging import get_logger
from shared.resources import DataResources

log = get_logger(__name__)

API_PATHS = ("/api", "/health", "/ready", "/metrics")
ASSETS_PREFIX = "/assets/"
INDEX = "index.html"
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"


def recording_origins(settings: Settings) -> list[str]:
    """Where the presigned recording URLs point: the S3 endpoint's origin, or the recordings bucket's AWS hosts."""
    endpoint = settings.endpoint_for("s3")
    if endpoint:
        parts = urlsplit(endpoint)
        return [f"{parts.scheme}://{parts.netloc}"]
    bucket = DataResources(settings.name_prefix).recordings_bucket.name
    return [f"https://{bucket}.s3.amazonaws.com", f"https://{bucket}.s3.{settings.aws_region}.amazonaws.com"]


def content_security_policy(settings: Settings) -> str:
    """The console's policy: everything from this origin only, audio also from the recordings' S3 host."""
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "media-src": ["'self'", *recording_origins(settings)],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def is_api_path(path: str) -> bool:
    """True for the API's own paths, which never get the console."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in API_PATHS)


@dataclass(frozen=True)
class ConsoleSite:
    """One built console directory and the headers its responses carry."""

    root: Path
    headers: Mapping[str, str]

    def file(self, url_path: str) -> Path | None:
        """The regular file under `root` that a decoded URL path names, or None (never anything outside `root`)."""
        segments = url_path.lstrip("/").split("/")
        if "\x00" in url_path or "\\" in url_path or any(s in ("", ".", "..") or s.startswith(".") for s in segments):
            return None
        candidate = (self.root / "/".join(segments)).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            return None  # a symlink out of the build, a directory or nothing
        return candidate

    def respond(self, path: Path, cache_control: str) -> web.FileResponse:
        """The file, with the console's headers."""
        return web.FileResponse(path, headers={**self.headers, "Cache-Control": cache_control})


def wants_html(request: web.Request) -> bool:
    """True when the client takes HTML: a browser navigating to a client route."""
    return "text/html" in request.headers.get("Accept", "")


def console_middleware(site: ConsoleSite) -> Middleware:
    """A middleware that answers unrouted GET/HEAD requests from the console (see the module docstring)."""

    @web.middleware
    async def serve_console(request: web.Request, handler: Handler) -> web.StreamResponse:
        unrouted = isinstance(request.match_info.http_exception, web.HTTPNotFound)
        if not unrouted or request.method not in ("GET", "HEAD") or is_api_path(request.path):
            return await handler(request)
        path = request.path
        if path.startswith(ASSETS_PREFIX):
            asset = site.file(path)
            if asset is None:
                raise ApiError(404, "not_found", "no such console asset", {"path": path})
            return site.respond(asset, IMMUTABLE)
        found = site.file(path) if path != "/" else None
        if found is not None:
            return site.respond(found, NO_CACHE)
        if path == "/" or wants_html(request):
            return site.respond(site.root / INDEX, NO_CACHE)
        return await handler(request)

    return serve_console


def install_console(app: web.Application, config: ApiConfig, settings: Settings) -> None:
    """Serve the console from `config.console_dir` when it holds a build; otherwise say why it is off."""
    if config.console_dir is None:
        log.info("console_off", hint="build it with `make console` or set CALLPIPE_API_CONSOLE_DIR")
        return
    root = config.console_dir.resolve()
    if not (root / INDEX).is_file():
        log.warning("console_off", console_dir=str(root), reason=f"no {INDEX} there (run `make console`)")
        return
    headers = {"Content-Security-Policy": content_security_policy(settings), "X-Content-Type-Options": "nosniff"}
    app.middlewares.append(console_middleware(ConsoleSite(root, headers)))
    log.info("console_on", console_dir=str(root))
