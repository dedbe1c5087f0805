"""Build a runtime from settings: NLU engine, crisis check, channels whose credentials are set."""

from __future__ import annotations

import logging
from typing import Any

from bot.dispatcher import CrisisCheck
from bot.runtime import Runtime
from data.settings import Settings
from nlu.types import NluEngine, NluResult

log = logging.getLogger(__name__)


def crisis_check_for(engine: NluEngine | None) -> CrisisCheck:
    """Return the crisis check: the phrase lexicon plus the classifier's crisis intent."""
    from nlu.crisis import CrisisDetector

    detector = CrisisDetector()

    def check(text: str, nlu: NluResult | None) -> dict[str, Any] | None:
        hit = detector.check(text, nlu)
        if hit is None:
            return None
        return {"reason": hit.reason, "category": hit.category}

    return check


def build_runtime(settings: Settings) -> Runtime:
    """Return a runtime with the configured NLU engine, the crisis detector and the kaart/FAQ answers."""
    from flows import kaart_answers
    from nlu import load_engine

    kaart_answers.install()
    engine = load_engine(settings.nlu_engine, settings.rasa_url or None)
    return Runtime(settings, nlu=engine, crisis_check=crisis_check_for(engine))
