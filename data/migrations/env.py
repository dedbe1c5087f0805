"""Alembic environment: runs the migrations on the async engine of the configured database."""

import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from data.db import async_url
from data.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations(connection):  # type: ignore[no-untyped-def]
    """Run the migrations on one connection."""
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_async() -> None:
    """Connect and migrate."""
    engine = create_async_engine(async_url(config.get_main_option("sqlalchemy.url")))
    async with engine.connect() as connection:
        await connection.run_sync(run_migrations)
        await connection.commit()
    await engine.dispose()


asyncio.run(run_async())
