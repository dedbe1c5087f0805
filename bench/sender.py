"""Measure the outbox sender against the fake Telegram Bot API: rate, pacing, nothing lost or doubled.

Prints one JSON object. Usage: python bench/sender.py [--messages N] [--chats C] [--rate R]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sys
import tempfile
import time
from collections import defaultdict
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.channels.telegram import TelegramChannel
from bot.sender import OutboxSender
from data import conversations
from data.db import Database
from data.migrate import upgrade_async
from data.models import OutboxItem, utcnow
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "123:BENCH"


async def fill(db: Database, messages: int, chats: int) -> None:
    """Create `chats` jongeren on Telegram and queue `messages` replies, round-robin over the chats."""
    identity_ids: list[int] = []
    async with db.transaction() as session:
        for chat in range(chats):
            ref = await conversations.create(session, "telegram", f"telegram:{1000 + chat}")
            identity_ids.append(ref.identity.id)
        now = utcnow()
        session.add_all([
            OutboxItem(identity_id=identity_ids[n % chats], channel="telegram", address=f"telegram:{1000 + n % chats}",
                       kind="reply", payload={"text": f"bericht {n // chats}", "buttons": [], "links": []},
                       state="pending", attempts=0, next_attempt_at=now, created_at=now)
            for n in range(messages)])


def serve_fake(conn: Connection, per_chat: float, burst: float) -> None:
    """Run the fake Bot API in its own process (so it does not share our interpreter) until told to stop."""
    fake = FakeTelegramAPI(token=TOKEN)
    fake.start()
    fake.rate_limit(per_chat_per_sec=per_chat, per_chat_burst=burst)
    conn.send(fake.base_url)
    conn.recv()
    conn.send(([(m.chat_id, m.text) for m in fake.sent], fake.violations))
    fake.stop()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Send everything and check what the fake received."""
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=serve_fake, args=(child, args.fake_per_chat, args.burst), daemon=True)
    process.start()
    base_url = parent.recv()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/sender.db"
        await upgrade_async(url)
        db = Database(url)
        await fill(db, args.messages, args.chats)

        async def ignore(_message: Any) -> None:
            return None

        channel = TelegramChannel(TOKEN, ignore, base_url=f"{base_url}/bot", global_rate=args.rate,
                                  per_chat_rate=args.per_chat, per_chat_burst=args.burst)
        await channel.app.initialize()
        sender = OutboxSender(db, {"telegram": channel}, batch_size=args.batch, concurrency=args.concurrency)
        started = time.perf_counter()
        while await sender.drain_once():
            pass
        elapsed = time.perf_counter() - started
        await channel.app.shutdown()
        await db.dispose()
    parent.send("stop")
    sent, violations = parent.recv()
    process.join(10)
    per_chat: dict[Any, list[int]] = defaultdict(list)
    for chat_id, text in sent:
        per_chat[chat_id].append(int(text.split()[1]))
    unique = set(sent)
    in_order = all(numbers == sorted(numbers) for numbers in per_chat.values())
    return {
        "messages": args.messages, "chats": args.chats, "global_limit_per_s": args.rate,
        "per_chat_limit_per_s": args.per_chat, "per_chat_burst": args.burst,
        "seconds": round(elapsed, 2), "achieved_per_s": round(len(sent) / elapsed, 1),
        "achieved_share_of_limit": round(len(sent) / elapsed / args.rate, 3),
        "per_chat_violations": violations, "lost": args.messages - len(unique),
        "duplicated": len(sent) - len(unique), "order_kept_per_chat": in_order,
    }


def main() -> None:
    """Parse arguments, run, print JSON."""
    p = argparse.ArgumentParser()
    p.add_argument("--messages", type=int, default=10_000)
    p.add_argument("--chats", type=int, default=500)
    p.add_argument("--rate", type=float, default=1000.0, help="global messages/s (the bot's limit)")
    p.add_argument("--per-chat", type=float, default=2.5, help="our per-chat pace")
    p.add_argument("--fake-per-chat", type=float, default=3.0, help="the per-chat limit the fake enforces")
    p.add_argument("--burst", type=float, default=3.0)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=300)
    print(json.dumps(asyncio.run(run(p.parse_args())), indent=2))


if __name__ == "__main__":
    main()
