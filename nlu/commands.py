"""Helpers behind the `jongerenloket nlu ...` CLI commands."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from nlu.crisis import CrisisDetector
from nlu.types import NluEngine


def parse_lines(lines: Iterable[str], engine: NluEngine, *, detector: CrisisDetector | None = None,
                skip_blank: bool = True) -> Iterator[dict[str, Any]]:
    """Yield {"text", "intent", "confidence", "entities"} per input line (plus "crisis" with a detector)."""
    for line in lines:
        text = line.rstrip("\r\n")
        if skip_blank and not text.strip():
            continue
        result = engine.parse(text)
        row = result.as_dict()
        if detector is not None:
            hit = detector.check(text, result)
            row["crisis"] = None if hit is None else {"reason": hit.reason, "matched": hit.matched,
                                                      "category": hit.category, "score": round(hit.score, 4)}
        yield row
