"""Scratch PostgreSQL databases for tests and benchmarks: create one beside a server's URL, drop it after."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor


def run_admin(admin_url: str, sql: str) -> None:
    """Run one statement on the server, in a thread of its own (the caller may be inside an event loop)."""
    import asyncpg

    async def execute() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, execute()).result()


def create(admin_url: str, prefix: str) -> str:
    """Create an empty database named `<prefix>_<random>` and return its URL (raises when refused)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    run_admin(admin_url, f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop(admin_url: str, url: str) -> None:
    """Drop a database made by `create`, even while connections to it are open."""
    run_admin(admin_url, f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
