"""Recording downloads behind an HTTPS proxy keep the SSRF checks: vet the name, then tunnel to the vetted address.

A local CONNECT proxy records each tunnel's target; a local TLS server holds a certificate for `recordings.test`
only (from a CA made for the test), and records the TLS server name and `Host` header it was sent. So a download
that succeeds proves the certificate was checked against the name, and the proxy's log proves it was handed the
vetted IP, never a name it could resolve (or be lied to about) itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shared.wxcc.download import RecordingDownloader
from shared.wxcc.errors import RecordingRejected, WxccRetryable
from tests.security.test_ssrf import fake_dns  # noqa: F401 - the fixture, shared

AUDIO = b"RIFF" + b"\1" * 5000
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")


@dataclass
class Pki:
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self.ca_pem.decode())


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


@pytest.fixture(scope="module")
def pki() -> Pki:
    """A CA and a server certificate for `recordings.test` (no IP address in it)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("callpipe test CA"))
        .issuer_name(_name("callpipe test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # key_cert_sign, crl_sign
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("recordings.test"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("recordings.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return Pki(
        ca.public_bytes(serialization.Encoding.PEM),
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


@dataclass
class TlsHost:
    port: int
    server_names: list[str | None] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)


@pytest.fixture
async def tls_host(pki: Pki, tmp_path: Path) -> AsyncIterator[TlsHost]:
    """`https://127.0.0.1:PORT/file.wav` with the `recordings.test` certificate."""
    (tmp_path / "cert.pem").write_bytes(pki.cert_pem)
    (tmp_path / "key.pem").write_bytes(pki.key_pem)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    host = TlsHost(0)
    context.sni_callback = lambda sock, name, ctx: host.server_names.append(name)

    async def file(request: web.Request) -> web.Response:
        host.hosts.append(request.host)
        return web.Response(body=AUDIO, content_type="audio/wav")

    app = web.Application()
    app.router.add_get("/file.wav", file)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    host.port = runner.addresses[0][1]
    try:
        yield host
    finally:
        await runner.cleanup()


@dataclass
class Proxy:
    url: str
    targets: list[str] = field(default_factory=list)
    refuse: bool = False


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(ConnectionError, OSError):
        writer.close()


@pytest.fixture
async def connect_proxy() -> AsyncIterator[Proxy]:
    """A CONNECT-only proxy: records every target, connects to it as given (an IP is never resolved)."""
    proxy = Proxy("")
    tasks: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
        proxy.targets.append(target if method == "CONNECT" else f"{method} {target}")
        if method != "CONNECT" or proxy.refuse:
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        host, _, port = target.rpartition(":")
        up_reader, up_writer = await asyncio.open_connection(host.strip("[]"), int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    def track(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(handle(reader, writer))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    server = await asyncio.start_server(track, "127.0.0.1", 0)
    proxy.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield proxy
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await server.wait_closed()


@pytest.fixture
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No proxy variable from the machine leaks in (either case); the test sets its own."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    yield monkeypatch


async def _read(downloader: RecordingDownloader, url: str) -> bytes:
    async with downloader.open(url) as download:
        return b"".join([chunk async for chunk in download.chunks()])


async def test_a_download_through_https_proxy_tunnels_to_the_vetted_address_with_the_name_kept(
    fake_dns: dict[str, list[list[str]]],  # noqa: F811
    pki: Pki,
    tls_host: TlsHost,
    connect_proxy: Proxy,
    proxy_env: pytest.MonkeyPatch,
) -> None:
    fake_dns["recordings.test"] = [["127.0.0.1"]]
    proxy_env.setenv("HTTPS_PROXY", connect_proxy.url)
    url = f"https://recordings.test:{tls_host.port}/file.wav"
    async with httpx.AsyncClient() as http:  # trusts the environment, as the workers' client does
        downloader = RecordingDownloader(
            http, ["recordings.test", "127.0.0.1"], max_bytes=10**6, verify=pki.client_context()
        )
        assert await _read(downloader, url) == AUDIO
    assert connect_proxy.targets == [f"127.0.0.1:{tls_host.port}"], "the proxy was given something else than the IP"
    assert fake_dns["?lookups"] == [["recordings.test"]], "the name was resolved more than once"
    assert tls_host.server_names == ["recordings.test"], "TLS inside the tunnel did not name the host"
    assert tls_host.hosts == [f"recordings.test:{tls_host.port}"]


async def test_without_the_right_certificate_the_tunnelled_download_fails(
    fake_dns: dict[str, list[list[str]]],  # noqa: F811
    tls_host: TlsHost,
    connect_proxy: Proxy,
    proxy_env: pytest.MonkeyPatch,
) -> None:
    """The certificate is verified inside the tunnel (here: against the machine's CAs, which do not know ours)."""
    fake_dns["recordings.test"] = [["127.0.0.1"]]
    proxy_env.setenv("HTTPS_PROXY", connect_proxy.url)
    async with httpx.AsyncClient() as http:
        downloader = RecordingDownloader(http, ["recordings.test", "127.0.0.1"], max_bytes=10**6)
        with pytest.raises(WxccRetryable, match="recording download failed: ConnectError"):
            await _read(downloader, f"https://recordings.test:{tls_host.port}/file.wav")
    assert connect_proxy.targets == [f"127.0.0.1:{tls_host.port}"]
    assert not tls_host.hosts


@pytest.mark.parametrize(
    ("url", "answer", "reason"),
    [
        ("https://evil.test/file.wav", ["127.0.0.1"], "not allowed"),
        ("https://meta.recordings.test/latest/meta-data/", ["169.254.169.254"], "non-public address 169.254.169.254"),
        ("https://private.recordings.test/x.wav", ["93.184.216.34", "10.0.0.5"], "non-public address 10.0.0.5"),
    ],
)
async def test_targets_off_the_list_or_off_the_internet_are_refused_without_contacting_the_proxy(
    fake_dns: dict[str, list[list[str]]],  # noqa: F811
    connect_proxy: Proxy,
    proxy_env: pytest.MonkeyPatch,
    url: str,
    answer: list[str],
    reason: str,
) -> None:
    fake_dns[httpx.URL(url).host] = [answer]
    proxy_env.setenv("HTTPS_PROXY", connect_proxy.url)
    async with httpx.AsyncClient() as http:
        downloader = RecordingDownloader(http, [".recordings.test"], max_bytes=10**6, proxy=connect_proxy.url)
        with pytest.raises(RecordingRejected, match=reason):
            await _read(downloader, url)
    assert connect_proxy.targets == []


async def test_no_proxy_is_judged_by_the_name_and_goes_direct(
    fake_dns: dict[str, list[list[str]]],  # noqa: F811
    pki: Pki,
    tls_host: TlsHost,
    connect_proxy: Proxy,
    proxy_env: pytest.MonkeyPatch,
) -> None:
    fake_dns["recordings.test"] = [["127.0.0.1"]]
    proxy_env.setenv("HTTPS_PROXY", connect_proxy.url)
    proxy_env.setenv("NO_PROXY", ".recordings.test,recordings.test")
    async with httpx.AsyncClient() as http:
        downloader = RecordingDownloader(
            http, ["recordings.test", "127.0.0.1"], max_bytes=10**6, verify=pki.client_context()
        )
        assert await _read(downloader, f"https://recordings.test:{tls_host.port}/file.wav") == AUDIO
    assert connect_proxy.targets == []
    assert tls_host.server_names == ["recordings.test"]


async def test_a_proxy_that_refuses_the_tunnel_is_a_retryable_failure_saying_so(
    fake_dns: dict[str, list[list[str]]],  # noqa: F811
    pki: Pki,
    tls_host: TlsHost,
    connect_proxy: Proxy,
    proxy_env: pytest.MonkeyPatch,
) -> None:
    fake_dns["recordings.test"] = [["127.0.0.1"]]
    connect_proxy.refuse = True
    async with httpx.AsyncClient() as http:
        downloader = RecordingDownloader(
            http,
            ["recordings.test", "127.0.0.1"],
            max_bytes=10**6,
            proxy=connect_proxy.url,
            verify=pki.client_context(),
        )
        with pytest.raises(WxccRetryable, match=r"the proxy refused CONNECT 127\.0\.0\.1:\d+: HTTP/1.1 403"):
            await _read(downloader, f"https://recordings.test:{tls_host.port}/file.wav")
    assert not tls_host.hosts


def test_the_fixture_certificate_names_no_address(pki: Pki) -> None:
    """Guards the proof above: a certificate valid for 127.0.0.1 would let a download pass with the IP as name."""
    cert = x509.load_pem_x509_certificate(pki.cert_pem)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["recordings.test"]
    assert names.get_values_for_type(x509.IPAddress) == []
    assert ipaddress.ip_address("127.0.0.1") not in names.get_values_for_type(x509.IPAddress)
