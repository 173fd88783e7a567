"""Streams a recording from its presigned URL: allow-listed hosts only, resolving to public addresses only, no
redirects off the list, size-capped, length-checked and hashed as it goes, never held whole in memory.

Server-side request forgery guard, at the first request and at every redirect hop:

1. the URL's scheme and host (as `httpx.URL` parses it, the parser that sends the request) must be on the allow-list;
2. the host is resolved, and every address it resolves to must be globally routable (IPv4 embedded in IPv6 as
   mapped, 6to4, Teredo or NAT64 addresses is judged by its IPv4) unless that exact address is an IP literal on the
   allow-list (the local simulator's `127.0.0.1`). An allowed name pointing at `169.254.169.254`, or a DNS answer
   rebound to a private address, is refused before any connection is made;
3. the request is pinned to the vetted address: it is sent to that IP, with the `Host` header and the TLS server
   name (SNI, hence certificate verification) kept as the original name, so the name is never resolved again
   between the check and the connection.

Limits: pinning assumes the client connects directly. Behind an HTTP(S) proxy the proxy resolves the name itself
and the check in (2) is only as good as the proxy's resolver. The client's pool keys connections by the vetted
IP, so a kept-alive TLS connection to an IP may be reused for another allowed name served from that same public IP
(its certificate was verified for the first name); both names passed the checks above.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import socket
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from urllib.parse import urljoin

import httpx

from shared.wxcc.errors import RecordingRejected, WxccRetryable

_MAX_REDIRECTS = 3
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RecordingUrlExpired(WxccRetryable):
    """The presigned URL was refused (expired): query the captures again for a fresh one."""


def _parse(url: str) -> httpx.URL | None:
    try:
        return httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return None


def _ip_literal(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def host_allowed(url: str, allowed_hosts: list[str], *, allow_http: bool = False) -> bool:
    """Whether a URL's scheme and host are on the allow-list (`.example.com` also allows its subdomains).

    The host is the one `httpx` will connect to; an IP literal matches an entry for the same address.
    """
    parsed = _parse(url)
    if parsed is None:
        return False
    if parsed.scheme != "https" and not (allow_http and parsed.scheme == "http"):
        return False
    host = parsed.host.lower()
    if not host:
        return False
    literal = _ip_literal(host)
    for entry in (e.lower() for e in allowed_hosts):
        if literal is not None:
            if _ip_literal(entry) == literal:
                return True
        elif entry.startswith("."):
            if host.endswith(entry) or host == entry[1:]:
                return True
        elif host == entry:
            return True
    return False


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries and routes to, if any (mapped, 6to4, Teredo, NAT64)."""
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr.teredo is not None:
        return addr.teredo[1]
    if addr in _NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def is_public_address(addr: IPAddress) -> bool:
    """Whether an address is globally routable unicast, judging IPv4 embedded in IPv6 by its IPv4 address."""
    if isinstance(addr, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(addr)
        if embedded is not None:
            return is_public_address(embedded)
        if addr.scope_id:
            return False
    return addr.is_global and not addr.is_multicast


def address_permitted(addr: IPAddress, allowed_hosts: Iterable[str]) -> bool:
    """A resolved address may be connected to if it is public or is itself an IP literal on the allow-list."""
    if is_public_address(addr):
        return True
    return any(_ip_literal(entry) == addr for entry in allowed_hosts)


async def _resolve(url: httpx.URL) -> list[IPAddress]:
    """Every address the URL's host resolves to, in resolver order; a failed lookup is retryable."""
    host = url.raw_host.decode("ascii")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WxccRetryable(f"recording host {url.host} did not resolve: {exc}") from exc
    addresses: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise WxccRetryable(f"recording host {url.host} resolved to no address")
    return addresses


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
        """Refuse a URL whose scheme or host is not on the allow-list (by name only; `open` also vets addresses)."""
        if not host_allowed(url, self._allowed, allow_http=self._allow_http):
            parsed = _parse(url)
            shown = f"{parsed.scheme}://{parsed.host}" if parsed is not None else "an unparseable URL"
            raise RecordingRejected(f"recording host not allowed: {shown}")

    async def vet(self, url: str) -> tuple[httpx.URL, str]:
        """Check a URL against the allow-list, resolve its host and check every address; returns the parsed URL and
        the address to connect to. Raises `RecordingRejected` for an off-list host or a non-public address."""
        self.check(url)
        parsed = httpx.URL(url)
        literal = _ip_literal(parsed.host)
        addresses = [literal] if literal is not None else await _resolve(parsed)
        for address in addresses:
            if not address_permitted(address, self._allowed):
                raise RecordingRejected(f"recording host {parsed.host} resolves to a non-public address {address}")
        return parsed, str(addresses[0])

    def _pinned_request(self, url: httpx.URL, address: str) -> httpx.Request:
        """A GET sent to `address` that still names the original host in its Host header and TLS server name."""
        extensions = {"sni_hostname": url.raw_host.decode("ascii")} if url.scheme == "https" else {}
        return self._http.build_request(
            "GET",
            url.copy_with(host=address),
            headers={"Host": url.netloc.decode("ascii")},
            extensions=extensions,
        )

    @asynccontextmanager
    async def open(self, url: str) -> AsyncIterator[Download]:
        """Open a recording for streaming, following at most a few redirects, each vetted and pinned like the first."""
        for _ in range(_MAX_REDIRECTS + 1):
            parsed, address = await self.vet(url)
            request = self._pinned_request(parsed, address)
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
