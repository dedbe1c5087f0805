"""Adapter for a Rasa server's `/model/parse` API, falling back to the embedded engine on any failure."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from nlu.entities import TOPIC_PREFIX
from nlu.types import FALLBACK_INTENT, Entity, NluEngine, NluResult

log = logging.getLogger(__name__)

WARN_INTERVAL_SECONDS = 60.0
RANKING_SIZE = 5


class RasaResponseError(ValueError):
    """The Rasa server answered with JSON we cannot use."""


def _entity(raw: Any) -> Entity | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("entity"), str):
        return None
    name: str = raw["entity"]
    value = raw.get("value")
    # Rasa's RegexEntityExtractor names entities after the lookup table (`onderwerp_schulden`);
    # the embedded engine reports them as `onderwerp` with the topic as value. Speak one language.
    if name.startswith(TOPIC_PREFIX):
        name, value = "onderwerp", name[len(TOPIC_PREFIX):]
    elif name == "leeftijd":
        try:
            value = int(str(value).strip())
        except ValueError:
            return None
    try:
        start, end = int(raw.get("start", 0)), int(raw.get("end", 0))
    except (TypeError, ValueError):
        start, end = 0, 0
    extractor = str(raw.get("extractor") or "rasa")
    return Entity(entity=name, value=value, start=start, end=end, extractor=extractor)


def result_from_rasa(text: str, payload: Any) -> NluResult:
    """Map Rasa's parse JSON (`intent`, `entities`, `intent_ranking`) to an NluResult."""
    if not isinstance(payload, dict) or not isinstance(payload.get("intent"), dict):
        raise RasaResponseError("response has no 'intent' object")
    intent = payload["intent"]
    name = intent.get("name") or FALLBACK_INTENT
    try:
        confidence = float(intent.get("confidence") or 0.0)
    except (TypeError, ValueError) as exc:
        raise RasaResponseError("intent confidence is not a number") from exc
    ranking: list[tuple[str, float]] = []
    for item in payload.get("intent_ranking") or []:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            try:
                ranking.append((item["name"], float(item.get("confidence") or 0.0)))
            except (TypeError, ValueError):
                continue
    if not ranking:
        ranking = [(str(name), confidence)]
    entities = tuple(e for e in (_entity(raw) for raw in payload.get("entities") or []) if e is not None)
    return NluResult(text=text, intent=str(name), confidence=confidence, entities=entities,
                     ranking=tuple(ranking[:RANKING_SIZE]))


class RasaNLU:
    """Parse through a Rasa server; on an error or timeout use the fallback engine instead."""

    def __init__(self, url: str, fallback: NluEngine, timeout: float = 0.3, *,
                 token: str | None = None, clock: Callable[[], float] = time.monotonic,
                 warn_interval: float = WARN_INTERVAL_SECONDS) -> None:
        self.url = url.rstrip("/")
        self.fallback = fallback
        self.timeout = timeout
        self.token = token
        self.warn_interval = warn_interval
        self._clock = clock
        self._last_warning: float | None = None
        self._warn_lock = threading.Lock()
        self._client: httpx.Client | None = None
        self._async: tuple[asyncio.AbstractEventLoop, httpx.AsyncClient] | None = None
        self.failures = 0

    @property
    def endpoint(self) -> str:
        """Return the full parse URL."""
        return f"{self.url}/model/parse"

    def _params(self) -> dict[str, str]:
        return {"token": self.token} if self.token else {}

    def _failed(self, exc: BaseException) -> None:
        self.failures += 1
        now = self._clock()
        with self._warn_lock:
            due = self._last_warning is None or now - self._last_warning >= self.warn_interval
            if due:
                self._last_warning = now
        if due:
            # Never log the message text here: it is personal data.
            log.warning("Rasa NLU at %s failed (%s); using the embedded engine", self.endpoint,
                        type(exc).__name__)
        else:
            log.debug("Rasa NLU failed again (%s)", type(exc).__name__)

    def parse(self, text: str) -> NluResult:
        """Parse `text` with Rasa (blocking, at most `timeout` s per phase) or the fallback engine."""
        try:
            if self._client is None:
                self._client = httpx.Client(timeout=self.timeout)
            response = self._client.post(self.endpoint, json={"text": text}, params=self._params())
            response.raise_for_status()
            return result_from_rasa(text, response.json())
        except Exception as exc:  # any failure at all means: answer from the embedded engine
            self._failed(exc)
            return self.fallback.parse(text)

    async def aparse(self, text: str) -> NluResult:
        """Parse `text` with Rasa without blocking the event loop, or with the fallback engine."""
        try:
            client = self._async_client()
            response = await client.post(self.endpoint, json={"text": text}, params=self._params())
            response.raise_for_status()
            return result_from_rasa(text, response.json())
        except Exception as exc:
            self._failed(exc)
            return self.fallback.parse(text)

    def _async_client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._async is None or self._async[0] is not loop or self._async[1].is_closed:
            self._async = (loop, httpx.AsyncClient(timeout=self.timeout))
        return self._async[1]

    def close(self) -> None:
        """Close the synchronous HTTP client."""
        if self._client is not None:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        """Close both HTTP clients."""
        self.close()
        if self._async is not None:
            await self._async[1].aclose()
            self._async = None
