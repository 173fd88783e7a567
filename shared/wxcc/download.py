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

Behind a proxy (`HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY`, honouring `NO_PROXY` by the URL's *name*, when the
HTTP client trusts the environment as httpx clients do by default; or an explicit `proxy`) the pinning holds too: an
https download opens `CONNECT <vetted IP>:<port>` through the proxy — the proxy never resolves the name — and TLS
inside the tunnel still names the host (SNI and certificate check), as does the `Host` header. (httpx's own
tunnelling would use the IP as the TLS server name, so downloads build their own tunnel: `_ConnectTunnel`.) A plain
http download goes to the proxy with the absolute URL of the vetted IP. An off-list or non-public target is refused
before the proxy is contacted.

Limits: the client's pool keys connections by the vetted IP, so a kept-alive TLS connection to an IP may be reused
for another allowed name served from that same public IP (its certificate was verified for the first name); both
names passed the checks above. An HTTP client made with an explicit `proxy=` argument is not supported (its proxy
would tunnel with the IP as server name): pass the proxy to `RecordingDownloader` instead.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import ipaddress
import socket
import ssl
import urllib.request
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from urllib.parse import urljoin

import httpcore
import httpx

from shared.logging import get_logger
from shared.wxcc.errors import RecordingRejected, WxccRetryable

log = get_logger(__name__)

_MAX_REDIRECTS = 3
_MAX_CONNECT_ANSWER_BYTES = 16 * 1024
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


def _environment_proxy(url: httpx.URL) -> httpx.URL | None:
    """The proxy the environment names for `url` (`https_proxy`, `http_proxy`, `all_proxy`), unless `no_proxy`
    matches the URL's host name; None when there is none."""
    proxies = urllib.request.getproxies_environment()
    value = proxies.get(url.scheme) or proxies.get("all")
    if not value or urllib.request.proxy_bypass(url.host):
        return None
    return httpx.URL(value if "://" in value else f"http://{value}")


def _environment_has_proxies() -> bool:
    proxies = urllib.request.getproxies_environment()
    return any(proxies.get(key) for key in ("https", "http", "all"))


class _ConnectTunnel(httpcore.AsyncNetworkBackend):
    """Opens each TCP connection as an HTTP `CONNECT` tunnel through a proxy to exactly the host:port asked for.

    The connection pool asks for the vetted IP and then starts TLS with the host name itself (the request's
    `sni_hostname`), so the proxy learns only the IP and the certificate is checked against the name."""

    def __init__(self, proxy: httpx.URL, proxy_ssl: ssl.SSLContext) -> None:
        self._proxy = proxy
        self._proxy_ssl = proxy_ssl
        self._backend = httpcore.AnyIOBackend()
        self.targets: list[str] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        proxy = self._proxy
        stream = await self._backend.connect_tcp(
            proxy.host,
            proxy.port or (443 if proxy.scheme == "https" else 80),
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )
        target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            if proxy.scheme == "https":
                stream = await stream.start_tls(self._proxy_ssl, server_hostname=proxy.host, timeout=timeout)
            lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
            if proxy.username:
                credentials = base64.b64encode(f"{proxy.username}:{proxy.password or ''}".encode()).decode("ascii")
                lines.append(f"Proxy-Authorization: Basic {credentials}")
            await stream.write(("\r\n".join(lines) + "\r\n\r\n").encode("ascii"), timeout=timeout)
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = await stream.read(4096, timeout=timeout)
                if not chunk:
                    raise httpcore.ProxyError(f"the proxy closed the connection during CONNECT {target}")
                answer += chunk
                if len(answer) > _MAX_CONNECT_ANSWER_BYTES:
                    raise httpcore.ProxyError(f"the proxy's answer to CONNECT {target} is too long")
            head, _, early = answer.partition(b"\r\n\r\n")
            status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            parts = status_line.split(" ", 2)
            if len(parts) < 2 or not parts[1].isdigit() or not 200 <= int(parts[1]) < 300:
                raise httpcore.ProxyError(f"the proxy refused CONNECT {target}: {status_line[:200]}")
            if early:
                raise httpcore.ProxyError(f"the proxy sent data before the tunnel to {target} was used")
        except BaseException:
            await stream.aclose()
            raise
        return stream

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:  # pragma: no cover - downloads never use unix sockets
        raise httpcore.ConnectError("recording downloads do not use unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def _tunnel_transport(proxy: httpx.URL, ssl_context: ssl.SSLContext) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose connections are `_ConnectTunnel`s through `proxy`.

    httpx takes no network backend, so its connection pool is replaced by one with the tunnel as backend (the
    transport maps requests, responses and errors as for any pool)."""
    transport = httpx.AsyncHTTPTransport(verify=ssl_context, trust_env=False)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context, network_backend=_ConnectTunnel(proxy, ssl_context)
    )
    return transport


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
        self,
        http: httpx.AsyncClient,
        allowed_hosts: list[str],
        *,
        max_bytes: int,
        allow_http: bool = False,
        proxy: str | None = None,
        verify: ssl.SSLContext | None = None,
    ) -> None:
        """`proxy`: send every download through this proxy (else the environment's, if `http` trusts it);
        `verify`: the TLS trust of downloads that do not go through `http` (default: httpx's, `SSL_CERT_FILE`)."""
        self._http = http
        self._allowed = allowed_hosts
        self._max = max_bytes
        self._allow_http = allow_http
        self._proxy = httpx.URL(proxy) if proxy else None
        self._verify = verify

    def _ssl_context(self) -> ssl.SSLContext:
        if self._verify is None:
            self._verify = httpx.create_ssl_context(trust_env=self._http.trust_env)
        return self._verify

    def _client_for(self, url: httpx.URL) -> httpx.AsyncClient | None:
        """A client of our own for a download that must not go through `http`'s own proxy handling (which would
        judge `NO_PROXY` by the pinned IP and tunnel with the IP as TLS server name); None: use `http`."""
        proxy = self._proxy or (_environment_proxy(url) if self._http.trust_env else None)
        if proxy is None and not (self._http.trust_env and _environment_has_proxies()):
            return None
        if proxy is None:  # NO_PROXY matched the name: connect directly
            transport = httpx.AsyncHTTPTransport(verify=self._ssl_context(), trust_env=False)
        elif url.scheme == "https":
            transport = _tunnel_transport(proxy, self._ssl_context())
        else:  # plain http: the proxy gets the absolute URL, whose host is the vetted IP
            transport = httpx.AsyncHTTPTransport(verify=self._ssl_context(), trust_env=False, proxy=proxy)
        return httpx.AsyncClient(transport=transport, trust_env=False, timeout=self._http.timeout)

    def check(self, url: str) -> None:
        """Refuse a URL whose scheme or host is not on the allow-list (by name only; `open` also vets addresses)."""
        if not host_allowed(url, self._allowed, allow_http=self._allow_http):
            parsed = _parse(url)
            shown = f"{parsed.scheme}://{parsed.host}" if parsed is not None else "an unparseable URL"
            if parsed is not None and parsed.scheme == "http" and host_allowed(url, self._allowed, allow_http=True):
                raise RecordingRejected(
                    f"recording URL is plain http ({shown}): set CALLPIPE_WXCC_DOWNLOAD_ALLOW_HTTP=true "
                    "(local simulators only)"
                )
            raise RecordingRejected(
                f"recording host not allowed: {shown} — add it to CALLPIPE_WXCC_DOWNLOAD_HOSTS if it serves WXCC "
                "recordings"
            )

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
            async with AsyncExitStack() as hop:
                parsed, address = await self.vet(url)
                request = self._pinned_request(parsed, address)
                own = self._client_for(parsed)
                client = self._http if own is None else await hop.enter_async_context(own)
                try:
                    response = await client.send(request, stream=True, follow_redirects=False)
                except httpx.TransportError as exc:
                    detail = f": {exc}" if isinstance(exc, httpx.ProxyError) else ""
                    raise WxccRetryable(f"recording download failed: {type(exc).__name__}{detail}") from exc
                hop.push_async_callback(response.aclose)
                if response.is_redirect and "Location" in response.headers:
                    url = urljoin(url, response.headers["Location"])
                    continue
                if response.status_code in (401, 403):
                    log.warning(
                        "wxcc_recording_url_refused",
                        status=response.status_code,
                        host=parsed.host,
                        action="the captures are queried again for a fresh URL",
                    )
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
        raise RecordingRejected(f"more than {_MAX_REDIRECTS} redirects")
