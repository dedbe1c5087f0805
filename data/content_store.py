"""Sociale kaart and FAQ in the database: seed from YAML, load, save, export, and a cheap change stamp.

The database is where the bot reads its content; the YAML files in `data/seed/` are the seed and the
export format. Every write goes through this module, so `content_stamp` changes with every edit and
the bot's in-process cache picks it up without a restart.

Also here: the questions the bot could not answer (`record_unanswered`), stored as text only.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final, NamedTuple, cast

from pydantic import ValidationError
from sqlalchemy import Select, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from data.content import (
    FAQ_FILE,
    KAART_FILE,
    FaqEntry,
    KaartEntry,
    dump_faq,
    dump_kaart,
    load_faq,
    load_kaart,
    validate_content,
)
from data.models import AuditLog, ContentVersion, FaqRecord, KaartRecord, UnansweredQuestion, utcnow

__all__ = [
    "ContentStamp",
    "content_change",
    "content_history",
    "content_stamp",
    "delete_faq_entry",
    "delete_kaart_entry",
    "delete_unanswered",
    "export_yaml",
    "list_unanswered",
    "load_all",
    "record_unanswered",
    "save_faq_entry",
    "save_kaart_entry",
    "scrub",
    "seed_if_empty",
    "unanswered_by_ids",
]

log = logging.getLogger(__name__)

EXPORT_FILES: Final = ("sociale_kaart.yml", "faq.yml")
UNANSWERED_MAX_CHARS: Final = 500

_EMAIL_RE: Final = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_NUMBER_RE: Final = re.compile(r"\+?\d[\d\s().-]{5,}\d")  # phone, BSN, IBAN digits: 7+ digit characters
_POSTCODE_RE: Final = re.compile(r"\b\d{4}\s?[a-zA-Z]{2}\b")
_LETTER_RE: Final = re.compile(r"[^\W\d_]")


class ContentStamp(NamedTuple):
    """What changes whenever the content changes; equal stamps mean equal content."""

    kaart_count: int
    kaart_updated: datetime | None
    faq_count: int
    faq_updated: datetime | None
    version: int


def _insert(session: AsyncSession, model: type[Any]) -> Any:
    """Return an INSERT for `model` in the session's dialect (for ON CONFLICT clauses)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


async def _bump_version(session: AsyncSession) -> None:
    """Count one content change."""
    now = utcnow()
    stmt = _insert(session, ContentVersion).values(id=1, version=1, updated_at=now)
    stmt = stmt.on_conflict_do_update(index_elements=["id"],
                                      set_={"version": ContentVersion.version + 1, "updated_at": now})
    await session.execute(stmt)


def _audit(session: AsyncSession, actor: str, action: str, subject_type: str, subject_id: str,
           previous: dict[str, Any] | None = None, extra: dict[str, Any] | None = None) -> None:
    """Note who changed which content record, keeping the entry as it was before (the version history)."""
    session.add(AuditLog(actor=actor, action=action, subject_type=subject_type, subject_id=subject_id,
                         detail={"previous": previous, **(extra or {})}, at=utcnow()))


async def content_stamp(session: AsyncSession) -> ContentStamp:
    """Return the counts, newest change times and version of the content, in one small query."""
    row = (await session.execute(select(
        select(func.count()).select_from(KaartRecord).scalar_subquery(),
        select(func.max(KaartRecord.updated_at)).scalar_subquery(),
        select(func.count()).select_from(FaqRecord).scalar_subquery(),
        select(func.max(FaqRecord.updated_at)).scalar_subquery(),
        select(ContentVersion.version).where(ContentVersion.id == 1).scalar_subquery(),
    ))).one()
    return ContentStamp(int(row[0] or 0), row[1], int(row[2] or 0), row[3], int(row[4] or 0))


async def seed_if_empty(session: AsyncSession, *, kaart_path: str | Path = KAART_FILE,
                        faq_path: str | Path = FAQ_FILE, actor: str = "seed") -> tuple[int, int]:
    """Load the seed YAML into each content table that is empty; return how many entries were added.

    Safe when several processes start at once: rows that another process inserted first are skipped.
    Raises ValueError when the seed files do not pass `validate_content`.
    """
    has_kaart = (await session.execute(select(KaartRecord.id).limit(1))).first() is not None
    has_faq = (await session.execute(select(FaqRecord.id).limit(1))).first() is not None
    if has_kaart and has_faq:
        return 0, 0
    kaart, faq = load_kaart(kaart_path), load_faq(faq_path)
    problems = validate_content(kaart, faq)
    if problems:
        raise ValueError("seed content is invalid: " + "; ".join(problems[:10]))
    added_kaart = 0 if has_kaart else await _insert_new(session, KaartRecord, kaart, actor)
    added_faq = 0 if has_faq else await _insert_new(session, FaqRecord, faq, actor)
    await _bump_version(session)
    log.info("content seeded", extra={"kaart": added_kaart, "faq": added_faq})
    return added_kaart, added_faq


async def _insert_new(session: AsyncSession, model: type[KaartRecord] | type[FaqRecord],
                      entries: Sequence[KaartEntry | FaqEntry], actor: str) -> int:
    """Insert entries in file order, skipping ids that exist already; return how many were offered."""
    if not entries:
        return 0
    now = utcnow()
    rows = [{"id": e.id, "data": e.model_dump(mode="json"), "position": i, "updated_at": now,
             "updated_by": actor} for i, e in enumerate(entries)]
    await session.execute(_insert(session, model).values(rows).on_conflict_do_nothing(index_elements=["id"]))
    return len(rows)


def _ordered(model: type[KaartRecord] | type[FaqRecord]) -> Select[Any]:
    """Select the rows of a content table in file order."""
    return select(model).order_by(model.position, model.id)


async def load_all(session: AsyncSession) -> tuple[list[KaartEntry], list[FaqEntry]]:
    """Return every valid sociale-kaart and FAQ entry, in file order; invalid rows are skipped and logged."""
    kaart: list[KaartEntry] = []
    for record in (await session.execute(_ordered(KaartRecord))).scalars():
        try:
            kaart.append(KaartEntry.model_validate(record.data))
        except ValidationError as exc:
            log.error("invalid kaart entry skipped", extra={"id": record.id, "errors": exc.error_count()})
    faq: list[FaqEntry] = []
    for record in (await session.execute(_ordered(FaqRecord))).scalars():
        try:
            faq.append(FaqEntry.model_validate(record.data))
        except ValidationError as exc:
            log.error("invalid faq entry skipped", extra={"id": record.id, "errors": exc.error_count()})
    return kaart, faq


async def _next_position(session: AsyncSession, model: type[KaartRecord] | type[FaqRecord]) -> int:
    """Return the position after the last row."""
    highest = (await session.execute(select(func.max(model.position)))).scalar_one_or_none()
    return 0 if highest is None else int(highest) + 1


async def save_kaart_entry(session: AsyncSession, entry: KaartEntry, actor: str,
                           extra: dict[str, Any] | None = None) -> None:
    """Create or replace one sociale-kaart entry (raises ValueError when it does not validate).

    `extra` is added to the audit detail (e.g. which version a revert restored).
    """
    problems = validate_content([entry], [])
    if problems:
        raise ValueError("; ".join(problems))
    await _upsert(session, KaartRecord, entry, actor, "kaart", extra)


async def save_faq_entry(session: AsyncSession, entry: FaqEntry, actor: str,
                         extra: dict[str, Any] | None = None) -> None:
    """Create or replace one FAQ entry; its kaart links must exist (raises ValueError otherwise)."""
    kaart, _ = await load_all(session)
    problems = [p for p in validate_content(kaart, [entry]) if p.startswith("faq[")]
    if problems:
        raise ValueError("; ".join(problems))
    await _upsert(session, FaqRecord, entry, actor, "faq", extra)


async def _upsert(session: AsyncSession, model: type[KaartRecord] | type[FaqRecord], entry: KaartEntry | FaqEntry,
                  actor: str, kind: str, extra: dict[str, Any] | None = None) -> None:
    """Write a validated entry as a new or replaced row, audit it (with the old version) and bump the version."""
    record = cast("KaartRecord | FaqRecord | None", await session.get(model, entry.id))
    now = utcnow()
    data = entry.model_dump(mode="json")
    if record is None:
        session.add(model(id=entry.id, data=data, position=await _next_position(session, model), updated_at=now,
                          updated_by=actor))
        _audit(session, actor, f"{kind}_created", f"{kind}_entry", entry.id, None, extra)
    else:
        previous = dict(record.data)
        record.data, record.updated_at, record.updated_by = data, now, actor
        _audit(session, actor, f"{kind}_updated", f"{kind}_entry", entry.id, previous, extra)
    await _bump_version(session)
    await session.flush()


async def content_history(session: AsyncSession, kind: str, entry_id: str, limit: int = 50) -> list[AuditLog]:
    """Return the audited changes of one FAQ ("faq") or kaart ("kaart") entry, newest first."""
    return list((await session.execute(
        select(AuditLog).where(AuditLog.subject_type == f"{kind}_entry", AuditLog.subject_id == entry_id)
        .order_by(AuditLog.id.desc()).limit(limit))).scalars())


async def content_change(session: AsyncSession, kind: str, entry_id: str, change_id: int) -> AuditLog | None:
    """Return one audited change of one entry, or None when it is not a change of that entry."""
    change = await session.get(AuditLog, change_id)
    if change is None or change.subject_type != f"{kind}_entry" or change.subject_id != entry_id:
        return None
    return change


async def delete_kaart_entry(session: AsyncSession, entry_id: str, actor: str) -> bool:
    """Delete one sociale-kaart entry; refuse (ValueError) while an FAQ entry still links to it."""
    _, faq = await load_all(session)
    linked = [f.id for f in faq if entry_id in f.kaart]
    if linked:
        raise ValueError(f"kaart[{entry_id}] is still linked from faq {', '.join(linked)}")
    return await _delete(session, KaartRecord, entry_id, actor, "kaart")


async def delete_faq_entry(session: AsyncSession, entry_id: str, actor: str) -> bool:
    """Delete one FAQ entry."""
    return await _delete(session, FaqRecord, entry_id, actor, "faq")


async def _delete(session: AsyncSession, model: type[KaartRecord] | type[FaqRecord], entry_id: str, actor: str,
                  kind: str) -> bool:
    """Delete one entry, keeping its last version in the audit log, and bump the content version."""
    record = cast("KaartRecord | FaqRecord | None", await session.get(model, entry_id))
    previous = dict(record.data) if record is not None else None
    result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        delete(model).where(model.id == entry_id))
    deleted = result.rowcount
    if deleted:
        _audit(session, actor, f"{kind}_deleted", f"{kind}_entry", entry_id, previous)
        await _bump_version(session)
    return bool(deleted)


async def export_yaml(session: AsyncSession, folder: str | Path | None = None) -> dict[str, str]:
    """Return the content as seed-format YAML per file name, and write the files to `folder` if given."""
    kaart, faq = await load_all(session)
    texts = {EXPORT_FILES[0]: dump_kaart(kaart), EXPORT_FILES[1]: dump_faq(faq)}
    if folder is not None:
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        for name, text in texts.items():
            (target / name).write_text(text, encoding="utf-8")
    return texts


def scrub(text: str) -> str:
    """Replace e-mail addresses, long numbers (phone, BSN, bank) and postcodes with placeholders."""
    text = _EMAIL_RE.sub("[e-mail]", text)
    text = _NUMBER_RE.sub("[nummer]", text)
    return _POSTCODE_RE.sub("[postcode]", text)


def _fold(text: str) -> str:
    """Lowercase, strip accents and punctuation, squeeze spaces: the grouping form of a question."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w\s]", " ", plain).split())


async def record_unanswered(session: AsyncSession, text: str, language: str) -> bool:
    """Store a question the bot could not answer: its text only (scrubbed), never who asked it.

    Equal questions count up on one row. Times are kept per day only. Texts without letters
    (emoji, numbers) are not questions and are not stored. Returns whether something was stored.
    """
    cleaned = " ".join(scrub(text).split())[:UNANSWERED_MAX_CHARS]
    if not _LETTER_RE.search(cleaned):
        return False
    key = hashlib.sha256(_fold(cleaned).encode("utf-8")).hexdigest()
    day = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    stmt = _insert(session, UnansweredQuestion).values(key=key, text=cleaned, language=language[:5] or "nl",
                                                       count=1, created_at=day, last_seen_at=day)
    stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={
        "count": UnansweredQuestion.count + 1, "last_seen_at": day})
    await session.execute(stmt)
    return True


async def list_unanswered(session: AsyncSession, limit: int = 100) -> Sequence[UnansweredQuestion]:
    """Return the unanswered questions, most asked and most recent first."""
    result = await session.execute(select(UnansweredQuestion)
                                   .order_by(UnansweredQuestion.count.desc(),
                                             UnansweredQuestion.last_seen_at.desc(), UnansweredQuestion.id)
                                   .limit(limit))
    return result.scalars().all()


async def unanswered_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[UnansweredQuestion]:
    """Return the unanswered questions with these ids (unknown ids are left out), most asked first."""
    if not ids:
        return []
    return list((await session.execute(
        select(UnansweredQuestion).where(UnansweredQuestion.id.in_(list(ids)))
        .order_by(UnansweredQuestion.count.desc(), UnansweredQuestion.id))).scalars())


async def delete_unanswered(session: AsyncSession, ids: Sequence[int]) -> int:
    """Remove handled unanswered questions; return how many rows went."""
    if not ids:
        return 0
    result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        delete(UnansweredQuestion).where(UnansweredQuestion.id.in_(list(ids))))
    return int(result.rowcount or 0)
