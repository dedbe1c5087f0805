"""Content in the database (data.content_store), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, update

from data.content import Contact, load_faq, load_kaart, parse_faq, parse_kaart
from data.content_store import (
    content_stamp,
    delete_faq_entry,
    delete_kaart_entry,
    export_yaml,
    list_unanswered,
    load_all,
    record_unanswered,
    save_faq_entry,
    save_kaart_entry,
    scrub,
    seed_if_empty,
)
from data.db import Database
from data.models import AuditLog, FaqRecord, KaartRecord, UnansweredQuestion
from flows.kaart_answers import ContentCache

KAART = load_kaart()
FAQ = load_faq()


@pytest.fixture
async def db(db_url: str):  # type: ignore[no-untyped-def]
    """Yield a database on the (empty, migrated) test database."""
    database = Database(db_url)
    yield database
    await database.dispose()


@pytest.fixture
async def seeded(db: Database) -> Database:
    """Return the database with the seed content loaded."""
    async with db.transaction() as s:
        await seed_if_empty(s)
    return db


async def test_seed_loads_the_yaml_once_in_file_order(db):
    async with db.transaction() as s:
        assert await seed_if_empty(s) == (len(KAART), len(FAQ))
    async with db.transaction() as s:
        assert await seed_if_empty(s) == (0, 0)
    async with db.session() as s:
        kaart, faq = await load_all(s)
    assert kaart == KAART and faq == FAQ


async def test_stamp_is_stable_and_changes_with_every_edit(seeded):
    async with seeded.session() as s:
        first = await content_stamp(s)
        assert first == await content_stamp(s)
    assert first.kaart_count == len(KAART) and first.faq_count == len(FAQ) and first.version == 1
    changed = KAART[0].model_copy(update={"naam": "Andere naam"})
    async with seeded.transaction() as s:
        await save_kaart_entry(s, changed, actor="coach:7")
    async with seeded.session() as s:
        second = await content_stamp(s)
        kaart, _ = await load_all(s)
        record = await s.get(KaartRecord, changed.id)
        audit = (await s.execute(select(AuditLog).where(AuditLog.subject_id == changed.id))).scalar_one()
    assert second != first and second.version == 2
    assert kaart[0].naam == "Andere naam" and [e.id for e in kaart] == [e.id for e in KAART]
    assert record is not None and record.updated_by == "coach:7"
    assert audit.actor == "coach:7" and audit.action == "kaart_updated"


async def test_new_entries_go_last_and_deletions_change_the_stamp(seeded):
    new = KAART[-1].model_copy(update={"id": "nieuw-loket", "naam": "Nieuw loket", "crisis": False,
                                       "contact": Contact(), "contact_aanvullen": True})
    async with seeded.transaction() as s:
        await save_kaart_entry(s, new, actor="coach:1")
    async with seeded.session() as s:
        kaart, _ = await load_all(s)
        before = await content_stamp(s)
    assert kaart[-1].id == "nieuw-loket"
    async with seeded.transaction() as s:
        assert await delete_kaart_entry(s, "nieuw-loket", actor="coach:1") is True
        assert await delete_kaart_entry(s, "nieuw-loket", actor="coach:1") is False
    async with seeded.session() as s:
        after = await content_stamp(s)
    assert after != before and after.kaart_count == len(KAART)


async def test_invalid_entries_are_refused(seeded):
    bad_age = KAART[0].model_copy(update={"min_age": 30, "max_age": 20})
    bad_links = FAQ[0].model_copy(update={"kaart": ["bestaat-niet"]})
    async with seeded.transaction() as s:
        with pytest.raises(ValueError, match="min_age"):
            await save_kaart_entry(s, bad_age, actor="coach:1")
        with pytest.raises(ValueError, match="unknown kaart id"):
            await save_faq_entry(s, bad_links, actor="coach:1")
        linked = FAQ[0].kaart[0]
        with pytest.raises(ValueError, match="still linked"):
            await delete_kaart_entry(s, linked, actor="coach:1")


async def test_faq_save_and_delete(seeded):
    changed = FAQ[0].model_copy(update={"vragen": [*FAQ[0].vragen, "nieuwe vraag"]})
    async with seeded.transaction() as s:
        await save_faq_entry(s, changed, actor="coach:2")
    async with seeded.session() as s:
        _, faq = await load_all(s)
    assert faq[0].vragen[-1] == "nieuwe vraag"
    async with seeded.transaction() as s:
        assert await delete_faq_entry(s, FAQ[0].id, actor="coach:2") is True
    async with seeded.session() as s:
        _, faq = await load_all(s)
    assert FAQ[0].id not in {f.id for f in faq}


async def test_an_invalid_row_is_skipped_not_fatal(seeded):
    async with seeded.transaction() as s:
        await s.execute(update(KaartRecord).where(KaartRecord.id == KAART[0].id).values(data={"id": KAART[0].id}))
    async with seeded.session() as s:
        kaart, _ = await load_all(s)
    assert [e.id for e in kaart] == [e.id for e in KAART[1:]]


async def test_export_is_the_seed_format_and_round_trips(seeded, tmp_path):
    async with seeded.session() as s:
        texts = await export_yaml(s, tmp_path / "export")
    assert set(texts) == {"sociale_kaart.yml", "faq.yml"}
    assert parse_kaart(texts["sociale_kaart.yml"]) == KAART
    assert parse_faq(texts["faq.yml"]) == FAQ
    assert (tmp_path / "export" / "faq.yml").read_text(encoding="utf-8") == texts["faq.yml"]


async def test_seeding_from_two_processes_at_once_is_safe(db, db_url):
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite deployments run one process; concurrent start-up is a PostgreSQL matter")
    other = Database(db_url)

    async def seed(database: Database) -> None:
        async with database.transaction() as s:
            await seed_if_empty(s)

    try:
        await asyncio.gather(seed(db), seed(other))
    finally:
        await other.dispose()
    async with db.session() as s:
        assert (await s.execute(select(func.count()).select_from(KaartRecord))).scalar_one() == len(KAART)
        assert (await s.execute(select(func.count()).select_from(FaqRecord))).scalar_one() == len(FAQ)


async def test_cache_reloads_only_when_the_stamp_changes(seeded):
    now = [0.0]
    cache = ContentCache(recheck_seconds=2.0, clock=lambda: now[0])
    async with seeded.session() as s:
        first = await cache.get(s)
    assert len(first.kaart) == len(KAART) and first.faq_index.best("ik heb schulden") is not None
    async with seeded.transaction() as s:
        await save_kaart_entry(s, KAART[0].model_copy(update={"naam": "Gewijzigd"}), actor="coach:1")
    async with seeded.session() as s:
        assert await cache.get(s) is first  # checked less than 2 s ago: no query at all
        now[0] = 2.5
        second = await cache.get(s)
        assert second is not first and second.kaart[0].naam == "Gewijzigd"
        now[0] = 5.0
        assert await cache.get(s) is second  # same stamp: nothing rebuilt


async def test_unanswered_questions_keep_text_only_and_count_up(db):
    async with db.transaction() as s:
        assert await record_unanswered(s, "Waar kan ik mijn hamster laten knippen?", "nl")
        assert await record_unanswered(s, "waar kan ik mijn hamster laten knippen", "nl")
        assert await record_unanswered(s, "mail me op jan@example.org of bel 06-12345678, 1234 AB", "nl")
        assert not await record_unanswered(s, "🙂🙂 123", "nl")
        assert not await record_unanswered(s, "   ", "en")
    async with db.session() as s:
        rows = list(await list_unanswered(s))
        total = (await s.execute(select(func.count()).select_from(UnansweredQuestion))).scalar_one()
    assert total == 2
    assert rows[0].count == 2 and rows[0].text == "Waar kan ik mijn hamster laten knippen?"
    assert rows[1].text == "mail me op [e-mail] of bel [nummer], [postcode]"
    assert rows[0].created_at.hour == 0 and rows[0].created_at.minute == 0  # kept per day only
    assert {c.name for c in UnansweredQuestion.__table__.columns} == {
        "id", "key", "text", "language", "count", "created_at", "last_seen_at"}


def test_scrub():
    assert scrub("bel +31 6 1234 5678 of 0612345678") == "bel [nummer] of [nummer]"
    assert scrub("ik ben 24 en woon in 1234AB") == "ik ben 24 en woon in [postcode]"
    assert scrub("ik heb 3 kinderen") == "ik heb 3 kinderen"


async def test_every_save_and_delete_keeps_the_version_before_for_history_and_revert(seeded):
    from data.content_store import content_change, content_history, delete_unanswered, unanswered_by_ids

    first = KAART[0]
    async with seeded.transaction() as s:
        await save_kaart_entry(s, first.model_copy(update={"naam": "Twee"}), actor="coach:1")
        await save_kaart_entry(s, first.model_copy(update={"naam": "Drie"}), actor="coach:2",
                               extra={"reverted_from": 1})
        await save_faq_entry(s, FAQ[0].model_copy(update={"id": "nieuw-id"}), actor="coach:1")
    async with seeded.transaction() as s:
        assert await delete_faq_entry(s, "nieuw-id", actor="coach:3")
    async with seeded.session() as s:
        history = await content_history(s, "kaart", first.id)
        faq_history = await content_history(s, "faq", "nieuw-id")
        assert await content_change(s, "faq", first.id, history[0].id) is None  # another kind
        assert await content_change(s, "kaart", "other", history[0].id) is None  # another entry
        assert (await content_change(s, "kaart", first.id, history[0].id)) is not None
    assert [h.actor for h in history] == ["coach:2", "coach:1"]
    assert history[1].detail["previous"] == first.model_dump(mode="json")
    assert history[0].detail["previous"]["naam"] == "Twee" and history[0].detail["reverted_from"] == 1
    assert [h.action for h in faq_history] == ["faq_deleted", "faq_created"]
    assert faq_history[0].detail["previous"]["id"] == "nieuw-id" and faq_history[1].detail["previous"] is None
    async with seeded.transaction() as s:
        await record_unanswered(s, "waar kan ik sporten", "nl")
        await record_unanswered(s, "hoe laat is het", "nl")
    async with seeded.transaction() as s:
        rows = (await s.execute(select(UnansweredQuestion).order_by(UnansweredQuestion.id))).scalars().all()
        assert [q.text for q in await unanswered_by_ids(s, [rows[0].id, 999999])] == ["waar kan ik sporten"]
        assert await delete_unanswered(s, [rows[0].id, 999999]) == 1
        assert await delete_unanswered(s, []) == 0
    async with seeded.session() as s:
        assert [q.text for q in await list_unanswered(s)] == ["hoe laat is het"]
