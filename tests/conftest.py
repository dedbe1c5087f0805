"""Shared fixtures: every data test runs on SQLite and, when it is reachable, on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.channels.collecting import CollectingChannel
from bot.runtime import Runtime
from data.migrate import upgrade
from data.models import Base
from data.settings import Settings

pytest_plugins = ["tests.network_guard"]

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
_pg_skip_reason: list[str] = []


def _postgres_reachable() -> str | None:
    """Return None when PostgreSQL answers at PG_URL, else why not."""
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            pass
    except OSError as exc:
        return f"PostgreSQL not reachable at 127.0.0.1:5432 ({exc.__class__.__name__})"
    return None


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate one SQLite file per test session; tests get copies of it."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str | None]:
    """Create and migrate a fresh PostgreSQL database for this test session, if PostgreSQL runs."""
    reason = _postgres_reachable()
    if reason:
        _pg_skip_reason.append(reason)
        yield None
        return
    from tests import scratch_db

    try:
        url = scratch_db.create(PG_URL, "jl_test")
    except Exception as exc:  # reachable but unusable: say so and skip
        _pg_skip_reason.append(f"PostgreSQL at {PG_URL} refused CREATE DATABASE ({exc})")
        yield None
        return
    with ThreadPoolExecutor(1) as pool:
        pool.submit(upgrade, url).result()
    yield url
    scratch_db.drop(PG_URL, url)


TABLES = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> AsyncIterator[str]:
    """Yield the URL of an empty, migrated database: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_database")
    if url is None:
        pytest.skip(f"PostgreSQL tests skipped: {_pg_skip_reason[0]}")
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()
    yield url


@pytest.fixture(scope="session")
def nlu_engine():  # type: ignore[no-untyped-def]
    """Train the embedded NLU once per test session."""
    from nlu import default_engine

    return default_engine()


@pytest.fixture
async def runtime(db_url: str, nlu_engine) -> AsyncIterator[Runtime]:  # type: ignore[no-untyped-def]
    """Yield a runtime on the test database with a CollectingChannel named `test` (sender not looping)."""
    from bot.wiring import crisis_check_for
    from flows import kaart_answers

    kaart_answers.install()
    rt = Runtime(Settings(database_url=db_url, outbox_poll_seconds=0.05), nlu=nlu_engine,
                 crisis_check=crisis_check_for(nlu_engine))
    rt.add_channel(CollectingChannel("test"))
    yield rt
    await rt.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say clearly whether the PostgreSQL half of the data tests ran."""
    if _pg_skip_reason:
        terminalreporter.write_line(f"NOTE: PostgreSQL tests were SKIPPED: {_pg_skip_reason[0]}", yellow=True)
    else:
        terminalreporter.write_line("PostgreSQL: data tests ran on SQLite and PostgreSQL.", green=True)
