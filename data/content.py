"""Sociale kaart and FAQ content: pydantic models, YAML loading, validation and export.

Pure Python on purpose: this module imports no other project package (and no database code), so
the bot, the flows and the coach console can all read the same content files. The YAML files in
`data/seed/` are the source; `dump_kaart`/`dump_faq` write the same format back (round-trip).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Final, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

__all__ = [
    "FAQ_FILE",
    "KAART_FILE",
    "ONDERWERPEN",
    "SEED_DIR",
    "Contact",
    "FaqEntry",
    "KaartEntry",
    "Translated",
    "dump_faq",
    "dump_kaart",
    "load_faq",
    "load_kaart",
    "parse_faq",
    "parse_kaart",
    "validate_content",
]

SEED_DIR: Final[Path] = Path(__file__).resolve().parent / "seed"
KAART_FILE: Final[Path] = SEED_DIR / "sociale_kaart.yml"
FAQ_FILE: Final[Path] = SEED_DIR / "faq.yml"

ONDERWERPEN: Final[frozenset[str]] = frozenset(
    {
        "werk",
        "opleiding",
        "schulden",
        "wonen",
        "uitkering",
        "gezondheid",
        "verslaving",
        "zorgtaken",
        "justitie",
        "netwerk",
        "crisis",
    }
)

_ID_RE: Final[re.Pattern[str]] = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class _ContentModel(BaseModel):
    """Shared config: unknown keys are errors, surrounding whitespace is stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Translated(_ContentModel):
    """A text in Dutch (leading, plain B1) and English."""

    nl: str
    en: str

    def in_lang(self, lang: str) -> str:
        """Return the text in `lang` ("nl" or "en"), falling back to Dutch."""
        if lang.lower().startswith("en") and self.en:
            return self.en
        return self.nl


class Contact(_ContentModel):
    """Public contact facts of an organisation; None where not (yet) known."""

    telefoon: str | None = None
    website: str | None = None
    chat: str | None = None

    @property
    def is_empty(self) -> bool:
        """Return True when no contact route at all is filled in."""
        return not any((self.telefoon, self.website, self.chat))


class KaartEntry(_ContentModel):
    """One organisation or programme on the sociale kaart."""

    id: str
    organisatie: str
    naam: str
    aanbod: Translated
    onderwerpen: list[str]
    min_age: int | None = None
    max_age: int | None = None
    voorwaarden: list[Translated] = Field(default_factory=list)
    doelgroep_scholier: bool = False
    vereist_uitkering: bool = False
    aanmelden: Translated
    contact: Contact = Field(default_factory=Contact)
    contact_aanvullen: bool = True
    bron: str
    last_checked: date
    eigenaar: str = "redactie"
    crisis: bool = False

    @property
    def has_contact(self) -> bool:
        """Return True when at least one contact route (phone, website, chat) is known."""
        return not self.contact.is_empty

    def fits_age(self, age: int | None) -> bool:
        """Return whether a jongere of `age` falls within the (inclusive) age limits; unknown fits."""
        if age is None:
            return True
        if self.min_age is not None and age < self.min_age:
            return False
        return not (self.max_age is not None and age > self.max_age)


class FaqEntry(_ContentModel):
    """One frequently asked question with its phrasings and a short answer."""

    id: str
    onderwerpen: list[str]
    vragen: list[str]
    antwoord: Translated
    kaart: list[str] = Field(default_factory=list)
    last_checked: date


_M = TypeVar("_M", bound=BaseModel)

_KAART_ADAPTER: Final[TypeAdapter[list[KaartEntry]]] = TypeAdapter(list[KaartEntry])
_FAQ_ADAPTER: Final[TypeAdapter[list[FaqEntry]]] = TypeAdapter(list[FaqEntry])


def _yaml_list(text: str, what: str) -> list[Any]:
    """Parse YAML text whose top level must be a list (an empty document is an empty list)."""
    data = yaml.safe_load(text)
    if data is None:
        return []
    if not isinstance(data, list):
        raise ValueError(f"{what}: top level must be a YAML list, got {type(data).__name__}")
    return data


def parse_kaart(text: str) -> list[KaartEntry]:
    """Parse sociale-kaart YAML text into entries (raises ValueError on bad structure)."""
    return _KAART_ADAPTER.validate_python(_yaml_list(text, "sociale kaart"))


def parse_faq(text: str) -> list[FaqEntry]:
    """Parse FAQ YAML text into entries (raises ValueError on bad structure)."""
    return _FAQ_ADAPTER.validate_python(_yaml_list(text, "faq"))


def load_kaart(path: str | Path = KAART_FILE) -> list[KaartEntry]:
    """Load the sociale kaart from a YAML file."""
    return parse_kaart(Path(path).read_text(encoding="utf-8"))


def load_faq(path: str | Path = FAQ_FILE) -> list[FaqEntry]:
    """Load the FAQ from a YAML file."""
    return parse_faq(Path(path).read_text(encoding="utf-8"))


def _dump(entries: Iterable[_M], path: str | Path | None) -> str:
    """Serialise models to YAML in field order, write to `path` if given, and return the text."""
    data = [entry.model_dump(mode="python") for entry in entries]
    text: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def dump_kaart(entries: Iterable[KaartEntry], path: str | Path | None = None) -> str:
    """Export sociale-kaart entries as YAML (the seed format), optionally to a file."""
    return _dump(entries, path)


def dump_faq(entries: Iterable[FaqEntry], path: str | Path | None = None) -> str:
    """Export FAQ entries as YAML (the seed format), optionally to a file."""
    return _dump(entries, path)


def _check_ids(kind: str, ids: Sequence[str]) -> list[str]:
    """Report malformed and duplicate ids."""
    problems = [f"{kind}[{i!r}]: id is not kebab-case" for i in ids if not _ID_RE.fullmatch(i)]
    problems += [f"{kind}[{i}]: duplicate id ({n}x)" for i, n in Counter(ids).items() if n > 1]
    return problems


def _check_onderwerpen(where: str, onderwerpen: Sequence[str]) -> list[str]:
    """Report an empty or unknown topic list."""
    if not onderwerpen:
        return [f"{where}: no onderwerpen"]
    return [f"{where}: unknown onderwerp {o!r}" for o in onderwerpen if o not in ONDERWERPEN]


def _check_text(where: str, text: Translated) -> list[str]:
    """Report an empty Dutch text."""
    return [] if text.nl.strip() else [f"{where}: empty nl text"]


def _check_kaart_entry(entry: KaartEntry) -> list[str]:
    """Report the problems of one sociale-kaart entry."""
    where = f"kaart[{entry.id}]"
    problems: list[str] = []
    for name in ("organisatie", "naam", "bron", "eigenaar"):
        if not str(getattr(entry, name)).strip():
            problems.append(f"{where}: empty {name}")
    problems += _check_onderwerpen(where, entry.onderwerpen)
    for name, value in (("min_age", entry.min_age), ("max_age", entry.max_age)):
        if value is not None and value < 0:
            problems.append(f"{where}: negative {name} {value}")
    if entry.min_age is not None and entry.max_age is not None and entry.min_age > entry.max_age:
        problems.append(f"{where}: min_age {entry.min_age} > max_age {entry.max_age}")
    problems += _check_text(f"{where}.aanbod", entry.aanbod)
    problems += _check_text(f"{where}.aanmelden", entry.aanmelden)
    for n, voorwaarde in enumerate(entry.voorwaarden):
        problems += _check_text(f"{where}.voorwaarden[{n}]", voorwaarde)
    if not entry.contact_aanvullen and not entry.has_contact:
        problems.append(f"{where}: contact_aanvullen is false but telefoon, website and chat are empty")
    if entry.crisis and not entry.contact.telefoon:
        problems.append(f"{where}: crisis line without telefoon")
    return problems


def _check_faq_entry(entry: FaqEntry, kaart_ids: set[str]) -> list[str]:
    """Report the problems of one FAQ entry."""
    where = f"faq[{entry.id}]"
    problems = _check_onderwerpen(where, entry.onderwerpen)
    if not entry.vragen:
        problems.append(f"{where}: no vragen")
    problems += [f"{where}: empty vraag at {n}" for n, v in enumerate(entry.vragen) if not v.strip()]
    problems += _check_text(f"{where}.antwoord", entry.antwoord)
    problems += [f"{where}: unknown kaart id {k!r}" for k in entry.kaart if k not in kaart_ids]
    return problems


def validate_content(kaart: Sequence[KaartEntry], faq: Sequence[FaqEntry]) -> list[str]:
    """Return human-readable problems in the content (an empty list means it is fine)."""
    problems = _check_ids("kaart", [e.id for e in kaart])
    problems += _check_ids("faq", [e.id for e in faq])
    for kaart_entry in kaart:
        problems += _check_kaart_entry(kaart_entry)
    kaart_ids = {e.id for e in kaart}
    for faq_entry in faq:
        problems += _check_faq_entry(faq_entry, kaart_ids)
    return problems
