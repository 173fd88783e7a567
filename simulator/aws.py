"""Starts a local AWS endpoint (moto's server mode) on 127.0.0.1 for tests, demos and local runs."""

from __future__ import annotations

import logging
from types import TracebackType

import httpx


class LocalAws:
    """A moto server in a background thread; `endpoint` is the URL to put in `AWS_ENDPOINT_URL`."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        try:
            from moto.server import ThreadedMotoServer
        except ImportError as exc:  # moto is a development dependency
            raise SystemExit("the local AWS endpoint needs moto: pip install 'callpipe[dev]'") from exc
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self.endpoint = ""

    def start(self) -> LocalAws:
        """Start serving; returns self with `endpoint` set."""
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        return self

    def reset(self) -> None:
        """Forget every resource (moto's reset API)."""
        httpx.post(f"{self.endpoint}/moto-api/reset", timeout=10).raise_for_status()

    def stop(self) -> None:
        """Stop serving."""
        self._server.stop()

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
