"""Make any inbound text safe to store and read: no control characters, no broken surrogates, bounded."""

from __future__ import annotations

import re
import unicodedata

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200c\u200e\u200f\u2028-\u202e\u2060-\u206f\ufeff]")


def clean_text(text: str, limit: int) -> tuple[str, bool]:
    """Return the text cleaned and cut to `limit` characters, and whether it was cut."""
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates become "?"
    text = unicodedata.normalize("NFC", CONTROL.sub("", text)).strip()
    if len(text) > limit:
        return text[:limit], True
    return text, False
