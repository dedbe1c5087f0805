"""Waiting time against the service level: working hours between two moments, and how a ticket is doing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from coach_console.config import ConsoleSettings


def working_seconds(start: datetime, end: datetime, settings: ConsoleSettings) -> float:
    """Return the working time in seconds between two aware moments (office hours on work days)."""
    if end <= start:
        return 0.0
    zone = ZoneInfo(settings.timezone)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    total = 0.0
    day = local_start.date()
    while day <= local_end.date():
        if day.weekday() in settings.work_days:
            open_at = datetime(day.year, day.month, day.day, settings.work_start_hour, tzinfo=zone)
            close_at = datetime(day.year, day.month, day.day, settings.work_end_hour, tzinfo=zone)
            lo, hi = max(open_at, local_start), min(close_at, local_end)
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return total


def duration_text(seconds: float) -> str:
    """Return a duration in plain Dutch: "3 min", "2 u 5 min", "3 dagen"."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "minder dan 1 min"
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} u {rest} min" if rest else f"{hours} u"
    return f"{hours // 24} dagen"


@dataclass(frozen=True)
class SlaStatus:
    """How long a ticket waits and whether that is within the norm."""

    waited: str  # plain duration since the ticket was opened (clock time)
    norm: str  # the norm in words
    level: str  # "ok" | "bijna" | "te_laat" | "beantwoord"
    label: str  # the level in words


def sla_status(kind: str, created_at: datetime, first_response_at: datetime | None, now: datetime,
               settings: ConsoleSettings) -> SlaStatus:
    """Return the waiting time of a ticket against its norm (crisis: at once; others: working hours)."""
    waited = duration_text((now - created_at).total_seconds())
    if kind == "crisis":
        norm_text = "direct" if settings.sla_crisis_minutes <= 0 else f"binnen {int(settings.sla_crisis_minutes)} min"
    else:
        norm_text = f"binnen {settings.sla_first_answer_hours:g} werkuren"
    if first_response_at is not None:
        return SlaStatus(waited, norm_text, "beantwoord", "beantwoord")
    if kind == "crisis":
        late = (now - created_at).total_seconds() >= settings.sla_crisis_minutes * 60
        return SlaStatus(waited, norm_text, "te_laat" if late else "bijna", "nu oppakken")
    used = working_seconds(created_at, now, settings) / (settings.sla_first_answer_hours * 3600)
    if used >= 1:
        return SlaStatus(waited, norm_text, "te_laat", "te laat")
    if used >= 0.75:
        return SlaStatus(waited, norm_text, "bijna", "bijna te laat")
    return SlaStatus(waited, norm_text, "ok", "op tijd")


def answer_deadline(kind: str, created_at: datetime, settings: ConsoleSettings) -> datetime:
    """Return the local moment by which a first answer is due: the norm counted in working hours."""
    zone = ZoneInfo(settings.timezone)
    if kind == "crisis":
        return created_at.astimezone(zone) + timedelta(minutes=settings.sla_crisis_minutes)
    left = settings.sla_first_answer_hours * 3600
    moment = created_at.astimezone(zone)
    for _ in range(60):  # at most two months of days, however the working days are set
        day = moment.date()
        if day.weekday() in settings.work_days:
            open_at = datetime(day.year, day.month, day.day, settings.work_start_hour, tzinfo=zone)
            close_at = datetime(day.year, day.month, day.day, settings.work_end_hour, tzinfo=zone)
            start = max(moment, open_at)
            if start < close_at:
                if (close_at - start).total_seconds() >= left:
                    return start + timedelta(seconds=left)
                left -= (close_at - start).total_seconds()
        moment = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(days=1)
    return moment
