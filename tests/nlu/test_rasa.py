"""RasaNLU against a fake Rasa server on 127.0.0.1: mapping, timeouts, errors, rate-limited warnings."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from nlu.engine import EmbeddedNLU
from nlu.rasa import RasaNLU, RasaResponseError, result_from_rasa

SECRET = "mijn geheime bericht over schulden"


def rasa_payload(text: str) -> dict[str, Any]:
    """Answer the way Rasa 3 answers /model/parse."""
    return {
        "text": text,
        "intent": {"name": "vraag_schulden", "confidence": 0.93},
        "entities": [
            {"entity": "leeftijd", "value": "24", "start": 7, "end": 9, "extractor": "DIETClassifier",
             "confidence_entity": 0.99},
            {"entity": "onderwerp_schulden", "value": "schulden", "start": 21, "end": 29,
             "extractor": "RegexEntityExtractor"},
        ],
        "intent_ranking": [{"name": name, "confidence": c} for name, c in [
            ("vraag_schulden", 0.93), ("vraag_uitkering", 0.03), ("crisis", 0.02), ("groet", 0.01),
            ("afmelden", 0.005), ("buiten_bereik", 0.005)]],
        "text_tokens": [[0, 2]],
    }


async def ok(request: Request) -> Response:
    body = await request.json()
    request.app.state.seen.append(body)
    return JSONResponse(rasa_payload(body["text"]))


async def slow(request: Request) -> Response:
    await asyncio.sleep(0.6)
    return JSONResponse(rasa_payload((await request.json())["text"]))


async def broken(request: Request) -> Response:
    return PlainTextResponse("boom", status_code=500)


async def garbage(request: Request) -> Response:
    return PlainTextResponse("<html>not json</html>")


def make_app() -> Starlette:
    app = Starlette(routes=[
        Route("/ok/model/parse", ok, methods=["POST"]),
        Route("/slow/model/parse", slow, methods=["POST"]),
        Route("/broken/model/parse", broken, methods=["POST"]),
        Route("/garbage/model/parse", garbage, methods=["POST"]),
    ])
    app.state.seen = []
    return app


@pytest.fixture(scope="module")
def fake_rasa() -> Iterator[tuple[str, Starlette]]:
    """Serve the fake Rasa app with uvicorn on a free loopback port in a background thread."""
    app = make_app()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("fake Rasa server did not start")
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    thread.join(timeout=5)
    sock.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_maps_rasa_json(fake_rasa: tuple[str, Starlette], engine: EmbeddedNLU) -> None:
    base, app = fake_rasa
    rasa = RasaNLU(f"{base}/ok/", fallback=engine)
    result = rasa.parse("ik ben 24 en heb veel schulden")
    rasa.close()
    assert app.state.seen[-1] == {"text": "ik ben 24 en heb veel schulden"}
    assert (result.intent, result.confidence) == ("vraag_schulden", 0.93)
    assert len(result.ranking) == 5
    assert result.ranking[2] == ("crisis", 0.02)
    assert result.entity_values("leeftijd") == [24]
    assert result.entity_values("onderwerp") == ["schulden"]
    assert result.entities[0].extractor == "DIETClassifier"
    assert rasa.failures == 0


@pytest.mark.parametrize("path", ["slow", "broken", "garbage"])
def test_falls_back_on_timeout_error_or_garbage(fake_rasa: tuple[str, Starlette], engine: EmbeddedNLU,
                                               path: str) -> None:
    base, _ = fake_rasa
    rasa = RasaNLU(f"{base}/{path}", fallback=engine, timeout=0.3)
    started = time.perf_counter()
    result = rasa.parse("ik zoek een baan")
    elapsed = time.perf_counter() - started
    rasa.close()
    assert result == engine.parse("ik zoek een baan")
    assert rasa.failures == 1
    assert elapsed < 0.55  # gave up after the 0.3 s timeout, did not wait for the slow answer


def test_falls_back_when_nothing_listens(engine: EmbeddedNLU) -> None:
    rasa = RasaNLU(f"http://127.0.0.1:{free_port()}", fallback=engine)
    assert rasa.parse("hoi").intent == "groet"
    assert rasa.failures == 1


def test_warning_at_most_once_per_minute_without_text(fake_rasa: tuple[str, Starlette], engine: EmbeddedNLU,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    base, _ = fake_rasa
    clock = Clock()
    rasa = RasaNLU(f"{base}/broken", fallback=engine, clock=clock)
    caplog.set_level(logging.DEBUG, logger="nlu.rasa")

    def warnings() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == "nlu.rasa" and r.levelno >= logging.WARNING]

    for _ in range(5):
        rasa.parse(SECRET)
    assert len(warnings()) == 1
    clock.now += 59
    rasa.parse(SECRET)
    assert len(warnings()) == 1
    clock.now += 1
    rasa.parse(SECRET)
    assert len(warnings()) == 2
    assert rasa.failures == 7
    rasa.close()
    for record in caplog.records:
        assert "geheime" not in record.getMessage()
        assert "schulden" not in record.getMessage()


async def test_async_parse(fake_rasa: tuple[str, Starlette], engine: EmbeddedNLU) -> None:
    base, _ = fake_rasa
    rasa = RasaNLU(f"{base}/ok", fallback=engine)
    assert (await rasa.aparse("ik heb schulden")).confidence == 0.93
    slow_rasa = RasaNLU(f"{base}/slow", fallback=engine, timeout=0.3)
    assert (await slow_rasa.aparse("ik heb schulden")).intent == "vraag_schulden"
    assert slow_rasa.failures == 1
    await rasa.aclose()
    await slow_rasa.aclose()


@pytest.mark.parametrize("payload", [None, [], {"intent": None}, {"intent": {"name": "x", "confidence": "hoog"}}])
def test_unusable_json_is_an_error(payload: Any) -> None:
    with pytest.raises(RasaResponseError):
        result_from_rasa("x", payload)


def test_minimal_json_and_fallback_intent() -> None:
    result = result_from_rasa("x", {"intent": {"name": None, "confidence": 0.2}, "entities": [{"bad": 1}]})
    assert (result.intent, result.ranking, result.entities) == ("nlu_fallback", (("nlu_fallback", 0.2),), ())
