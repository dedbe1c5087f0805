"""Figures for team leaders: open tickets by age, first-response times, new jongeren, questions and kaart items."""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from coach_console.access import sees_jongere
from coach_console.sla import duration_text
from data.content_store import load_all
from data.models import ChannelIdentity, Coach, Conversation, Jongere, Message, Ticket, utcnow
from data.records import OPEN_STATES

AGE_BUCKETS: Final = ((3600, "korter dan 1 uur"), (4 * 3600, "1 tot 4 uur"), (24 * 3600, "4 tot 24 uur"),
                      (3 * 86400, "1 tot 3 dagen"), (math.inf, "langer dan 3 dagen"))
HANDOFF_KINDS: Final = ("mens_spreken", "crisis")
WEEKS: Final = 8
RESPONSE_DAYS: Final = 30
TOP_KAART: Final = 10
OUTCOMES: Final = (("bot", "beantwoord door de bot"), ("fallback", "niet begrepen (fallback)"),
                   ("medewerker", "doorgezet naar een medewerker"))
BOT_ANSWERS: Final = frozenset({"faq", "kaart"})
FALLBACK_ANSWERS: Final = frozenset({"fallback", "geen_kaart"})


@dataclass(frozen=True)
class Bar:
    """One bar of a chart."""

    label: str
    value: float
    text: str  # the value as shown


@dataclass
class Metrics:
    """The figures of the metrics page."""

    open_by_age: list[Bar]
    response_count: int
    response_median: float | None  # seconds
    response_p90: float | None
    weeks: list[str]
    channels: list[str]
    new_per_week: dict[str, dict[str, int]]  # week → channel → count
    questions_per_week: dict[str, dict[str, int]]  # week → outcome (see OUTCOMES) → count
    top_kaart: list[Bar]  # most shown kaart entries over WEEKS weeks

    @property
    def median_text(self) -> str:
        """Return the median first response in words."""
        return duration_text(self.response_median) if self.response_median is not None else "nog geen gegevens"

    @property
    def p90_text(self) -> str:
        """Return the 90th percentile of the first response in words."""
        return duration_text(self.response_p90) if self.response_p90 is not None else "nog geen gegevens"

    def week_bars(self) -> list[Bar]:
        """Return the total of new jongeren per week as bars."""
        return [Bar(w, sum(self.new_per_week[w].values()), str(sum(self.new_per_week[w].values())))
                for w in self.weeks]

    def question_bars(self, outcome: str) -> list[Bar]:
        """Return the questions with this outcome per week as bars."""
        return [Bar(w, self.questions_per_week[w][outcome], str(self.questions_per_week[w][outcome]))
                for w in self.weeks]


def percentile(values: list[float], fraction: float) -> float | None:
    """Return the percentile `fraction` (0..1) of values, interpolated; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def week_label(moment: datetime) -> str:
    """Return the ISO week of a moment as "2026-W48"."""
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


async def collect(session: AsyncSession, coach: Coach, now: datetime | None = None) -> Metrics:
    """Compute the figures over the jongeren this coach may see."""
    now = now or utcnow()
    opened = (await session.execute(
        select(Ticket.created_at).join(Jongere, Jongere.id == Ticket.jongere_id)
        .where(Ticket.state.in_(OPEN_STATES), sees_jongere(coach)))).scalars().all()
    counts = Counter[str]()
    for created in opened:
        age = (now - created).total_seconds()
        counts[next(label for limit, label in AGE_BUCKETS if age < limit)] += 1
    open_by_age = [Bar(label, counts[label], str(counts[label])) for _, label in AGE_BUCKETS]

    answered = (await session.execute(
        select(Ticket.created_at, Ticket.first_response_at).join(Jongere, Jongere.id == Ticket.jongere_id)
        .where(Ticket.kind.in_(HANDOFF_KINDS), Ticket.first_response_at.is_not(None),
               Ticket.created_at >= now - timedelta(days=RESPONSE_DAYS), sees_jongere(coach)))).all()
    waits = [max(0.0, (first - created).total_seconds()) for created, first in answered if first is not None]

    first_identity = (select(ChannelIdentity.jongere_id, func.min(ChannelIdentity.id).label("first_id"))
                      .group_by(ChannelIdentity.jongere_id).subquery())
    since = now - timedelta(weeks=WEEKS)
    rows = (await session.execute(
        select(Jongere.created_at, ChannelIdentity.channel)
        .join(first_identity, first_identity.c.jongere_id == Jongere.id)
        .join(ChannelIdentity, ChannelIdentity.id == first_identity.c.first_id)
        .where(Jongere.created_at >= since, sees_jongere(coach)))).all()
    weeks = [week_label(now - timedelta(weeks=n)) for n in range(WEEKS - 1, -1, -1)]
    per_week: dict[str, dict[str, int]] = {w: {} for w in weeks}
    channels: set[str] = set()
    for created, channel in rows:
        label = week_label(created)
        if label in per_week:
            per_week[label][channel] = per_week[label].get(channel, 0) + 1
            channels.add(channel)
    questions, top_kaart = await _questions(session, coach, since, weeks)
    return Metrics(open_by_age, len(waits), percentile(waits, 0.5), percentile(waits, 0.9), weeks,
                   sorted(channels), per_week, questions, top_kaart)


async def _questions(session: AsyncSession, coach: Coach, since: datetime,
                     weeks: list[str]) -> tuple[dict[str, dict[str, int]], list[Bar]]:
    """Count questions per week by outcome (from the bot's answer markers and handoff tickets) and top kaart items."""
    per_week: dict[str, dict[str, int]] = {w: dict.fromkeys((key for key, _ in OUTCOMES), 0) for w in weeks}
    marked = (await session.execute(
        select(Message.created_at, Message.payload)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(Jongere, Jongere.id == Conversation.jongere_id)
        .where(Message.direction == "out", Message.sender == "bot", Message.payload.is_not(None),
               Message.created_at >= since, sees_jongere(coach)))).all()
    shown = Counter[str]()
    for created, payload in marked:
        if not isinstance(payload, dict):
            continue
        label = week_label(created)
        answer = payload.get("answer")
        if label in per_week and answer in BOT_ANSWERS:
            per_week[label]["bot"] += 1
        elif label in per_week and answer in FALLBACK_ANSWERS:
            per_week[label]["fallback"] += 1
        shown.update(str(i) for i in payload.get("kaart_ids") or ())
    handed = (await session.execute(
        select(Ticket.created_at).join(Jongere, Jongere.id == Ticket.jongere_id)
        .where(Ticket.kind.in_(HANDOFF_KINDS), Ticket.created_at >= since, sees_jongere(coach)))).scalars().all()
    for created in handed:
        label = week_label(created)
        if label in per_week:
            per_week[label]["medewerker"] += 1
    names: dict[str, str] = {}
    if shown:
        kaart, _ = await load_all(session)
        names = {e.id: f"{e.naam} ({e.organisatie})" if e.naam != e.organisatie else e.naam for e in kaart}
    top = [Bar(names.get(key, key), count, str(count)) for key, count in shown.most_common(TOP_KAART)]
    return per_week, top


def bar_chart(bars: list[Bar], title: str, *, width: int = 560, bar_height: int = 26, label_width: int = 170) -> str:
    """Return a horizontal bar chart as SVG markup (the caller marks it safe; labels are our own texts)."""
    from markupsafe import escape

    top = max((b.value for b in bars), default=0) or 1
    gap = 8
    height = len(bars) * (bar_height + gap) + gap
    room = width - label_width - 60
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" '
             f'viewBox="0 0 {width} {height}" width="100%" class="chart"><title>{escape(title)}</title>']
    for n, bar in enumerate(bars):
        y = gap + n * (bar_height + gap)
        length = max(0.0, bar.value / top * room)
        parts.append(f'<text x="{label_width - 8}" y="{y + bar_height * 0.7:.1f}" text-anchor="end" '
                     f'class="chart-label">{escape(bar.label)}</text>')
        parts.append(f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar_height}" '
                     f'class="chart-bar"></rect>')
        parts.append(f'<text x="{label_width + length + 6:.1f}" y="{y + bar_height * 0.7:.1f}" '
                     f'class="chart-value">{escape(bar.text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def to_csv(metrics: Metrics) -> str:
    """Return the figures as CSV (one table with a column naming each figure)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["cijfer", "groep", "kanaal", "waarde"])
    for bar in metrics.open_by_age:
        writer.writerow(["open_tickets_per_leeftijd", bar.label, "", int(bar.value)])
    writer.writerow(["eerste_reactie_aantal", f"laatste {RESPONSE_DAYS} dagen", "", metrics.response_count])
    for name, value in (("eerste_reactie_mediaan_sec", metrics.response_median),
                        ("eerste_reactie_p90_sec", metrics.response_p90)):
        writer.writerow([name, f"laatste {RESPONSE_DAYS} dagen", "", "" if value is None else round(value)])
    for week in metrics.weeks:
        for channel in metrics.channels:
            writer.writerow(["nieuwe_jongeren_per_week", week, channel, metrics.new_per_week[week].get(channel, 0)])
    for week in metrics.weeks:
        for key, _ in OUTCOMES:
            writer.writerow([f"vragen_{key}_per_week", week, "", metrics.questions_per_week[week][key]])
    for bar in metrics.top_kaart:
        writer.writerow(["meest_getoonde_kaart_items", bar.label, "", int(bar.value)])
    return out.getvalue()
