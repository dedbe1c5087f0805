"""Content work for the redactie without HTTP: kaart forms, Dutch messages, version history, question groups.

Kept apart from `service.py` (chats and dossiers): nothing here touches personal data. Unanswered
questions are stored as scrubbed text only (`data.content_store.record_unanswered`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from data.content import ONDERWERPEN, KaartEntry, validate_content
from data.models import AuditLog, Coach, UnansweredQuestion

CHECK_AFTER_MONTHS: Final = 6
"""A kaart entry not checked for this many months is flagged "controleren"."""
SIMILAR_AT: Final = 80
"""rapidfuzz token_set_ratio (0-100) from which two questions count as the same question."""
MAX_AGE: Final = 120

ACTION_NAMES: Final = {"created": "nieuw gemaakt", "updated": "gewijzigd", "deleted": "verwijderd"}

FIELD_LABELS: Final = {
    "id": "Korte naam (id)", "organisatie": "Organisatie", "naam": "Naam van het aanbod", "aanbod": "Aanbod",
    "onderwerpen": "Onderwerpen", "min_age": "Minimumleeftijd", "max_age": "Maximumleeftijd",
    "voorwaarden": "Voorwaarden", "doelgroep_scholier": "Alleen voor scholieren",
    "vereist_uitkering": "Alleen met een uitkering", "aanmelden": "Zo meld je je aan", "contact": "Contact",
    "contact_aanvullen": "Contactgegevens nog aanvullen", "bron": "Bron", "last_checked": "Laatst gecontroleerd",
    "eigenaar": "Eigenaar", "crisis": "Crisislijn", "vragen": "Vragen", "antwoord": "Antwoord",
    "kaart": "Plekken op de sociale kaart",
}

# validate_content's English problems → plain Dutch for staff, with the form field they belong to.
_PROBLEMS: Final[list[tuple[re.Pattern[str], str, str]]] = [
    (re.compile(r"id is not kebab-case"), "id",
     "De korte naam (id) mag alleen kleine letters, cijfers en streepjes hebben, bijvoorbeeld: huur-hulp."),
    (re.compile(r"duplicate id"), "id", "Deze korte naam (id) bestaat al. Kies een andere."),
    (re.compile(r": empty organisatie$"), "organisatie", "Vul de naam van de organisatie in."),
    (re.compile(r": empty naam$"), "naam", "Vul de naam van het aanbod in."),
    (re.compile(r": empty bron$"), "bron", "Vul de bron in: waar komt deze informatie vandaan?"),
    (re.compile(r": empty eigenaar$"), "eigenaar", "Vul de eigenaar in (wie houdt dit bij)."),
    (re.compile(r": no onderwerpen$"), "onderwerpen", "Kies minstens één onderwerp."),
    (re.compile(r": unknown onderwerp '([^']*)'"), "onderwerpen",
     "Het onderwerp '{0}' kennen we niet. Kies een onderwerp uit de lijst."),
    (re.compile(r": negative min_age"), "min_age", "De minimumleeftijd kan niet kleiner zijn dan 0."),
    (re.compile(r": negative max_age"), "max_age", "De maximumleeftijd kan niet kleiner zijn dan 0."),
    (re.compile(r": min_age (\d+) > max_age (\d+)"), "min_age",
     "De minimumleeftijd ({0}) is hoger dan de maximumleeftijd ({1})."),
    (re.compile(r"\.aanbod: empty nl text"), "aanbod_nl", "Vul het aanbod in het Nederlands in."),
    (re.compile(r"\.aanmelden: empty nl text"), "aanmelden_nl", "Vul in het Nederlands in hoe je je aanmeldt."),
    (re.compile(r"\.voorwaarden\[(\d+)\]: empty nl text"), "voorwaarden_nl",
     "Voorwaarde {0} heeft geen Nederlandse tekst."),
    (re.compile(r"contact_aanvullen is false"), "telefoon",
     "Vul een telefoonnummer, website of chat in. Of zet aan: 'Contactgegevens moeten nog worden aangevuld'."),
    (re.compile(r"crisis line without telefoon"), "telefoon", "Een crisislijn moet een telefoonnummer hebben."),
    (re.compile(r": no vragen$"), "vragen", "Vul minstens één vraag in."),
    (re.compile(r": empty vraag at"), "vragen", "Er staat een lege vraag in de lijst."),
    (re.compile(r"\.antwoord: empty nl text"), "antwoord_nl", "Vul het antwoord in het Nederlands in."),
    (re.compile(r": unknown kaart id '([^']*)'"), "kaart",
     "De plek '{0}' staat niet op de sociale kaart. Kijk de korte naam (id) na."),
]


@dataclass(frozen=True)
class Problem:
    """One thing the redacteur must fix, and the form field it is about (for the link and aria-describedby)."""

    field: str
    text: str


def dutch(problem: str) -> Problem:
    """Return a validation problem of `validate_content` as a plain Dutch message."""
    for pattern, field_id, text in _PROBLEMS:
        found = pattern.search(problem)
        if found:
            groups = [str(int(g) + 1) if pattern.pattern.startswith(r"\.voorwaarden") else g
                      for g in found.groups()]
            return Problem(field_id, text.format(*groups))
    return Problem("", problem)


def dutch_all(problems: str | Sequence[str]) -> list[Problem]:
    """Return Dutch messages for '; '-joined problems (a ValueError's text) or a list of them."""
    parts = [p.strip() for p in problems.split(";")] if isinstance(problems, str) else list(problems)
    return [dutch(p) for p in parts if p]


def months_before(day: date, months: int) -> date:
    """Return the same day `months` months earlier (the month's last day when it is shorter)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    for last in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def needs_check(entry: KaartEntry, today: date | None = None) -> bool:
    """Tell whether a kaart entry was last checked more than six months ago."""
    return entry.last_checked < months_before(today or date.today(), CHECK_AFTER_MONTHS)


# --- the kaart form --------------------------------------------------------------------------------

KAART_TEXT_FIELDS: Final = ("id", "organisatie", "naam", "aanbod_nl", "aanbod_en", "min_age", "max_age",
                            "voorwaarden_nl", "voorwaarden_en", "aanmelden_nl", "aanmelden_en", "telefoon",
                            "website", "chat", "bron", "eigenaar", "sinds")
KAART_FLAGS: Final = ("doelgroep_scholier", "vereist_uitkering", "contact_aanvullen", "crisis", "gecontroleerd")


def kaart_values(entry: KaartEntry | None) -> dict[str, Any]:
    """Return the form values for an entry (or the defaults of a new one)."""
    if entry is None:
        values: dict[str, Any] = {name: "" for name in KAART_TEXT_FIELDS}
        values.update(onderwerpen=[], eigenaar="redactie", doelgroep_scholier=False, vereist_uitkering=False,
                      contact_aanvullen=True, crisis=False, gecontroleerd=True, last_checked=None)
        return values
    return {
        "id": entry.id, "organisatie": entry.organisatie, "naam": entry.naam, "aanbod_nl": entry.aanbod.nl,
        "aanbod_en": entry.aanbod.en, "onderwerpen": list(entry.onderwerpen),
        "min_age": "" if entry.min_age is None else str(entry.min_age),
        "max_age": "" if entry.max_age is None else str(entry.max_age),
        "voorwaarden_nl": "\n".join(v.nl for v in entry.voorwaarden),
        "voorwaarden_en": "\n".join(v.en for v in entry.voorwaarden),
        "aanmelden_nl": entry.aanmelden.nl, "aanmelden_en": entry.aanmelden.en,
        "telefoon": entry.contact.telefoon or "", "website": entry.contact.website or "",
        "chat": entry.contact.chat or "", "bron": entry.bron, "eigenaar": entry.eigenaar, "sinds": "",
        "doelgroep_scholier": entry.doelgroep_scholier, "vereist_uitkering": entry.vereist_uitkering,
        "contact_aanvullen": entry.contact_aanvullen, "crisis": entry.crisis, "gecontroleerd": True,
        "last_checked": entry.last_checked,
    }


def kaart_values_from(form: FormData) -> dict[str, Any]:
    """Return the posted kaart form as values (texts trimmed, check boxes as booleans)."""
    values: dict[str, Any] = {name: str(form.get(name, "")).replace("\r\n", "\n").strip()[:4000]
                              for name in KAART_TEXT_FIELDS}
    values["onderwerpen"] = [str(v) for v in form.getlist("onderwerpen")][:20]
    for name in KAART_FLAGS:
        values[name] = form.get(name) == "ja"
    values["last_checked"] = None
    return values


def _age(values: Mapping[str, Any], name: str, label: str, problems: list[Problem]) -> int | None:
    """Read an optional age field; note a problem when it is not a whole number from 0 to 120."""
    raw = str(values.get(name, "")).strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > MAX_AGE:
        problems.append(Problem(name, f"{label} moet een heel getal zijn van 0 tot en met {MAX_AGE}, of leeg."))
        return None
    return int(raw)


def _lines(text: str) -> list[str]:
    """Return the non-empty lines of a text area."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def kaart_entry_from(values: Mapping[str, Any], previous: KaartEntry | None, today: date | None = None
                     ) -> tuple[KaartEntry | None, list[Problem]]:
    """Build a kaart entry from form values; return it, or None and the Dutch problems to show."""
    problems: list[Problem] = []
    required = (("organisatie", "Vul de naam van de organisatie in."), ("naam", "Vul de naam van het aanbod in."),
                ("aanbod_nl", "Vul het aanbod in het Nederlands in."),
                ("aanmelden_nl", "Vul in het Nederlands in hoe je je aanmeldt."),
                ("bron", "Vul de bron in: waar komt deze informatie vandaan?"))
    problems += [Problem(name, text) for name, text in required if not str(values.get(name, "")).strip()]
    topics = list(values.get("onderwerpen", []))
    if not topics:
        problems.append(Problem("onderwerpen", "Kies minstens één onderwerp."))
    problems += [Problem("onderwerpen", f"Het onderwerp '{t}' kennen we niet. Kies een onderwerp uit de lijst.")
                 for t in topics if t not in ONDERWERPEN]
    min_age = _age(values, "min_age", "De minimumleeftijd", problems)
    max_age = _age(values, "max_age", "De maximumleeftijd", problems)
    if min_age is not None and max_age is not None and min_age > max_age:
        problems.append(Problem("min_age", f"De minimumleeftijd ({min_age}) is hoger dan de maximumleeftijd "
                                           f"({max_age}). Draai ze om of pas er één aan."))
    conditions_nl, conditions_en = _lines(values.get("voorwaarden_nl", "")), _lines(values.get("voorwaarden_en", ""))
    if len(conditions_en) > len(conditions_nl):
        problems.append(Problem("voorwaarden_en", "Er staan meer Engelse dan Nederlandse voorwaarden. "
                                                  "Zet elke voorwaarde op dezelfde regel in beide talen."))
    if problems:
        return None, problems
    checked = (today or date.today()) if values.get("gecontroleerd") or previous is None else previous.last_checked
    try:
        entry = KaartEntry.model_validate({
            "id": values["id"], "organisatie": values["organisatie"], "naam": values["naam"],
            "aanbod": {"nl": values["aanbod_nl"], "en": values["aanbod_en"]}, "onderwerpen": topics,
            "min_age": min_age, "max_age": max_age,
            "voorwaarden": [{"nl": nl, "en": conditions_en[i] if i < len(conditions_en) else ""}
                            for i, nl in enumerate(conditions_nl)],
            "doelgroep_scholier": bool(values.get("doelgroep_scholier")),
            "vereist_uitkering": bool(values.get("vereist_uitkering")),
            "aanmelden": {"nl": values["aanmelden_nl"], "en": values["aanmelden_en"]},
            "contact": {"telefoon": values["telefoon"] or None, "website": values["website"] or None,
                        "chat": values["chat"] or None},
            "contact_aanvullen": bool(values.get("contact_aanvullen")), "bron": values["bron"],
            "last_checked": checked, "eigenaar": values["eigenaar"] or "redactie",
            "crisis": bool(values.get("crisis"))})
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        return None, [Problem("", f"Dit klopt nog niet: {exc}")]
    return entry, dutch_all(validate_content([entry], []))


# --- version history ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    """One audited change of a content entry, with the version it replaced."""

    id: int
    at: datetime
    who: str
    action: str
    previous: dict[str, Any] | None
    reverted_from: int | None


async def actor_names(session: AsyncSession, actors: Sequence[str]) -> dict[str, str]:
    """Return display names for audit actors ("coach:<id>" → the coach's name; others as they are)."""
    ids = {int(a.split(":", 1)[1]) for a in actors if a.startswith("coach:") and a.split(":", 1)[1].isdigit()}
    names = dict((await session.execute(select(Coach.id, Coach.name).where(Coach.id.in_(ids)))).tuples().all()) \
        if ids else {}
    out = {"seed": "eerste vulling", "system": "systeem"}
    for actor in actors:
        if actor.startswith("coach:") and actor[6:].isdigit():
            out[actor] = names.get(int(actor[6:]), "onbekende medewerker")
    return out


def to_changes(rows: Sequence[AuditLog], names: Mapping[str, str]) -> list[Change]:
    """Return audit rows as changes for the history page."""
    changes = []
    for row in rows:
        detail = row.detail or {}
        previous = detail.get("previous")
        reverted = detail.get("reverted_from")
        changes.append(Change(id=row.id, at=row.at, who=names.get(row.actor, row.actor),
                              action=ACTION_NAMES.get(row.action.rsplit("_", 1)[-1], row.action),
                              previous=previous if isinstance(previous, dict) else None,
                              reverted_from=reverted if isinstance(reverted, int) else None))
    return changes


def show_value(value: Any) -> str:
    """Return a stored field value as readable text."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, dict):
        parts = [f"{k}: {show_value(v)}" for k, v in value.items() if v not in (None, "")]
        return "; ".join(parts) if parts else "—"
    if isinstance(value, list):
        return "\n".join(show_value(v) for v in value) if value else "—"
    return str(value)


def compare(old: Mapping[str, Any], now: Mapping[str, Any] | None) -> list[tuple[str, str, str, bool]]:
    """Return (label, old text, current text, differs) per field, in the entry's field order."""
    keys = list(old) + [k for k in (now or {}) if k not in old]
    rows = []
    for key in keys:
        before, current = show_value(old.get(key)), show_value((now or {}).get(key))
        rows.append((FIELD_LABELS.get(key, key), before, current if now is not None else "(bestaat niet meer)",
                     now is None or before != current))
    return rows


# --- unanswered questions ---------------------------------------------------------------------------

@dataclass
class QuestionGroup:
    """Unanswered questions that ask the same thing, with how often they were asked together."""

    questions: list[UnansweredQuestion] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Return how often the questions of this group were asked."""
        return sum(q.count for q in self.questions)

    @property
    def title(self) -> str:
        """Return the most asked phrasing."""
        return self.questions[0].text

    @property
    def ids(self) -> list[int]:
        """Return the ids of the questions."""
        return [q.id for q in self.questions]


def _fold(text: str) -> str:
    """Return the comparison form of a question."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def similar(a: str, b: str, threshold: int = SIMILAR_AT) -> bool:
    """Tell whether two questions ask the same thing (token set ratio, and not a few words inside a long one)."""
    fa, fb = _fold(a), _fold(b)
    if not fa or not fb:
        return False
    words_a, words_b = len(fa.split()), len(fb.split())
    if min(words_a, words_b) * 2 < max(words_a, words_b):  # "huur" is not the same as a long question about huur
        return fuzz.ratio(fa, fb) >= threshold
    return fuzz.token_set_ratio(fa, fb) >= threshold


def group_questions(questions: Sequence[UnansweredQuestion], threshold: int = SIMILAR_AT) -> list[QuestionGroup]:
    """Group similar questions; each group is led by its most asked phrasing, the most asked group first."""
    ordered = sorted(questions, key=lambda q: (-q.count, -(q.last_seen_at.timestamp() if q.last_seen_at else 0),
                                               q.id))
    groups: list[QuestionGroup] = []
    for question in ordered:
        for group in groups:
            if any(similar(question.text, member.text, threshold) for member in group.questions[:5]):
                group.questions.append(question)
                break
        else:
            groups.append(QuestionGroup([question]))
    groups.sort(key=lambda g: (-g.total, g.questions[0].id))
    return groups
