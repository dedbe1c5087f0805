"""Chat with the bot in a terminal: `jongerenloket chat`."""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import TextIO

from bot.channels.base import OutboundItem, SendResult
from bot.runtime import Runtime
from flows.messages import IncomingMessage, render_numbered


class TerminalChannel:
    """Prints replies, with buttons as numbered options."""

    name = "terminal"

    def __init__(self, out: TextIO) -> None:
        self.out = out

    async def send(self, item: OutboundItem) -> SendResult:
        """Print one reply."""
        self.out.write(f"\n{render_numbered(item.reply)}\n")
        self.out.flush()
        return SendResult.sent()

    async def delivered(self, items: list[OutboundItem]) -> None:
        """Nothing to wake in a terminal."""


async def chat(runtime: Runtime, inp: TextIO = sys.stdin, out: TextIO = sys.stdout) -> None:
    """Run a conversation on stdin/stdout until EOF or Ctrl-D."""
    runtime.add_channel(TerminalChannel(out))
    address = f"terminal:{uuid.uuid4()}"
    await runtime.dispatcher.handle(IncomingMessage(channel="terminal", identity=address, text="", kind="start"))
    while await runtime.sender.drain_once():
        pass
    while True:
        out.write("\n> ")
        out.flush()
        line = await asyncio.to_thread(inp.readline)
        if not line:
            out.write("\n")
            return
        await runtime.dispatcher.handle(IncomingMessage(channel="terminal", identity=address,
                                                        text=line.rstrip("\n"),
                                                        channel_message_id=str(uuid.uuid4())))
        while await runtime.sender.drain_once():
            pass
