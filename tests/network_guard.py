"""Pytest plugin: fail any test that tries to reach the network beyond loopback.

Register it with ``pytest_plugins = ["tests.network_guard"]`` in the root ``tests/conftest.py``
(or ``-p tests.network_guard``). From ``pytest_configure`` on, ``socket.socket.connect``,
``connect_ex``, ``sendto``, ``socket.create_connection`` and ``socket.getaddrinfo`` refuse every
address except 127.0.0.0/8, ::1, ``localhost`` and unix sockets by raising
``NetworkAccessBlocked`` before any packet leaves. Libraries may wrap or swallow that error
(httpx turns it into ``ConnectError``, a retry loop may catch it), so every attempt is also
recorded and the test fails in its own phase (setup, call or teardown) with the list of attempts.

A test that wants to prove something is blocked uses the ``network_guard`` fixture::

    def test_no_internet(network_guard):
        with network_guard.expect_blocked() as attempts, pytest.raises(NetworkAccessBlocked):
            socket.create_connection(("93.184.216.34", 80))
        assert attempts
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Generator, Iterator
from typing import Any

import pytest

ALLOWED_HOSTNAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


class NetworkAccessBlocked(RuntimeError):
    """Raised instead of opening a connection to a non-loopback address."""


def is_allowed_host(host: object, *, for_resolving: bool = False) -> bool:
    """Return whether ``host`` (name or IP literal) is loopback; resolving may also ask for the wildcard."""
    if host is None:
        return for_resolving  # getaddrinfo(None, port) means "local address to bind to"
    if isinstance(host, bytes | bytearray):
        host = bytes(host).decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip().rstrip(".").lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name in ALLOWED_HOSTNAMES:
        return True
    if for_resolving and name in ("", "0.0.0.0", "::"):
        return True
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False  # any other hostname would need DNS (or /etc/hosts we do not control)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


class NetworkGuard:
    """Patch the socket module so only loopback is reachable, and remember every refused attempt."""

    def __init__(self) -> None:
        """Create an uninstalled guard."""
        self._lock = threading.Lock()
        self._installs = 0
        self._originals: dict[str, Any] = {}
        self._expecting = 0
        self.violations: list[str] = []
        self.expected: list[str] = []

    # -- install / uninstall ----------------------------------------------------------------------

    @property
    def installed(self) -> bool:
        """Return whether the socket functions are patched."""
        return self._installs > 0

    def install(self) -> None:
        """Patch the socket module (reference-counted, so nested installs are fine)."""
        with self._lock:
            self._installs += 1
            if self._installs > 1:
                return
            self._originals = {
                "connect": socket.socket.connect,
                "connect_ex": socket.socket.connect_ex,
                "sendto": socket.socket.sendto,
                "create_connection": socket.create_connection,
                "getaddrinfo": socket.getaddrinfo,
            }
        original_connect = self._originals["connect"]
        original_connect_ex = self._originals["connect_ex"]
        original_sendto = self._originals["sendto"]
        original_create_connection = self._originals["create_connection"]
        original_getaddrinfo = self._originals["getaddrinfo"]
        guard = self

        def connect(sock: socket.socket, address: Any) -> None:
            guard.check_socket_address(sock, address, "connect")
            return original_connect(sock, address)  # type: ignore[no-any-return]

        def connect_ex(sock: socket.socket, address: Any) -> int:
            guard.check_socket_address(sock, address, "connect_ex")
            return original_connect_ex(sock, address)  # type: ignore[no-any-return]

        def sendto(sock: socket.socket, data: Any, *args: Any) -> int:
            if args:
                guard.check_socket_address(sock, args[-1], "sendto")
            return original_sendto(sock, data, *args)  # type: ignore[no-any-return]

        def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
            if not is_allowed_host(address[0]):
                guard.refuse(f"create_connection({address!r})")
            return original_create_connection(address, *args, **kwargs)  # type: ignore[no-any-return]

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if not is_allowed_host(host, for_resolving=True):
                guard.refuse(f"getaddrinfo({host!r}, {port!r})")
            return original_getaddrinfo(host, port, *args, **kwargs)

        socket.socket.connect = connect  # type: ignore[method-assign,assignment]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
        socket.socket.sendto = sendto  # type: ignore[method-assign,assignment]
        socket.create_connection = create_connection  # type: ignore[assignment]
        socket.getaddrinfo = getaddrinfo

    def uninstall(self) -> None:
        """Undo one ``install``; restore the socket module when the last one is undone."""
        with self._lock:
            if self._installs == 0:
                return
            self._installs -= 1
            if self._installs > 0:
                return
            originals = self._originals
        socket.socket.connect = originals["connect"]  # type: ignore[method-assign]
        socket.socket.connect_ex = originals["connect_ex"]  # type: ignore[method-assign]
        socket.socket.sendto = originals["sendto"]  # type: ignore[method-assign]
        socket.create_connection = originals["create_connection"]
        socket.getaddrinfo = originals["getaddrinfo"]

    @contextlib.contextmanager
    def installed_for(self) -> Iterator[NetworkGuard]:
        """Install the guard for a ``with`` block (works with or without the plugin)."""
        self.install()
        try:
            yield self
        finally:
            self.uninstall()

    # -- checking -------------------------------------------------------------------------------

    def check_socket_address(self, sock: socket.socket, address: Any, action: str) -> None:
        """Refuse ``address`` unless it is loopback or the socket is not an IP socket."""
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return  # unix sockets, netlink, …
        host = address[0] if isinstance(address, tuple) and address else address
        if not is_allowed_host(host):
            self.refuse(f"{action}({address!r})")

    def refuse(self, attempt: str) -> None:
        """Record the attempt and raise ``NetworkAccessBlocked``."""
        with self._lock:
            (self.expected if self._expecting else self.violations).append(attempt)
        raise NetworkAccessBlocked(
            f"network access outside loopback is not allowed in tests: {attempt}. "
            "Use the local fakes in tests/fakes (Telegram via base_url, Twilio via its base URL)."
        )

    @contextlib.contextmanager
    def expect_blocked(self) -> Iterator[list[str]]:
        """Collect refused attempts in the block without failing the test; yield that list."""
        with self._lock:
            self._expecting += 1
            start = len(self.expected)
        collected: list[str] = []
        try:
            yield collected
        finally:
            with self._lock:
                self._expecting -= 1
                collected.extend(self.expected[start:])
                del self.expected[start:]

    def take_violations(self) -> list[str]:
        """Return and clear the unexpected attempts recorded so far."""
        with self._lock:
            taken, self.violations = self.violations, []
            return taken


guard = NetworkGuard()


def _fail_on_violations(phase: str) -> None:
    attempts = guard.take_violations()
    if attempts:
        listed = "\n  ".join(attempts)
        pytest.fail(
            f"network access outside loopback during {phase} (blocked by tests/network_guard.py):"
            f"\n  {listed}",
            pytrace=False,
        )


def pytest_configure(config: pytest.Config) -> None:
    """Install the guard for the whole session (collection included)."""
    guard.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Restore the socket module."""
    guard.uninstall()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    """Start each test with a clean record and fail setup on blocked attempts."""
    guard.take_violations()
    try:
        return (yield)
    finally:
        _fail_on_violations("setup")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Fail the test if it tried to leave loopback, even if the error was swallowed."""
    try:
        return (yield)
    finally:
        _fail_on_violations("the test")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    """Fail teardown on blocked attempts made by fixtures' finalizers."""
    try:
        return (yield)
    finally:
        _fail_on_violations("teardown")


@pytest.fixture
def network_guard() -> Iterator[NetworkGuard]:
    """Return the active guard (installed for this test even without the plugin)."""
    with guard.installed_for() as active:
        yield active


__all__: list[str] = [
    "NetworkAccessBlocked",
    "NetworkGuard",
    "guard",
    "is_allowed_host",
    "network_guard",
]
