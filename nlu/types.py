"""Plain result types of the NLU layer: text in, intent + confidence + entities out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

FALLBACK_INTENT = "nlu_fallback"


@dataclass(frozen=True)
class Entity:
    """One entity found in a text, in Rasa's shape."""

    entity: str
    value: Any
    start: int
    end: int
    extractor: str = "embedded"

    def as_dict(self) -> dict[str, Any]:
        """Return the entity as Rasa's JSON shape."""
        return {"entity": self.entity, "value": self.value, "start": self.start, "end": self.end,
                "extractor": self.extractor}


@dataclass(frozen=True)
class NluResult:
    """What the NLU made of one text."""

    text: str
    intent: str
    confidence: float
    entities: tuple[Entity, ...] = field(default_factory=tuple)
    ranking: tuple[tuple[str, float], ...] = field(default_factory=tuple)

    def entity_values(self, name: str) -> list[Any]:
        """Return the values of all entities called `name`."""
        return [e.value for e in self.entities if e.entity == name]

    def as_dict(self) -> dict[str, Any]:
        """Return the result as the JSON shape the CLI prints."""
        return {"text": self.text, "intent": self.intent, "confidence": round(self.confidence, 4),
                "entities": [e.as_dict() for e in self.entities]}


class NluEngine(Protocol):
    """Anything that turns a text into an NluResult."""

    def parse(self, text: str) -> NluResult:
        """Parse one text."""
        ...
