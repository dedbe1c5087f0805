"""Measure the console's server time: the inbox with many open tickets, a dossier with a long history.

Prints one JSON object. Usage: python bench/console.py [--tickets N] [--messages M] [--no-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import insert

from bot.app import build_app
from bot.runtime import Runtime
from data.accounts import add_coach
from data.migrate import upgrade
from data.models import ChannelIdentity, Conversation, Jongere, Message, Ticket, utcnow
from data.settings import Settings
from tests import scratch_db

PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PASSWORD = "bench password 123"


async def fill(rt: Runtime, tickets: int, messages: int) -> tuple[int, int]:
    """Create `tickets` jongeren with an open ticket each, and one jongere with `messages` messages."""
    now = utcnow()
    async with rt.db.transaction() as s:
        await add_coach(s, name="Bench", email="bench@example.org", role="begeleider", password=PASSWORD)
        jongeren = (await s.execute(insert(Jongere).returning(Jongere.id),
                                    [{"language": "nl", "created_at": now} for _ in range(tickets)])).scalars().all()
        identities = (await s.execute(insert(ChannelIdentity).returning(ChannelIdentity.id), [
            {"jongere_id": j, "channel": "web", "address": f"web:bench-{j}", "created_at": now,
             "unreachable": False, "opted_out": False} for j in jongeren])).scalars().all()
        conversations = (await s.execute(insert(Conversation).returning(Conversation.id), [
            {"jongere_id": j, "identity_id": i, "mode": "waiting_for_coach", "flow_state": {}, "turns": 1,
             "created_at": now, "updated_at": now} for j, i in zip(jongeren, identities, strict=True)])).scalars().all()
        await s.execute(insert(Ticket), [
            {"conversation_id": c, "jongere_id": j, "kind": "crisis" if n % 50 == 0 else "mens_spreken",
             "priority": 0 if n % 50 == 0 else 1, "state": "open", "detail": {}, "created_at": now}
            for n, (c, j) in enumerate(zip(conversations, jongeren, strict=True))])
        await s.execute(insert(Message), [
            {"conversation_id": conversations[0], "direction": "in" if n % 2 else "out", "channel": "web",
             "kind": "text", "text": f"bericht {n}", "sender": "jongere" if n % 2 else "bot", "created_at": now}
            for n in range(messages)])
    return jongeren[0], conversations[0]


async def timed(client: httpx.AsyncClient, path: str, rounds: int) -> dict[str, float]:
    """Return the median and worst server time of GET `path` in ms."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        r = await client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200, (path, r.status_code)
    return {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}


async def bench(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Fill one database and time the pages."""
    rt = Runtime(Settings(database_url=url, secret_key="bench-secret"))
    jongere_id, conversation_id = await fill(rt, args.tickets, args.messages)
    transport = httpx.ASGITransport(app=build_app(rt), client=("127.0.0.1", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        page = await client.get("/console/login")
        token = CSRF.search(page.text)
        assert token is not None
        await client.post("/console/login", data={"csrf": token.group(1), "email": "bench@example.org",
                                                  "password": PASSWORD})
        result = {
            "inbox": await timed(client, "/console/inbox", args.rounds),
            "dossier": await timed(client, f"/console/jongeren/{jongere_id}", args.rounds),
            "conversation": await timed(client, f"/console/gesprekken/{conversation_id}", args.rounds),
        }
    await rt.db.dispose()
    return result


def main() -> None:
    """Run on SQLite and (when reachable) PostgreSQL; print JSON."""
    p = argparse.ArgumentParser()
    p.add_argument("--tickets", type=int, default=10_000)
    p.add_argument("--messages", type=int, default=5_000)
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--no-postgres", action="store_true")
    args = p.parse_args()
    out: dict[str, Any] = {"tickets": args.tickets, "messages": args.messages}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/console.db"
        upgrade(url)
        out["sqlite"] = asyncio.run(bench(url, args))
    if not args.no_postgres:
        try:
            pg = scratch_db.create(PG_URL, "jl_bench_console")
        except Exception as exc:
            out["postgresql"] = f"skipped: {type(exc).__name__}"
        else:
            try:
                with ThreadPoolExecutor(1) as pool:
                    pool.submit(upgrade, pg).result()
                out["postgresql"] = asyncio.run(bench(pg, args))
            finally:
                scratch_db.drop(PG_URL, pg)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
