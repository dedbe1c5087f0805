"""Structured logging: one JSON object per line, ids and numbers only — never message text or names."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON line with its `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as JSON."""
        data: dict[str, Any] = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
                                "logger": record.name, "event": record.getMessage()}
        data.update({k: v for k, v in record.__dict__.items() if k not in STANDARD})
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, ensure_ascii=False)


def setup_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Send logs to stderr in the chosen format; quiet the chatty libraries."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "telegram", "apscheduler", "aiosqlite", "asyncio", "twilio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
