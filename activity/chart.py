"""The activity page's chart: the daily share of voice sessions that connected, as bar geometry for inline SVG."""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from activity.tables import as_utc, utc_now, voice_sessions
from core.database import database


@dataclass(frozen=True)
class ChartBar:
    day: str
    attempts: int
    connected: int
    rate: float | None
    x: float
    height: float
    y: float


CHART_WIDTH, CHART_HEIGHT, CHART_GAP = 280, 80, 6


def daily_chart(days=7, now=None):
    """One bar per day (UTC) over the last `days` days: the share of voice sessions that connected.

    Geometry is computed here so the template only draws rectangles (the chart is inline SVG, no JS)."""
    now = now or utc_now()
    first_day = (now - timedelta(days=days - 1)).date()
    since = datetime(first_day.year, first_day.month, first_day.day, tzinfo=timezone.utc)
    with database().connect() as connection:
        rows = connection.execute(
            select(voice_sessions.c.started_at, voice_sessions.c.connected).where(voice_sessions.c.started_at >= since)
        ).all()
    counts = {}
    for started_at, connected in rows:
        day = as_utc(started_at).date()
        attempts, ok = counts.get(day, (0, 0))
        counts[day] = (attempts + 1, ok + (1 if connected else 0))
    bar_width = (CHART_WIDTH - CHART_GAP * (days - 1)) / days
    bars = []
    for index in range(days):
        day = first_day + timedelta(days=index)
        attempts, ok = counts.get(day, (0, 0))
        rate = ok / attempts if attempts else None
        height = round((rate or 0) * CHART_HEIGHT, 1)
        bars.append(
            ChartBar(
                day=day.isoformat(), attempts=attempts, connected=ok, rate=rate,
                x=round(index * (bar_width + CHART_GAP), 1), height=height, y=round(CHART_HEIGHT - height, 1),
            )
        )
    return {"bars": bars, "bar_width": round(bar_width, 1), "width": CHART_WIDTH, "height": CHART_HEIGHT}
