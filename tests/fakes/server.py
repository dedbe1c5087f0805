"""Serve an ASGI app with uvicorn on a free loopback port in a background thread.

``LiveServer`` is shared by the platform fakes and by end-to-end tests that need our own app on a
real socket. The server runs its own event loop in a daemon thread, so it works from sync tests
and from async tests alike, and a test's event loop never competes with it for scheduling.

    server = LiveServer(app)
    server.start()                      # or: with LiveServer(app) as server / async with ...
    httpx.get(f"{server.base_url}/health")
    server.stop()

A stopped server can be started again; it then binds the same port, so clients that hold its
``base_url`` reconnect (useful to simulate an outage).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Literal, Self

import uvicorn
from starlette.types import ASGIApp

LOOPBACK = "127.0.0.1"


class LiveServerError(RuntimeError):
    """Raised when the background server cannot start or stop."""


class LiveServer:
    """Run an ASGI app under uvicorn on 127.0.0.1 in a daemon thread."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = LOOPBACK,
        port: int = 0,
        lifespan: Literal["auto", "on", "off"] = "off",
        startup_timeout: float = 10.0,
    ) -> None:
        """Prepare the server; nothing is bound until ``start()``."""
        self.app = app
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._lifespan = lifespan
        self._startup_timeout = startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None

    # -- properties -----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """Return the bound port (only after the first ``start()``)."""
        if self._port is None:
            raise LiveServerError(f"{type(self).__name__} has not been started")
        return self._port

    @property
    def base_url(self) -> str:
        """Return ``http://127.0.0.1:<port>`` without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        """Return an absolute URL on this server for ``path``."""
        return f"{self.base_url}/{path.lstrip('/')}"

    @property
    def running(self) -> bool:
        """Return whether the server thread is serving."""
        return self._thread is not None and self._thread.is_alive() and self._loop is not None

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """Return the event loop of the server thread while it runs."""
        return self._loop if self.running else None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind the port, start serving in a background thread and wait until it accepts."""
        if self._thread is not None:
            return self
        sock = self._bind()
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan=self._lifespan,
            ws="none",
            server_header=False,
            date_header=False,
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        self._server = server
        self._error = None
        self._on_starting()
        thread = threading.Thread(
            target=self._run, args=(server, sock), name=f"{type(self).__name__}:{self._port}", daemon=True
        )
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                thread.join(2)
                self._thread = None
                self._loop = None
                raise LiveServerError(f"{type(self).__name__} did not start") from self._error
            time.sleep(0.002)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and wait for the thread to end."""
        thread, server = self._thread, self._server
        if thread is None or server is None:
            return
        self._on_stopping()
        server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout)
        self._thread = None
        self._loop = None
        if thread.is_alive():
            raise LiveServerError(f"{type(self).__name__} did not stop within {2 * timeout} s")

    def call_soon(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` on the server's event loop (thread-safe); drop it if not running."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            callback()
        else:
            with contextlib.suppress(RuntimeError):  # loop closed in between
                loop.call_soon_threadsafe(callback)

    def __enter__(self) -> Self:
        """Start the server for a ``with`` block."""
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop the server at the end of a ``with`` block."""
        self.stop()

    async def __aenter__(self) -> Self:
        """Start the server without blocking the caller's event loop."""
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop the server without blocking the caller's event loop."""
        await asyncio.to_thread(self.stop)

    # -- hooks for subclasses -------------------------------------------------------------------

    def _on_starting(self) -> None:
        """Reset loop-bound state before the server loop starts."""

    def _on_stopping(self) -> None:
        """Release waiting requests (e.g. long polls) so shutdown is quick."""

    # -- internals ------------------------------------------------------------------------------

    def _bind(self) -> socket.socket:
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto
        # is TCP, and without it every response waits ~40 ms for a delayed ACK (Nagle).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        port = self._port if self._port is not None else self._requested_port
        try:
            sock.bind((self.host, port))
        except OSError:
            sock.close()
            raise
        sock.listen(1024)
        sock.setblocking(False)
        self._port = sock.getsockname()[1]
        return sock

    def _run(self, server: uvicorn.Server, sock: socket.socket) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(server.serve(sockets=[sock]))
        except BaseException as exc:  # SystemExit on startup failure included
            self._error = exc
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            sock.close()
