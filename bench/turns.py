"""Measure turns through the dispatcher: throughput, latency, and the cost of a long conversation.

Prints one JSON object. Usage: python bench/turns.py [--conversations N] [--turns T] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.channels.collecting import CollectingChannel
from bot.runtime import Runtime
from bot.wiring import crisis_check_for
from data.migrate import upgrade
from data.settings import Settings
from flows.messages import IncomingMessage
from tests import scratch_db

SCRIPT: list[tuple[str, str | None]] = [
    ("hoi", None), ("Nederlands", "lang:nl"), ("help", None), ("ik heb schulden", None), ("menu", None),
    ("Ik heb een vraag", "menu:vraag"), ("waar kan ik mijn diploma halen", None), ("privacy", None),
    ("bedankt!", None), ("menu", None),
]
PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def pct(values: list[float], q: float) -> float:
    """Return the q-quantile of values in ms."""
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)


async def run_many(rt: Runtime, conversations: int, turns: int, concurrency: int) -> dict[str, Any]:
    """Drive many conversations at once and time every turn."""
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)

    async def conversation(n: int) -> None:
        async with gate:
            for t in range(turns):
                text, payload = SCRIPT[t % len(SCRIPT)]
                msg = IncomingMessage("bench", f"bench:{n}", text, payload=payload, channel_message_id=f"{n}-{t}")
                start = time.perf_counter()
                await rt.dispatcher.handle(msg)
                latencies.append(time.perf_counter() - start)

    started = time.perf_counter()
    await asyncio.gather(*(conversation(n) for n in range(conversations)))
    elapsed = time.perf_counter() - started
    return {"turns": len(latencies), "seconds": round(elapsed, 3),
            "turns_per_s": round(len(latencies) / elapsed, 1),
            "p50_ms": pct(latencies, 0.5), "p99_ms": pct(latencies, 0.99)}


async def run_long(rt: Runtime, turns: int) -> dict[str, Any]:
    """Drive one conversation for `turns` turns and compare the cost of early and late turns."""
    costs: list[float] = []
    for t in range(turns):
        text, payload = SCRIPT[2 + t % (len(SCRIPT) - 2)]
        start = time.perf_counter()
        await rt.dispatcher.handle(IncomingMessage("bench", "bench:long", text, payload=payload,
                                                   channel_message_id=f"long-{t}"))
        costs.append(time.perf_counter() - start)
    early = statistics.median(costs[5:15])
    late = statistics.median(costs[turns - 10:turns])
    return {"turns": turns, "turn_10_ms": round(early * 1000, 3), "turn_300_ms": round(late * 1000, 3),
            "ratio": round(late / early, 2)}


async def bench_database(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run both measurements on one database, with the outbox sender running alongside."""
    from nlu import default_engine

    engine = default_engine()
    rt = Runtime(Settings(database_url=url), nlu=engine, crisis_check=crisis_check_for(engine))
    channel = CollectingChannel("bench")
    rt.add_channel(channel)
    await rt.start()
    try:
        # warm up caches and connections
        await run_many(rt, 5, 3, 5)
        many = await run_many(rt, args.conversations, args.turns, args.concurrency)
        long = await run_long(rt, args.long_turns)
        for _ in range(100):
            if len(channel.sent) > 0 and not await rt.sender.drain_once():
                break
    finally:
        await rt.stop()
    return {"many": many, "long_conversation": long, "replies_sent": len(channel.sent)}


def fresh_postgres() -> str | None:
    """Create a scratch PostgreSQL database, or None when PostgreSQL is not reachable."""
    try:
        return scratch_db.create(PG_URL, "jl_bench")
    except Exception:
        return None


def main() -> None:
    """Run the benchmark and print JSON."""
    p = argparse.ArgumentParser()
    p.add_argument("--conversations", type=int, default=300)
    p.add_argument("--turns", type=int, default=10)
    p.add_argument("--concurrency", type=int, default=20)
    p.add_argument("--long-turns", type=int, default=300)
    p.add_argument("--no-postgres", action="store_true")
    args = p.parse_args()
    result: dict[str, Any] = {"cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        result["sqlite"] = asyncio.run(bench_database(url, args))
    pg = None if args.no_postgres else fresh_postgres()
    if pg is None:
        result["postgresql"] = "skipped: not reachable"
    else:
        with ThreadPoolExecutor(1) as pool:
            pool.submit(upgrade, pg).result()
        try:
            result["postgresql"] = asyncio.run(bench_database(pg, args))
        finally:
            scratch_db.drop(PG_URL, pg)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
