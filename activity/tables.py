"""The activity record's tables (mints, voice sessions and tool calls), what their columns may hold, and time helpers."""

from datetime import datetime, timezone

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from core.database import metadata

# "prepare": a Realtime secret the voice page minted ahead of the Start click; it may go unused, so it is never a
# voice session (those come only from the page's telemetry, which starts at the click).
MINT_KINDS = ("realtime", "relay", "chatkit", "test", "prepare")
TOOL_CHANNELS = ("voice", "chat")
OUTCOMES = ("ok", "error")
VOICE_EVENTS = ("connected", "failed", "ended")
VOICE_MODES = ("ephemeral", "relay")
USAGE_FIELDS = {
    "inputTextTokens": "input_text_tokens",
    "inputAudioTokens": "input_audio_tokens",
    "cachedTokens": "cached_tokens",
    "outputTextTokens": "output_text_tokens",
    "outputAudioTokens": "output_audio_tokens",
}
PAGE_SIZE = 20
MAX_TEXT = 200  # reasons and request ids are short; a longer one is cut, never refused

mints = Table(
    "activity_mints",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("admin", String(100), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("outcome", String(10), nullable=False),
    Column("latency_ms", Float),
    Column("request_id", String(MAX_TEXT)),
    Column("error_code", String(60)),
)

voice_sessions = Table(
    "activity_voice_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("attempt_id", String(100), nullable=False),
    Column("admin", String(100), nullable=False, index=True),
    Column("started_at", DateTime(timezone=True), nullable=False, index=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("mode", String(20), nullable=False),
    Column("last_event", String(20), nullable=False),
    # True once the attempt reported "connected"; a later "failed" or "ended" does not undo it.
    Column("connected", Boolean, nullable=False, default=False),
    Column("reason", String(MAX_TEXT)),
    Column("connect_ms", Float),
    Column("duration_ms", Float),
    *(Column(column, Integer) for column in USAGE_FIELDS.values()),
    Column("estimated_cost_usd", Float),
    # Attempt ids come from the browser, so they are unique per admin: one admin cannot overwrite another's.
    UniqueConstraint("admin", "attempt_id", name="uq_voice_attempt"),
)
# One row per tool call the agent made, from the voice page (POST /api/v1/realtime/tool-calls) or the chat agent.
tool_calls = Table(
    "activity_tool_calls",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("admin", String(100), nullable=False, index=True),
    Column("channel", String(10), nullable=False),
    Column("tool", String(64), nullable=False),
    Column("outcome", String(10), nullable=False),  # ok or error
    Column("error_code", String(60)),  # unknown_tool, invalid_arguments, approval_required, tool_failed, ...
    Column("ms", Float),
    Column("call_id", String(MAX_TEXT)),
    # The caller's roles (comma-separated, as in the admins file), None for an admin without roles. Added after
    # the table: core.database adds it to older databases at start-up.
    Column("role", String(MAX_TEXT)),
)
Index("ix_activity_mints_admin_created", mints.c.admin, mints.c.created_at)


def utc_now():
    return datetime.now(timezone.utc)


def as_utc(moment):
    # SQLite gives naive datetimes back even for timezone=True columns; they were stored as UTC.
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


def cut_text(text):
    return text[:MAX_TEXT] if isinstance(text, str) else None
