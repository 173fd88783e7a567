"""Streams a recording from its presigned URL: allow-listed hosts only, no redirects off the list, size-capped,
length-checked and hashed as it goes, never held whole in memory."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urljoin, urlsplit

import httpx

from shared.wxcc.errors import RecordingRejected, WxccRetryable

_MAX_REDIRECTS = 3


class RecordingUrlExpired(WxccRetryable):
    """The presigned URL was refused (expired): query the captures again for a fresh one."""


def host_allowed(url: str, allowed_hosts: list[str], *, allow_http: bool = False) -> bool:
    """Whether a URL's scheme and host are on the allow-list (`.example.com` also allows its subdomains)."""
    parts = urlsplit(url)
    if parts.scheme != "https" and not (allow_http and parts.scheme == "http"):
        return False
    host = (parts.hostname or "").lower()
    for entry in (e.lower() for e in allowed_hosts):
        if entry.startswith("."):
            if host.endswith(entry) or host == entry[1:]:
                return True
        elif host == entry:
            return True
    return False


class Download:
    """An open recording response: iterate `chunks()`, then read `size` and `sha256`."""

    def __init__(self, response: httpx.Response, max_bytes: int) -> None:
        self._response = response
        self._max = max_bytes
        self._hash = hashlib.sha256()
        self.size = 0
        header = response.headers.get("Content-Length")
        self.content_length = int(header) if header and header.isdigit() else None
        if self.content_length is not None and self.content_length > max_bytes:
            raise RecordingRejected(f"recording is {self.content_length} bytes, over the {max_bytes} byte cap")

    async def chunks(self, chunk_size: int = 1024 * 1024) -> AsyncIterator[bytes]:
        """The body in chunks; raises `WxccRetryable` if it ends short of its Content-Length."""
        try:
            async for chunk in self._response.aiter_bytes(chunk_size):
                self.size += len(chunk)
                if self.size > self._max:
                    raise RecordingRejected(f"recording exceeds the {self._max} byte cap")
                self._hash.update(chunk)
                yield chunk
        except httpx.TransportError as exc:
            raise WxccRetryable(
                f"recording download interrupted after {self.size} bytes: {type(exc).__name__}"
            ) from exc
        if self.content_length is not None and self.size != self.content_length:
            raise WxccRetryable(f"recording truncated: {self.size} of {self.content_length} bytes")

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the bytes read so far (the whole file once `chunks()` is exhausted)."""
        return self._hash.hexdigest()


class RecordingDownloader:
    """Opens recording URLs safely; the HTTP client it uses must not carry WXCC credentials."""

    def __init__(
        self, http: httpx.AsyncClient, allowed_hosts: list[str], *, max_bytes: int, allow_http: bool = False
    ) -> None:
        self._http = http
        self._allowed = allowed_hosts
        self._max = max_bytes
        self._allow_http = allow_http

    def check(self, url: str) -> None:
        """Refuse a URL whose host is not on the allow-list (server-side request forgery guard)."""
        if not host_allowed(url, self._allowed, allow_http=self._allow_http):
            raise RecordingRejected(f"recording host not allowed: {urlsplit(url).scheme}://{urlsplit(url).hostname}")

    @asynccontextmanager
    async def open(self, url: str) -> AsyncIterator[Download]:
        """Open a recording for streaming, following at most a few redirects, each checked against the list."""
        for _ in range(_MAX_REDIRECTS + 1):
            self.check(url)
            request = self._http.build_request("GET", url)
            try:
                response = await self._http.send(request, stream=True, follow_redirects=False)
            except httpx.TransportError as exc:
                raise WxccRetryable(f"recording download failed: {type(exc).__name__}") from exc
            try:
                if response.is_redirect and "Location" in response.headers:
                    url = urljoin(url, response.headers["Location"])
                    continue
                if response.status_code in (401, 403):
                    raise RecordingUrlExpired(
                        f"recording URL refused ({response.status_code})", status=response.status_code
                    )
                if response.status_code == 429 or response.status_code >= 500:
                    raise WxccRetryable(
                        f"recording server answered {response.status_code}", status=response.status_code
                    )
                if response.status_code >= 400:
                    raise RecordingRejected(f"recording URL answered {response.status_code}")
                yield Download(response, self._max)
                return
            finally:
                await response.aclose()
        raise RecordingRejected(f"more than {_MAX_REDIRECTS} redirects")
