"""Starts a local AWS endpoint (moto's server mode) on 127.0.0.1 for tests, demos and local runs."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _AtomicDynamoDB:
    """Runs DynamoDB requests one at a time.

    moto serves each request on its own thread and applies an update, a conditional write or a transaction without a
    lock, so two concurrent `ADD`s to one item can lose one. Real DynamoDB makes each of these atomic; serialising
    DynamoDB (and only DynamoDB: SQS long polls must not wait on each other) gives the emulator the same guarantee.
    """

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            return self._app(environ, start_response)
        with self._lock:
            return list(self._app(environ, start_response))


class LocalAws:
    """A moto server in a background thread; `endpoint` is the URL to put in `AWS_ENDPOINT_URL`."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        try:
            from moto.moto_server.werkzeug_app import (
                DomainDispatcherApplication,
                MotoRequestHandler,
                create_backend_app,
            )
            from werkzeug.serving import make_server
        except ImportError as exc:  # moto is a development dependency
            raise SystemExit("the local AWS endpoint needs moto: pip install 'callpipe[dev]'") from exc
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
        app = _AtomicDynamoDB(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-aws", daemon=True)
        self.endpoint = ""

    def start(self) -> LocalAws:
        """Start serving; returns self with `endpoint` set."""
        self._thread.start()
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)
        self.endpoint = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._thread.join(timeout=10)

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@asynccontextmanager
async def local_aws_process() -> AsyncIterator[tuple[str, int]]:
    """`callpipe local-aws --port 0` as a subprocess (moto on its own core); yields its endpoint and pid."""
    env = {**os.environ, "CALLPIPE_LOG_LEVEL": "WARNING", "CALLPIPE_LOG_FORMAT": "json"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", "local-aws", "--port", "0", stdout=asyncio.subprocess.PIPE, env=env
    )
    try:
        assert proc.stdout is not None
        first = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        if not first.startswith("export AWS_ENDPOINT_URL="):
            raise RuntimeError(f"callpipe local-aws did not start: {first!r}")
        yield first.strip().split("=", 1)[1], proc.pid
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
