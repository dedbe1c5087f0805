"""Everything one process runs: database, texts, NLU, dispatcher, channels and the outbox sender."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from bot.channels.base import OutboundChannel
from bot.channels.webchat import WebChatChannel
from bot.dispatcher import CrisisCheck, Dispatcher
from bot.sender import OutboxSender
from data.db import Database
from data.settings import Settings
from flows.texts import Texts
from nlu.types import NluEngine

log = logging.getLogger(__name__)


class Runtime:
    """Holds the long-lived parts of a running desk and starts/stops its background loops."""

    def __init__(self, settings: Settings, *, nlu: NluEngine | None = None,
                 crisis_check: CrisisCheck | None = None,
                 extra_channels: dict[str, OutboundChannel] | None = None) -> None:
        self.settings = settings
        self.db = Database(settings.database_url)
        self.texts = Texts(Path(settings.texts_dir) if settings.texts_dir else None)
        self.webchat = WebChatChannel()
        self.channels: dict[str, OutboundChannel] = {"web": self.webchat, **(extra_channels or {})}
        self.sender = OutboxSender(self.db, self.channels, lease_seconds=settings.outbox_lease_seconds,
                                   max_attempts=settings.outbox_max_attempts,
                                   poll_seconds=settings.outbox_poll_seconds)
        self.dispatcher = Dispatcher(self.db, self.texts, nlu=nlu, crisis_check=crisis_check,
                                     max_chars=settings.max_message_chars, on_outbox=self.sender.wake)
        self._tasks: list[asyncio.Task[None]] = []

    def add_channel(self, channel: OutboundChannel) -> None:
        """Register one more outbound channel."""
        self.channels[channel.name] = channel

    def routes(self) -> list[Any]:
        """Return the HTTP routes the channels bring (webhooks)."""
        found: list[Any] = []
        for channel in self.channels.values():
            routes = getattr(channel, "routes", None)
            if callable(routes):
                found.extend(routes())
        return found

    async def start(self) -> None:
        """Start the channels that receive on their own (polling, webhooks), then the outbox sender."""
        for channel in list(self.channels.values()):
            start = getattr(channel, "start", None)
            if callable(start):
                await start()
        self._tasks.append(asyncio.create_task(self.sender.run(), name="outbox-sender"))
        log.info("runtime started", extra={"channels": sorted(self.channels)})

    async def stop(self) -> None:
        """Stop the loops and close the database."""
        self.sender.stop()
        for task in self._tasks:
            try:  # let the sender finish its batch, so nothing is left half-sent
                await asyncio.wait_for(asyncio.shield(task), 10)
            except (TimeoutError, Exception):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._tasks.clear()
        for channel in list(self.channels.values()):
            stop = getattr(channel, "stop", None)
            if callable(stop):
                with contextlib.suppress(Exception):
                    await stop()
        await self.db.dispose()
