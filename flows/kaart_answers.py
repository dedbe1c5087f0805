"""Answer "where can I go for …?" from the FAQ and the sociale kaart, as stored in the database.

One turn: learn the age if the message says it → find the topic (NLU intent and entities, or
keywords) and the best FAQ → the better of the two wins (FAQ score against intent confidence; a
message that is nearly one of the FAQ's own phrasings always gets the FAQ) → the entries to offer
(FAQ links, or the topic search of `flows.kaart`), filtered by age and the other rules there → at
most three per message, "meer" for the next three, and every answer ends with "Plan een gesprek"
and "Praat nu met een medewerker".

When the age is unknown and it matters for the candidates, the jongere is asked once; the answer is
kept on `Jongere.age`. Who would rather not say gets only entries open to every age 16-27 (that
choice is kept in the flow state while the kaart flow runs).

Content comes from an in-process cache per database, keyed by `content_stamp` and re-checked at
most every `RECHECK_SECONDS`, so an edit in the console is live within a few seconds.

Call `install()` once per process (bot/wiring.py and the tests' runtime fixture do).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from data.content import ONDERWERPEN, FaqEntry, KaartEntry
from data.content_store import ContentStamp, content_stamp, load_all
from flows import answers
from flows.context import TurnContext
from flows.faq import FaqIndex, FaqMatch
from flows.kaart import (
    AGE_MAX,
    AGE_MIN,
    SERVED_MAX_AGE,
    SERVED_MIN_AGE,
    KaartIndex,
    Ranked,
    demoted,
    eligible,
    filter_linked,
    needs_age,
    one_line,
    parse_age_reply,
    rank_scored,
    says_at_school,
    topics_from_keywords,
)
from flows.matching import fold
from flows.messages import Button
from nlu.entities import extract_ages
from nlu.types import NluEngine, NluResult

log = logging.getLogger(__name__)

FLOW: Final = "kaart"
PAGE_SIZE: Final = 3
MAX_RESULTS: Final = 12
"""At most this many entries are offered for one question (four pages)."""
MAX_CANDIDATES: Final = 40
"""At most this many candidates wait in the flow state while the age is asked."""
RECHECK_SECONDS: Final = 2.0
KEYWORD_CONFIDENCE: Final = 0.7
"""How sure a topic is when it comes from keywords or NLU entities instead of a `vraag_*` intent."""
MORE_PAYLOAD: Final = "kaart:meer"
NO_AGE_PAYLOAD: Final = "kaart:geen_leeftijd"
MORE_WORDS: Final = frozenset({"meer", "more", "volgende", "next", "nog meer", "meer plekken", "meer opties",
                               "laat meer zien", "show more", "more please", "meer graag"})
_REFUSAL_RE: Final = re.compile(
    r"\b(?:nee|neen|no|nope|liever niet|zeg ik niet|niet zeggen|wil ik niet|geen zin|gaat je niks aan|"
    r"overslaan|skip|rather not|prefer not|not say|don'?t want|none of your business)\b")


# --- content, cached per database -----------------------------------------------------------------

@dataclass(frozen=True)
class Content:
    """One version of the sociale kaart and FAQ with the search indexes built over it."""

    kaart: tuple[KaartEntry, ...]
    faq: tuple[FaqEntry, ...]
    stamp: ContentStamp | None = None
    by_id: dict[str, KaartEntry] = field(default_factory=dict)
    faq_index: FaqIndex = field(default_factory=lambda: FaqIndex([]))
    kaart_index: KaartIndex = field(default_factory=lambda: KaartIndex([]))

    @classmethod
    def build(cls, kaart: Sequence[KaartEntry], faq: Sequence[FaqEntry],
              stamp: ContentStamp | None = None) -> Content:
        """Return content with its indexes."""
        return cls(kaart=tuple(kaart), faq=tuple(faq), stamp=stamp, by_id={e.id: e for e in kaart},
                   faq_index=FaqIndex(faq), kaart_index=KaartIndex(kaart))


class ContentCache:
    """The content of one database, reloaded when its stamp changes (checked at most every few seconds)."""

    def __init__(self, recheck_seconds: Callable[[], float] | float = RECHECK_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._recheck = recheck_seconds
        self._clock = clock
        self._content: Content | None = None
        self._checked = 0.0

    def invalidate(self) -> None:
        """Make the next `get` check the stamp."""
        self._checked = float("-inf")

    async def get(self, session: AsyncSession) -> Content:
        """Return the current content, checking the database's stamp when the last check is old."""
        recheck = self._recheck() if callable(self._recheck) else self._recheck
        now = self._clock()
        if self._content is not None and now - self._checked < recheck:
            return self._content
        stamp = await content_stamp(session)
        if self._content is None or stamp != self._content.stamp:
            kaart, faq = await load_all(session)
            self._content = await asyncio.to_thread(Content.build, kaart, faq, stamp)
            log.info("content loaded", extra={"kaart": len(kaart), "faq": len(faq), "version": stamp.version})
        self._checked = now
        return self._content


class _NoEngine:
    """Cache key for sessions without an engine."""


@dataclass
class _Settings:
    recheck_seconds: float = RECHECK_SECONDS


_settings = _Settings()
_no_engine = _NoEngine()
_caches: weakref.WeakKeyDictionary[object, ContentCache] = weakref.WeakKeyDictionary()


async def content_for(session: AsyncSession) -> Content:
    """Return the (cached) content of the database this session talks to."""
    bind = session.bind
    key: object = bind.sync_engine if isinstance(bind, AsyncEngine) else _no_engine
    cache = _caches.get(key)
    if cache is None:
        cache = _caches[key] = ContentCache(lambda: _settings.recheck_seconds)
    return await cache.get(session)


def invalidate_content_cache() -> None:
    """Make every cache in this process check its stamp on the next turn (call after a content edit)."""
    for cache in list(_caches.values()):
        cache.invalidate()


# --- deciding what to offer (pure) ----------------------------------------------------------------

@dataclass(frozen=True)
class Offer:
    """What the bot offers for one question: where it came from, the entries, and whether to ask the age."""

    source: str  # "faq" | "onderwerp" | "naam" | "none"
    topics: tuple[str, ...]
    faq: FaqMatch | None
    ranked: tuple[Ranked, ...]
    ask_age: bool


def topics_of(nlu: NluResult | None, text: str) -> tuple[list[str], float]:
    """Return the topics of a message (main topic first) and how sure the main topic is."""
    if nlu is None:
        found = topics_from_keywords(text)
        return found, KEYWORD_CONFIDENCE if found else 0.0
    topics: list[str] = []
    confidence = 0.0
    if nlu.intent.startswith("vraag_") and nlu.intent[6:] in ONDERWERPEN:
        topics.append(nlu.intent[6:])
        confidence = nlu.confidence
    for value in nlu.entity_values("onderwerp"):
        if isinstance(value, str) and value in ONDERWERPEN and value not in topics:
            topics.append(value)
    if topics and not confidence:
        confidence = KEYWORD_CONFIDENCE
    return topics, confidence


def plan(content: Content, text: str, *, nlu: NluResult | None, age: int | None, lang: str = "nl",
         age_refused: bool = False) -> Offer:
    """Decide the answer to a question: FAQ or topic, the entries in order, and whether to ask the age."""
    topics, confidence = topics_of(nlu, text)
    match = content.faq_index.best(text, topics)
    named = content.kaart_index.name_mentions(text)
    if match is not None and named and not named & set(match.entry.kaart):
        match = None  # "wat kan Flevodrome voor mij doen?" is about Flevodrome, not a general FAQ
    if match is not None and (match.strong or match.score >= confidence):
        linked = [content.by_id[i] for i in match.entry.kaart if i in content.by_id]
        kept = filter_linked(linked, age, text, all_ages_only=age_refused)
        at_school = says_at_school(text)
        score = round(match.score, 4)
        ranked = tuple(Ranked(e, score, demoted(e, age=age, at_school=at_school)) for e in kept)
        return Offer("faq", tuple(topics), match, ranked, _should_ask(kept, age, age_refused))
    found = rank_scored(content.kaart, topics, age, text, lang, all_ages_only=age_refused,
                        index=content.kaart_index)
    if not topics and not found:
        return Offer("none", (), None, (), False)
    return Offer("onderwerp" if topics else "naam", tuple(topics), None, tuple(found),
                 _should_ask([r.entry for r in found], age, age_refused))


def ages_in(text: str, nlu: NluResult | None) -> list[int]:
    """Return the plausible ages a message states ("ik ben 24", "24 jaar"): NLU entities, else the text."""
    values = nlu.entity_values("leeftijd") if nlu is not None else [e.value for e in extract_ages(text)]
    return [int(v) for v in values if isinstance(v, int | str) and str(v).isdigit()
            and AGE_MIN <= int(v) <= AGE_MAX]


def _should_ask(entries: Sequence[KaartEntry], age: int | None, refused: bool) -> bool:
    """Ask the age when it is unknown, not refused, and would change the offer."""
    return age is None and not refused and needs_age(entries)


async def search(session: AsyncSession, text: str, *, age: int | None, lang: str = "nl",
                 nlu: NluEngine | None = None) -> Offer:
    """Return what the bot would offer for `text` at `age` (for the command line and the console)."""
    content = await content_for(session)
    result = nlu.parse(text) if nlu is not None and text.strip() else None
    if age is None:
        stated = ages_in(text, result)
        age = stated[0] if stated else None
    return plan(content, text, nlu=result, age=age, lang=lang)


# --- talking ----------------------------------------------------------------------------------------

def _offer_buttons(ctx: TurnContext, more: bool = False) -> list[Button]:
    """Return the buttons every answer ends with (and "Meer" when there is more)."""
    buttons = [ctx.button("kaart_button_meer", MORE_PAYLOAD)] if more else []
    return [*buttons, ctx.button("kaart_button_afspraak", "menu:afspraak"),
            ctx.button("kaart_button_mens", "menu:mens")]


TextFn = Callable[..., str]
"""Looks up a text by key with placeholder values, in one language (`TurnContext.t`)."""


def entry_title(entry: KaartEntry) -> str:
    """Return the heading of an entry: its name and organisation, without saying the same thing twice."""
    if entry.naam == entry.organisatie or entry.naam.lower() in entry.organisatie.lower():
        return entry.organisatie
    return f"{entry.naam} – {entry.organisatie}"


def format_entry(entry: KaartEntry, lang: str, t: TextFn) -> str:
    """Return one entry as a short block: name, one line of what it offers, how to get there, contact.

    The contact line only appears when a contact route is known and checked (`contact_aanvullen`
    false); missing values are left out, never printed as "None".
    """
    lines = [f"• {entry_title(entry)}", one_line(entry.aanbod.in_lang(lang)),
             t("kaart_how", aanmelden=" ".join(entry.aanmelden.in_lang(lang).split()))]
    if entry.vereist_uitkering:
        lines.append(t("kaart_needs_uitkering"))
    if entry.has_contact and not entry.contact_aanvullen:
        parts = []
        if entry.contact.telefoon:
            parts.append(t("kaart_contact_phone", telefoon=entry.contact.telefoon))
        if entry.contact.website:
            parts.append(t("kaart_contact_website", website=entry.contact.website))
        if entry.contact.chat and entry.contact.chat != entry.contact.website:
            parts.append(t("kaart_contact_chat", chat=entry.contact.chat))
        lines.append(t("kaart_contact", contact="; ".join(parts)))
    return "\n".join(lines)


def present(ctx: TurnContext, content: Content, ids: list[str], start: int, *, refused: bool,
            lead: str | None = None, empty_key: str = "kaart_none") -> None:
    """Send entries `start`..`start+3` of `ids` with the offer buttons, and remember where we are."""
    ids = ids[:MAX_RESULTS]
    page = [content.by_id[i] for i in ids[start:start + PAGE_SIZE] if i in content.by_id]
    shown = min(start + PAGE_SIZE, len(ids))
    more = shown < len(ids)
    parts = [lead] if lead else []
    if page:
        parts.append(ctx.t("kaart_intro" if start == 0 else "kaart_intro_more"))
        parts += [format_entry(e, ctx.lang, ctx.t) for e in page]
        if more:
            parts.append(ctx.t("kaart_more_hint"))
        parts.append(ctx.t("kaart_offer"))
    else:
        parts.append(ctx.t(empty_key) if start == 0 else ctx.t("kaart_no_more"))
    meta: dict[str, Any] = {"kaart_ids": [e.id for e in page]} if page else {}
    if start == 0 and not any(r.meta.get("answer") for r in ctx.replies):
        meta["answer"] = "kaart" if page else "geen_kaart"
    ctx.say("\n\n".join(parts), _offer_buttons(ctx, more), meta=meta)
    ctx.goto(FLOW, "results", ids=ids, shown=shown, age_refused=refused)


def ask_age(ctx: TurnContext, ranked: Sequence[Ranked], at_school: bool, empty_key: str) -> None:
    """Ask the jongere's age once; the candidates wait in the flow state (ids and scores, no text)."""
    ctx.say(ctx.t("kaart_ask_age"), [ctx.button("kaart_button_no_age", NO_AGE_PAYLOAD),
                                     ctx.button("kaart_button_mens", "menu:mens")])
    kept = list(ranked)[:MAX_CANDIDATES]
    ctx.goto(FLOW, "ask_age", ids=[r.entry.id for r in kept], scores=[r.score for r in kept],
             at_school=at_school, empty_key=empty_key, retried=False)


def after_age(content: Content, ids: Sequence[str], scores: Sequence[float], *, age: int | None,
              all_ages_only: bool, at_school: bool) -> list[str]:
    """Return the waiting candidates that fit now the age is known (or refused), best first."""
    found: list[tuple[tuple[bool, float, int], str]] = []
    for n, entry_id in enumerate(ids):
        entry = content.by_id.get(entry_id)
        if entry is None or not eligible(entry, age=age, all_ages_only=all_ages_only, at_school=at_school,
                                         allow_crisis=True):
            continue
        score = float(scores[n]) if n < len(scores) else 0.0
        found.append(((demoted(entry, age=age, at_school=at_school), -score, n), entry_id))
    return [entry_id for _, entry_id in sorted(found)]


def _age_note(ctx: TurnContext, age: int) -> str | None:
    """Return the note for a jongere outside the desk's ages, if needed."""
    return ctx.t("kaart_age_outside") if not SERVED_MIN_AGE <= age <= SERVED_MAX_AGE else None


async def answer(ctx: TurnContext) -> bool:
    """Answer a question from the FAQ and the sociale kaart; return False when neither knows it."""
    if ctx.payload or not ctx.text.strip():
        return False
    content = await content_for(ctx.session)
    lead = None
    ages = ages_in(ctx.text, ctx.nlu)
    if ages and ages[0] != ctx.jongere.age:
        ctx.jongere.age = ages[0]
        lead = _age_note(ctx, ages[0])
    refused = ctx.state.flow == FLOW and bool(ctx.state.data.get("age_refused"))
    offer = plan(content, ctx.text, nlu=ctx.nlu, age=ctx.jongere.age, lang=ctx.lang, age_refused=refused)
    if offer.source == "none":
        if ages and parse_age_reply(ctx.text)[0] is not None:  # the message only says the age
            ctx.say(lead or ctx.t("kaart_age_noted"), [ctx.button("menu_button", "menu:menu"),
                                                       ctx.button("kaart_button_mens", "menu:mens")])
            return True
        return False
    log.info("kaart answer", extra={"conversation_id": ctx.conversation.id, "source": offer.source,
                                    "faq": offer.faq.entry.id if offer.faq else None,
                                    "entries": len(offer.ranked), "ask_age": offer.ask_age})
    if offer.faq is not None:
        ctx.say(offer.faq.entry.antwoord.in_lang(ctx.lang), meta={"answer": "faq", "faq_id": offer.faq.entry.id})
    ids = [r.entry.id for r in offer.ranked]
    empty_key = "kaart_offer" if offer.faq is not None else "kaart_none"
    if offer.ask_age:
        ask_age(ctx, offer.ranked, says_at_school(ctx.text), empty_key)
    else:
        present(ctx, content, ids, 0, refused=refused, lead=lead, empty_key=empty_key)
    return True


def _is_more(text: str) -> bool:
    """Tell whether the message asks for more entries."""
    return " ".join(fold(text).strip(" .!?").split()) in MORE_WORDS


def _is_refusal(text: str) -> bool:
    """Tell whether a short message declines to give the age."""
    folded = " ".join(fold(text).split())
    return len(folded.split()) <= 8 and _REFUSAL_RE.search(folded) is not None


async def continue_kaart(ctx: TurnContext) -> bool:
    """Continue the kaart flow: take the age that was asked, or show more entries; False to pass."""
    step = ctx.state.step if ctx.state.flow == FLOW else None
    payload = ctx.payload or ""
    if payload == MORE_PAYLOAD or (step == "results" and not payload and _is_more(ctx.text)):
        ids = [str(i) for i in ctx.state.data.get("ids") or []] if step == "results" else []
        shown = int(ctx.state.data.get("shown") or 0)
        if shown >= len(ids):
            ctx.say(ctx.t("kaart_no_more"), _offer_buttons(ctx))
            return True
        present(ctx, await content_for(ctx.session), ids, shown,
                refused=bool(ctx.state.data.get("age_refused")))
        return True
    if step == "ask_age":
        return await _take_age(ctx)
    if payload.startswith(f"{FLOW}:"):  # a button from an older message
        ctx.say(ctx.t("kaart_no_more"), _offer_buttons(ctx))
        return True
    return False


async def _take_age(ctx: TurnContext) -> bool:
    """Handle the answer to "how old are you?"."""
    data = ctx.state.data
    pending = [str(i) for i in data.get("ids") or []]
    scores = [float(x) for x in data.get("scores") or []]
    at_school = bool(data.get("at_school"))
    empty_key = str(data.get("empty_key") or "kaart_none")
    age: int | None = None
    numeric = False
    if ctx.payload != NO_AGE_PAYLOAD:
        age, numeric = parse_age_reply(ctx.text)
        if age is None and not numeric:
            ages = ages_in(ctx.text, ctx.nlu)
            age = ages[0] if ages else None
    if age is None and (ctx.payload == NO_AGE_PAYLOAD or _is_refusal(ctx.text)):
        content = await content_for(ctx.session)
        ids = after_age(content, pending, scores, age=None, all_ages_only=True, at_school=at_school)
        present(ctx, content, ids, 0, refused=True, lead=ctx.t("kaart_age_skipped"), empty_key=empty_key)
        return True
    if age is not None:
        ctx.jongere.age = age
        content = await content_for(ctx.session)
        ids = after_age(content, pending, scores, age=age, all_ages_only=False, at_school=at_school)
        present(ctx, content, ids, 0, refused=False, lead=_age_note(ctx, age), empty_key=empty_key)
        return True
    if numeric and not data.get("retried"):
        ctx.say(ctx.t("kaart_ask_age_again"), [ctx.button("kaart_button_no_age", NO_AGE_PAYLOAD),
                                               ctx.button("kaart_button_mens", "menu:mens")])
        data["retried"] = True
        return True
    # Something else than an age: do not ask again, and treat the message as a new question.
    ctx.goto(FLOW, "results", ids=[], shown=0, age_refused=True)
    return False


def install(*, recheck_seconds: float | None = None) -> None:
    """Register the FAQ and sociale-kaart answers and the kaart flow's steps (safe to call again)."""
    if recheck_seconds is not None:
        _settings.recheck_seconds = recheck_seconds
    answers.register(answer)
    answers.register_step(FLOW, continue_kaart)
