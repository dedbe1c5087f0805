"""Wake the console's live streams in this process when something changed (the database stays the truth)."""

from __future__ import annotations

import asyncio
import contextlib


class Hub:
    """A broadcast doorbell: `notify()` wakes every stream waiting in `wait()`."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Event] = set()

    def notify(self, *_: object) -> None:
        """Wake every waiting stream."""
        for event in list(self._waiters):
            event.set()

    async def wait(self, timeout: float) -> None:
        """Wait until notified or until `timeout` seconds pass."""
        event = asyncio.Event()
        self._waiters.add(event)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)
        finally:
            self._waiters.discard(event)
