"""Natural language understanding: text in, intent + confidence + entities out (no project imports).

Heavy modules (scikit-learn, httpx) load lazily, so `import nlu.types` stays cheap.
"""

from __future__ import annotations

import importlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nlu.types import FALLBACK_INTENT, Entity, NluEngine, NluResult

if TYPE_CHECKING:
    from nlu.crisis import CrisisDetector, CrisisHit, CrisisLexicon
    from nlu.engine import EmbeddedNLU
    from nlu.rasa import RasaNLU
    from nlu.training_data import DATA_DIR, TrainingData, load_training_data

__all__ = [
    "DATA_DIR",
    "FALLBACK_INTENT",
    "CrisisDetector",
    "CrisisHit",
    "CrisisLexicon",
    "EmbeddedNLU",
    "Entity",
    "NluEngine",
    "NluResult",
    "RasaNLU",
    "TrainingData",
    "default_crisis_detector",
    "default_engine",
    "load_engine",
    "load_training_data",
]

_LAZY = {
    "CrisisDetector": "nlu.crisis", "CrisisHit": "nlu.crisis", "CrisisLexicon": "nlu.crisis",
    "EmbeddedNLU": "nlu.engine", "RasaNLU": "nlu.rasa", "DATA_DIR": "nlu.training_data",
    "TrainingData": "nlu.training_data", "load_training_data": "nlu.training_data",
}

_lock = threading.Lock()
_engines: dict[Path, EmbeddedNLU] = {}
_detectors: dict[Path, CrisisDetector] = {}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nlu' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def _key(data_dir: Path | None) -> Path:
    from nlu.training_data import DATA_DIR

    return Path(data_dir or DATA_DIR).resolve()


def default_engine(data_dir: Path | None = None) -> EmbeddedNLU:
    """Return the embedded engine trained on `data_dir` (default: nlu/data), built once per process."""
    from nlu.engine import EmbeddedNLU

    key = _key(data_dir)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = EmbeddedNLU(data_dir=key)
        return engine


def default_crisis_detector(data_dir: Path | None = None) -> CrisisDetector:
    """Return a crisis detector (lexicon + the default engine's classifier), built once per process."""
    from nlu.crisis import CrisisDetector, CrisisLexicon

    key = _key(data_dir)
    engine = default_engine(key)
    with _lock:
        detector = _detectors.get(key)
        if detector is None:
            lexicon_file = key / "crisis_lexicon.yml"
            lexicon = CrisisLexicon.from_file(lexicon_file if lexicon_file.exists() else None)
            detector = _detectors[key] = CrisisDetector(lexicon, engine=engine)
        return detector


def load_engine(engine: str = "embedded", rasa_url: str | None = None,
                data_dir: Path | None = None) -> NluEngine:
    """Return the configured engine: "embedded", or "rasa" (needs `rasa_url`; falls back to embedded)."""
    name = engine.strip().lower()
    if name == "embedded":
        return default_engine(data_dir)
    if name == "rasa":
        if not rasa_url:
            raise ValueError("NLU engine 'rasa' needs a Rasa URL (RASA_URL)")
        from nlu.rasa import RasaNLU

        return RasaNLU(rasa_url, fallback=default_engine(data_dir))
    raise ValueError(f"unknown NLU engine {engine!r}: use 'embedded' or 'rasa'")
