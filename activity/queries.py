"""Reading the activity record: pages of mints, voice sessions and tool calls, the admins in it, success figures, active sessions."""

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select

from activity.tables import OUTCOMES, PAGE_SIZE, as_utc, mints, tool_calls, utc_now, voice_sessions
from activity.writer import flush_mints
from core.database import database
from core.openai_catalog import MAX_SESSION


@dataclass(frozen=True)
class Page:
    rows: list
    number: int
    has_previous: bool
    has_next: bool


def _filtered(table, time_column, admin, outcome):
    conditions = []
    if admin:
        conditions.append(table.c.admin == admin)
    if outcome in OUTCOMES:
        if table is not voice_sessions:
            conditions.append(table.c.outcome == outcome)
        else:
            # A voice session's outcome: did it connect?
            conditions.append(voice_sessions.c.connected == (outcome == "ok"))
    query = select(table).order_by(time_column.desc(), table.c.id.desc())
    return query.where(and_(*conditions)) if conditions else query


def _page(query, number):
    number = max(1, number)
    with database().connect() as connection:
        rows = connection.execute(query.limit(PAGE_SIZE + 1).offset((number - 1) * PAGE_SIZE)).mappings().all()
    rows = [_with_aware_times(row) for row in rows]
    return Page(rows=rows[:PAGE_SIZE], number=number, has_previous=number > 1, has_next=len(rows) > PAGE_SIZE)


def _with_aware_times(row):
    row = {key: as_utc(value) if isinstance(value, datetime) else value for key, value in row.items()}
    if "input_text_tokens" in row:
        inputs = [row[name] for name in ("input_text_tokens", "input_audio_tokens") if row[name] is not None]
        outputs = [row[name] for name in ("output_text_tokens", "output_audio_tokens") if row[name] is not None]
        row["tokens_in"] = sum(inputs) if inputs else None
        row["tokens_out"] = sum(outputs) if outputs else None
    return row


def mint_page(admin=None, outcome=None, number=1):
    flush_mints()
    return _page(_filtered(mints, mints.c.created_at, admin, outcome), number)


def voice_session_page(admin=None, outcome=None, number=1):
    return _page(_filtered(voice_sessions, voice_sessions.c.started_at, admin, outcome), number)


def tool_call_page(admin=None, outcome=None, number=1):
    flush_mints()
    return _page(_filtered(tool_calls, tool_calls.c.created_at, admin, outcome), number)


def known_admins():
    """Every admin with a record, for the filter."""
    flush_mints()
    with database().connect() as connection:
        names = set(connection.execute(select(mints.c.admin).distinct()).scalars())
        names |= set(connection.execute(select(voice_sessions.c.admin).distinct()).scalars())
        names |= set(connection.execute(select(tool_calls.c.admin).distinct()).scalars())
    return sorted(names)


def last_mint(admin):
    """The admin's last mint, not counting the secrets the voice page mints ahead of a click ("prepare")."""
    flush_mints()
    with database().connect() as connection:
        row = connection.execute(
            select(mints).where(mints.c.admin == admin, mints.c.kind != "prepare").order_by(mints.c.created_at.desc(), mints.c.id.desc()).limit(1)
        ).mappings().first()
    return _with_aware_times(row) if row else None


@dataclass(frozen=True)
class ConnectionFigures:
    attempts: int
    connected: int
    median_connect_ms: float | None

    @property
    def success_rate(self):
        return self.connected / self.attempts if self.attempts else None


def connection_figures(since, admin=None):
    """Success rate and median time to connect of voice sessions started since `since`."""
    query = select(voice_sessions.c.connected, voice_sessions.c.connect_ms).where(voice_sessions.c.started_at >= since)
    if admin:
        query = query.where(voice_sessions.c.admin == admin)
    with database().connect() as connection:
        rows = connection.execute(query).all()
    connect_times = [row.connect_ms for row in rows if row.connected and row.connect_ms is not None]
    return ConnectionFigures(
        attempts=len(rows),
        connected=sum(1 for row in rows if row.connected),
        median_connect_ms=statistics.median(connect_times) if connect_times else None,
    )


def summary(now=None):
    now = now or utc_now()
    return {"day": connection_figures(now - timedelta(hours=24)), "week": connection_figures(now - timedelta(days=7))}


def active_voice_sessions(engine, now=None):
    """Voice sessions that reported "connected" and nothing since, within OpenAI's session limit."""
    since = (now or utc_now()) - MAX_SESSION
    query = select(func.count()).select_from(voice_sessions).where(
        and_(voice_sessions.c.last_event == "connected", voice_sessions.c.updated_at >= since)
    )
    with engine.connect() as connection:
        return connection.execute(query).scalar_one()
