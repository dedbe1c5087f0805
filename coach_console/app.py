"""The coach console. For now a page that says what is coming; the console issue builds it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

PAGE = """<!doctype html><html lang="nl"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Coachconsole</title>
<style>body{font:17px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1b1f24}</style>
</head><body><main><h1>Coachconsole</h1>
<p>Hier komen straks de inbox, dossiers, het beheer van de FAQ en sociale kaart, en de cijfers.</p>
<p>Gesprekken waarin een jongere om een medewerker vraagt, staan al klaar als ticket in de database.</p>
<p><a href="/chat">Probeer de webchat</a></p></main></body></html>"""


async def placeholder(request: Request) -> HTMLResponse:
    """Show what the console will hold."""
    return HTMLResponse(PAGE)


routes = [Route("/console", placeholder), Route("/console/", placeholder)]
