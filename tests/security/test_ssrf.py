"""Recording downloads go only to allow-listed hosts, at every redirect hop (server-side request forgery guard).

A local server stands in for a recording host: it serves a file and redirects wherever a test tells it to. Every
refusal happens before a request is made to the refused host (its hit counter stays at zero, and the error is a
rejection, not a connection failure to an address the test machine cannot reach).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import structlog
from aiohttp import web

from shared.config import Settings
from shared.wxcc.download import RecordingDownloader, RecordingUrlExpired, host_allowed, is_public_address
from shared.wxcc.errors import RecordingRejected, WxccRetryable

AUDIO = b"RIFF" + b"\0" * 2000
DEFAULT_HOSTS: list[str] = Settings.model_fields["wxcc_download_hosts"].get_default(call_default_factory=True)


@pytest.fixture
async def recording_host() -> AsyncIterator[tuple[str, Counter[str]]]:
    """`http://127.0.0.1:PORT`: `/file.wav` is a recording, `/hop?to=URL` redirects to URL, `/forbidden.wav` is an
    expired URL (403); hits per path."""
    hits: Counter[str] = Counter()

    async def file(request: web.Request) -> web.Response:
        hits[request.host.split(":")[0] + request.path] += 1
        return web.Response(body=AUDIO, content_type="audio/wav")

    async def hop(request: web.Request) -> web.Response:
        hits[request.host.split(":")[0] + request.path] += 1
        raise web.HTTPFound(request.query["to"])

    async def forbidden(request: web.Request) -> web.Response:
        hits[request.host.split(":")[0] + request.path] += 1
        raise web.HTTPForbidden(text="<Error><Code>AccessDenied</Code></Error>")

    app = web.Application()
    app.router.add_get("/file.wav", file)
    app.router.add_get("/hop", hop)
    app.router.add_get("/forbidden.wav", forbidden)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", hits
    finally:
        await runner.cleanup()


async def _read(downloader: RecordingDownloader, url: str) -> bytes:
    async with downloader.open(url) as download:
        return b"".join([chunk async for chunk in download.chunks()])


async def test_an_allowed_host_and_a_redirect_within_the_list_are_followed(
    recording_host: tuple[str, Counter[str]],
) -> None:
    base, hits = recording_host
    async with httpx.AsyncClient() as http:
        downloader = RecordingDownloader(http, ["127.0.0.1"], max_bytes=10**6, allow_http=True)
        assert await _read(downloader, f"{base}/file.wav") == AUDIO
        assert await _read(downloader, f"{base}/hop?to={base}/file.wav") == AUDIO
    assert hits == Counter({"127.0.0.1/file.wav": 2, "127.0.0.1/hop": 1})


async def test_a_host_off_the_list_is_never_contacted(recording_host: tuple[str, Counter[str]]) -> None:
    base, hits = recording_host
    async with httpx.AsyncClient() as http:
        downloader = RecordingDownloader(http, [".amazonaws.com"], max_bytes=10**6, allow_http=True)
        with pytest.raises(RecordingRejected, match="not allowed"):
            await _read(downloader, f"{base}/file.wav")
    assert not hits


async def test_plain_http_to_a_listed_host_names_the_setting_that_allows_it(
    recording_host: tuple[str, Counter[str]],
) -> None:
    """The scheme is the problem, not the host: the error says which setting allows plain http."""
    base, hits = recording_host
    async with httpx.AsyncClient() as http:
        downloader = RecordingDownloader(http, ["127.0.0.1"], max_bytes=10**6, allow_http=False)
        with pytest.raises(RecordingRejected, match=r"plain http .*CALLPIPE_WXCC_DOWNLOAD_ALLOW_HTTP=true"):
            await _read(downloader, f"{base}/file.wav")
    assert not hits


@pytest.mark.parametrize(
    "target",
    [
        "http://localhost:{port}/file.wav",  # the same machine under a name that is not on the list
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",  # EC2 instance metadata
        "http://[fd00:ec2::254]/latest/meta-data/",  # its IPv6 address
        "http://169.254.170.2/v2/credentials/",  # the ECS task credentials endpoint
        "http://10.0.0.1/internal",
        "file:///etc/passwd",
        "http://127.0.0.1.nip.io:{port}/file.wav",
    ],
)
async def test_a_redirect_off_the_list_is_refused_before_it_is_followed(
    recording_host: tuple[str, Counter[str]], target: str
) -> None:
    base, hits = recording_host
    port = base.rsplit(":", 1)[1]
    async with httpx.AsyncClient() as http:
        downloader = RecordingDownloader(http, ["127.0.0.1"], max_bytes=10**6, allow_http=True)
        with pytest.raises(RecordingRejected, match="not allowed"):
            await _read(downloader, f"{base}/hop?to={target.format(port=port)}")
    assert hits == Counter({"127.0.0.1/hop": 1})


async def test_redirect_chains_are_capped(recording_host: tuple[str, Counter[str]]) -> None:
    base, hits = recording_host
    url = f"{base}/file.wav"
    for _ in range(10):
        url = f"{base}/hop?to={httpx.URL(url)}"
    async with httpx.AsyncClient() as http:
        downloader = RecordingDownloader(http, ["127.0.0.1"], max_bytes=10**6, allow_http=True)
        with pytest.raises(RecordingRejected, match="redirects"):
            await _read(downloader, url)
    assert hits["127.0.0.1/file.wav"] == 0


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/latest/meta-data/",
        "https://127.0.0.1/x.wav",
        "https://[::1]/x.wav",
        "https://[::ffff:169.254.169.254]/x.wav",
        "https://metadata.google.internal/computeMetadata/v1/",
        "https://evil-amazonaws.com/x.wav",
        "https://s3.amazonaws.com.evil.example/x.wav",
        "https://s3.amazonaws.com@evil.example/x.wav",  # userinfo: the host is evil.example
        "https://evil.example#@s3.amazonaws.com/x.wav",
        "https://evil.example?@s3.amazonaws.com/x.wav",
        "http://bucket.s3.amazonaws.com/x.wav",  # plain http: only with the simulator's explicit switch
        "ftp://bucket.s3.amazonaws.com/x.wav",
    ],
)
def test_the_default_allow_list_refuses_internal_and_lookalike_hosts(url: str) -> None:
    assert not host_allowed(url, DEFAULT_HOSTS)


def test_the_default_allow_list_accepts_the_wxcc_recording_hosts() -> None:
    for url in (
        "https://cjp-ccone-prod-us1-recording.s3.amazonaws.com/rec.wav?X-Amz-Signature=abc",
        "https://recordings.wxcc-us1.cisco.com/rec.wav",
        "https://media.webex.com/rec.wav",
    ):
        assert host_allowed(url, DEFAULT_HOSTS), url


# --- Resolution: an allowed name must resolve to public addresses, and the request is pinned to the vetted one ------
#
# `localhost` is a real name that resolves to loopback on every machine. This sandbox has no other resolver route, so
# names that must resolve to other addresses (instance metadata, a private network, a rebinding answer) are served by
# a stand-in for `socket.getaddrinfo`, the system resolver the event loop calls; the downloader itself is not faked.


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[list[str]]]:
    """Names under `.test` answer with the next address list in `answers[name]` (the last one repeats); every
    lookup is recorded in `answers["?lookups"]`. Other names go to the real resolver."""
    answers: dict[str, list[list[str]]] = {"?lookups": []}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if not name.endswith(".test"):
            return real(host, port, *args, **kwargs)
        answers["?lookups"].append([name])
        queue = answers[name]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                socket.IPPROTO_TCP,
                "",
                (a, int(port or 0), 0, 0) if ":" in a else (a, int(port or 0)),
            )
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def _localhost_addresses() -> list[str]:
    return list(
        dict.fromkeys(str(info[4][0]) for info in socket.getaddrinfo("localhost", None, type=socket.SOCK_STREAM))
    )


async def test_an_allowed_name_that_resolves_to_loopback_is_refused_before_it_is_contacted(
    recording_host: tuple[str, Counter[str]],
) -> None:
    base, hits = recording_host
    port = base.rsplit(":", 1)[1]
    async with httpx.AsyncClient() as http:
        for allowed in (["localhost"], [".localhost"]):
            downloader = RecordingDownloader(http, allowed, max_bytes=10**6, allow_http=True)
            with pytest.raises(RecordingRejected, match=r"localhost resolves to a non-public address (127\.|::1)"):
                await _read(downloader, f"http://localhost:{port}/file.wav")
    assert not hits


async def test_a_name_resolving_to_an_ip_literal_on_the_list_is_fetched_under_its_own_name() -> None:
    """Allowing the loopback address itself (as the simulator's settings do) lets a name resolving to it through;
    the server still sees the name in the Host header, though the connection went to the vetted address."""
    addresses = _localhost_addresses()
    seen_hosts: list[str] = []

    async def file(request: web.Request) -> web.Response:
        seen_hosts.append(request.host)
        return web.Response(body=AUDIO, content_type="audio/wav")

    app = web.Application()
    app.router.add_get("/file.wav", file)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, addresses[0], 0)  # the address the downloader pins to: the resolver's first answer
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with httpx.AsyncClient() as http:
            without = RecordingDownloader(http, ["localhost", *addresses[1:]], max_bytes=10**6, allow_http=True)
            with pytest.raises(RecordingRejected, match=re.escape(f"non-public address {addresses[0]}")):
                await _read(without, f"http://localhost:{port}/file.wav")
            downloader = RecordingDownloader(http, ["localhost", *addresses], max_bytes=10**6, allow_http=True)
            assert await _read(downloader, f"http://localhost:{port}/file.wav") == AUDIO
    finally:
        await runner.cleanup()
    assert seen_hosts == [f"localhost:{port}"]


@pytest.mark.parametrize(
    ("answer", "refused"),
    [
        (["169.254.169.254"], "169.254.169.254"),  # EC2 instance metadata
        (["fd00:ec2::254"], "fd00:ec2::254"),
        (["::ffff:169.254.169.254"], "::ffff:a9fe:a9fe"),  # IPv4-mapped IPv6
        (["10.0.0.5"], "10.0.0.5"),
        (["93.184.216.34", "10.0.0.5"], "10.0.0.5"),  # one public and one private answer: refused, not picked from
        (["0.0.0.0"], "0.0.0.0"),
    ],
)
async def test_a_redirect_to_an_allowed_name_resolving_to_a_non_public_address_is_refused(
    recording_host: tuple[str, Counter[str]], fake_dns: dict[str, list[list[str]]], answer: list[str], refused: str
) -> None:
    base, hits = recording_host
    fake_dns["metadata.recordings.test"] = [answer]
    async with httpx.AsyncClient() as http:
        downloader = RecordingDownloader(http, ["127.0.0.1", ".recordings.test"], max_bytes=10**6, allow_http=True)
        target = "http://metadata.recordings.test/latest/meta-data/iam/security-credentials/"
        with pytest.raises(
            RecordingRejected, match=f"metadata.recordings.test resolves to a non-public address {re.escape(refused)}$"
        ):
            await _read(downloader, f"{base}/hop?to={target}")
    assert hits == Counter({"127.0.0.1/hop": 1})


async def test_the_request_is_pinned_to_the_vetted_address_and_never_resolved_again(
    recording_host: tuple[str, Counter[str]], fake_dns: dict[str, list[list[str]]]
) -> None:
    """DNS rebinding: the first answer passes the check, later answers point at instance metadata. The name is
    looked up once per hop, and the connection goes to the address that was checked."""
    base, hits = recording_host
    port = base.rsplit(":", 1)[1]
    fake_dns["rebind.test"] = [["127.0.0.1"], ["169.254.169.254"]]
    async with httpx.AsyncClient() as http:
        downloader = RecordingDownloader(http, ["rebind.test", "127.0.0.1"], max_bytes=10**6, allow_http=True)
        assert await _read(downloader, f"http://rebind.test:{port}/file.wav") == AUDIO
        assert fake_dns["?lookups"] == [["rebind.test"]]
        # The next lookup rebinds: the next download is refused before it connects.
        with pytest.raises(RecordingRejected, match=re.escape("non-public address 169.254.169.254")):
            await _read(downloader, f"http://rebind.test:{port}/file.wav")
    assert hits == Counter({"rebind.test/file.wav": 1})


async def test_the_tls_server_name_is_the_host_name_not_the_pinned_address(
    fake_dns: dict[str, list[list[str]]],
) -> None:
    """Pinning keeps the name as the TLS server name (SNI), which is also the name the certificate is verified
    against: the ClientHello that reaches the pinned address names the host (an IP would send no SNI at all)."""
    fake_dns["recordings.test"] = [["127.0.0.1"]]
    hellos: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        header = await reader.readexactly(5)  # TLS record header: type, version, length
        hellos.append(header + await reader.readexactly(int.from_bytes(header[3:5], "big")))
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient() as http:
            downloader = RecordingDownloader(http, ["recordings.test", "127.0.0.1"], max_bytes=10**6)
            with pytest.raises(WxccRetryable, match="recording download failed"):
                await _read(downloader, f"https://recordings.test:{port}/file.wav")
    finally:
        server.close()
        await server.wait_closed()
    assert len(hellos) == 1 and hellos[0][0] == 0x16, "no TLS handshake reached the pinned address"
    assert b"recordings.test" in hellos[0], "the TLS ClientHello did not carry the host name as SNI"


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("169.254.169.254", False),
        ("169.254.170.2", False),
        ("127.0.0.1", False),
        ("10.0.0.5", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),  # multicast
        ("::1", False),
        ("fe80::1", False),
        ("fd00:ec2::254", False),
        ("::ffff:169.254.169.254", False),  # IPv4-mapped
        ("::ffff:93.184.216.34", True),
        ("2002:a9fe:a9fe::1", False),  # 6to4 around 169.254.169.254
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 to 169.254.169.254
        ("64:ff9b::5db8:d822", True),  # NAT64 to 93.184.216.34
    ],
)
def test_only_globally_routable_addresses_count_as_public(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://s3.amazonaws.com\\@evil.example/x.wav", "evil.example"),
        ("https://evil.example\t.s3.amazonaws.com/x.wav", None),  # urlsplit strips the tab; httpx refuses the URL
        ("https://bucket.s3.amazonaws.com:443:80/x.wav", None),
    ],
)
def test_the_allow_list_judges_the_host_the_http_client_would_contact(url: str, host: str | None) -> None:
    assert not host_allowed(url, DEFAULT_HOSTS)
    if host is not None:
        assert httpx.URL(url).host == host


async def test_a_refused_recording_url_is_logged_with_its_status_and_host_only(
    recording_host: tuple[str, Counter[str]],
) -> None:
    """An expired presigned URL answers 403: the fetch stage asks for a fresh one, and the log says why (the URL's
    query, which holds the signature, is not logged)."""
    base, _ = recording_host
    async with httpx.AsyncClient() as http:
        downloader = RecordingDownloader(http, ["127.0.0.1"], max_bytes=10**6, allow_http=True)
        with structlog.testing.capture_logs() as logs, pytest.raises(RecordingUrlExpired, match="403"):
            await _read(downloader, f"{base}/forbidden.wav?X-Amz-Signature=secret-signature")
    [line] = [entry for entry in logs if entry["event"] == "wxcc_recording_url_refused"]
    assert (line["status"], line["host"], line["log_level"]) == (403, "127.0.0.1", "warning")
    assert "secret-signature" not in repr(logs)
