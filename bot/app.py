"""The one ASGI app: web chat, webhooks and the coach console, with the runtime's lifespan."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.channels.webchat import WebChatRoutes
from bot.runtime import Runtime
from coach_console.app import console_routes

log = logging.getLogger(__name__)


def build_app(runtime: Runtime) -> Starlette:
    """Assemble the routes around a runtime; the runtime starts and stops with the app."""

    async def healthz(request: Request) -> JSONResponse:
        """Answer whether the process and its database are alive."""
        try:
            async with runtime.db.session() as session:
                await session.execute(text("SELECT 1"))
        except Exception:
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok", "channels": sorted(runtime.channels)})

    async def home(request: Request) -> Response:
        """Send visitors to the chat."""
        return RedirectResponse("/chat")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    routes = [Route("/", home), Route("/healthz", healthz), *WebChatRoutes(runtime).routes(),
              *runtime.routes(), *console_routes(runtime)]
    return Starlette(routes=routes, lifespan=lifespan)
