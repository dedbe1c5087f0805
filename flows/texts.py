"""User-facing texts from `flows/texts/<lang>.yml`, reloaded when staff edit the files."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml

LANGUAGES = ("nl", "en")
BUILTIN_DIR = Path(__file__).resolve().parent / "texts"
log = logging.getLogger(__name__)


class Texts:
    """Look up texts by key and language; falls back to Dutch, then to the key itself."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or BUILTIN_DIR
        self._cache: dict[str, tuple[float, dict[str, str]]] = {}

    def _table(self, lang: str) -> dict[str, str]:
        """Return the texts of one language, re-read when the file changed."""
        path = self.folder / f"{lang}.yml"
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return {}
        cached = self._cache.get(lang)
        if cached and cached[0] == mtime:
            return cached[1]
        try:
            raw: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError:
            log.error("texts file unreadable, keeping previous version", extra={"lang": lang})
            return cached[1] if cached else {}
        table = {str(k): str(v) for k, v in raw.items()}
        self._cache[lang] = (mtime, table)
        return table

    def get(self, lang: str, key: str, **values: Any) -> str:
        """Return the text `key` in `lang`, with `{name}` placeholders filled in."""
        text = self._table(lang).get(key) or self._table("nl").get(key)
        if text is None:
            log.error("missing text", extra={"key": key, "lang": lang})
            return key
        return text.format(**values) if values else text

    def keys(self, lang: str) -> set[str]:
        """Return all keys defined for `lang`."""
        return set(self._table(lang))
