"""The activity record: who minted what and when, how each voice session went, and the success figures."""

import atexit
import queue
import statistics
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import current_app
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
    and_,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from api_errors import ApiError, bad_request
from database import database, metadata
from metrics import count_mint, count_voice_event

MINT_KINDS = ("realtime", "relay", "chatkit", "test")
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
TELEMETRY_FIELDS = {"attemptId", "event", "mode", "reason", "connectMs", "durationMs", "usage", "estimatedCostUsd"}
PAGE_SIZE = 20
PRUNE_INTERVAL_SECONDS = 3600
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
Index("ix_activity_mints_admin_created", mints.c.admin, mints.c.created_at)

_last_prune = {"at": 0.0}
_prune_lock = threading.Lock()


def _now():
    return datetime.now(timezone.utc)


def _aware(moment):
    # SQLite gives naive datetimes back even for timezone=True columns; they were stored as UTC.
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


def _cut(text):
    return text[:MAX_TEXT] if isinstance(text, str) else None


# --- writing -----------------------------------------------------------------------------------------


def record_mint(kind, admin, outcome, latency_ms, request_id=None, error_code=None):
    """Stores one mint now (kind: realtime, relay, chatkit or test; outcome: ok or error)."""
    row = _mint_row(kind, admin, outcome, latency_ms, request_id, error_code)
    count_mint(kind, outcome)
    _insert_mints([row])


def _mint_row(kind, admin, outcome, latency_ms, request_id, error_code):
    if kind not in MINT_KINDS or outcome not in OUTCOMES:
        raise ValueError(f"unknown mint kind {kind!r} or outcome {outcome!r}")
    return {
        "created_at": _now(), "admin": admin, "kind": kind, "outcome": outcome,
        "latency_ms": None if latency_ms is None else round(float(latency_ms), 1),
        "request_id": _cut(request_id), "error_code": _cut(error_code),
    }


def _insert_mints(rows):
    with database().begin() as connection:
        connection.execute(insert(mints), rows)  # one statement for the whole batch, compiled once and cached
    _prune_now_and_then()


def recorded_mint(kind, admin, mint):
    """Runs mint() and records its outcome, latency and OpenAI request id; returns what mint() returns.

    mint() returns an object with `request_id` (the openai_client results do), or a pair whose second item has it.
    """
    started = time.perf_counter()
    try:
        result = mint()
    except ApiError as error:
        _record_later(kind, admin, "error", _elapsed_ms(started), getattr(error, "request_id", None), error.code)
        raise
    upstream = result[1] if isinstance(result, tuple) else result
    # OpenAI's own latency (all attempts) when the client measured it, so the record matches what the admin saw.
    latency_ms = getattr(upstream, "latency_ms", None) or _elapsed_ms(started)
    _record_later(kind, admin, "ok", latency_ms, getattr(upstream, "request_id", None))
    return result


def _elapsed_ms(started):
    return (time.perf_counter() - started) * 1000


def _record_later(kind, admin, outcome, latency_ms, request_id=None, error_code=None):
    # The admin's secret matters more than our bookkeeping: the record is written by the writer thread, off the
    # admin's critical path, and a database hiccup is logged there, never a failed mint.
    count_mint(kind, outcome)
    _writer.put(current_app._get_current_object(), _mint_row(kind, admin, outcome, latency_ms, request_id, error_code))


class _MintWriter:
    """One background thread per process that writes queued mints, as many as have queued up in one transaction.

    Under load one commit carries dozens of mints instead of every request taking SQLite's write lock in turn,
    and a request spends a queue put on its record instead of an insert (README "Performance and reliability").
    """

    MAX_BATCH = 500

    def __init__(self):
        self._queue = queue.Queue()
        self._start_lock = threading.Lock()
        self._thread = None

    def put(self, app, row):
        if self._thread is None or not self._thread.is_alive():  # first use, or a worker forked from a parent
            self._start()
        self._queue.put((app, row))

    def flush(self):
        """Returns once every mint this process queued is in the database (or its failure is logged)."""
        self._queue.join()

    def _start(self):
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="activity-writer", daemon=True)
                self._thread.start()

    def _run(self):
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._write(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    @staticmethod
    def _write(batch):
        rows_by_app = {}
        for app, row in batch:
            rows_by_app.setdefault(app, []).append(row)
        for app, rows in rows_by_app.items():
            with app.app_context():
                try:
                    _insert_mints(rows)
                except Exception:  # noqa: BLE001 - logged with its traceback; the mints were answered already
                    app.logger.exception("could not record %d mint(s) in the activity record", len(rows))


_writer = _MintWriter()
# A worker that exits (gunicorn's graceful stop, a restart) writes what it still holds first.
atexit.register(_writer.flush)


def flush_mints():
    """Waits for this process's queued mints: the pages call it so an admin sees their own mint at once."""
    _writer.flush()


def parse_voice_event(payload):
    """Checks a telemetry body from the voice page; returns the clean event or raises bad_request with the reason."""
    if not isinstance(payload, dict):
        raise bad_request("The body must be a JSON object such as {\"attemptId\": \"...\", \"event\": \"connected\", ...}.")
    unknown = sorted(set(payload) - TELEMETRY_FIELDS)
    if unknown:
        raise bad_request(f"Unknown field '{unknown[0]}': telemetry may carry only {', '.join(sorted(TELEMETRY_FIELDS))}.")
    attempt_id = payload.get("attemptId")
    if not isinstance(attempt_id, str) or not 1 <= len(attempt_id) <= 100:
        raise bad_request("attemptId must be a string of 1 to 100 characters.")
    if payload.get("event") not in VOICE_EVENTS:
        raise bad_request(f"event must be one of {', '.join(VOICE_EVENTS)}.")
    if payload.get("mode") not in VOICE_MODES:
        raise bad_request(f"mode must be one of {', '.join(VOICE_MODES)}.")
    reason = payload.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise bad_request("reason must be a string or null.")
    event = {
        "attempt_id": attempt_id,
        "event": payload["event"],
        "mode": payload["mode"],
        "reason": _cut(reason),
        "connect_ms": _milliseconds(payload, "connectMs"),
        "duration_ms": _milliseconds(payload, "durationMs"),
        "estimated_cost_usd": _non_negative(payload, "estimatedCostUsd", "estimatedCostUsd", 1_000_000),
    }
    usage = payload.get("usage")
    if usage is not None:
        if not isinstance(usage, dict) or set(usage) - set(USAGE_FIELDS):
            raise bad_request(f"usage must be null or an object with {', '.join(USAGE_FIELDS)}.")
        for name, column in USAGE_FIELDS.items():
            value = _non_negative(usage, name, f"usage.{name}", 10**12)
            event[column] = None if value is None else int(value)
    return event


def _non_negative(container, name, label, ceiling):
    value = container.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= ceiling:
        raise bad_request(f"{label} must be a number from 0 to {ceiling:,} or null.")
    return value


def _milliseconds(payload, name):
    # A day is far beyond any voice session (OpenAI ends them after 60 minutes).
    return _non_negative(payload, name, name, 24 * 3600 * 1000)


def record_voice_event(admin, payload):
    """Stores a telemetry event from the voice page: one row per attempt, updated by its later events."""
    event = parse_voice_event(payload)
    count_voice_event(event["mode"], event["event"], event["connect_ms"])
    now = _now()
    values = {key: value for key, value in event.items() if key not in ("attempt_id", "event") and value is not None}
    values.update(updated_at=now, last_event=event["event"], mode=event["mode"])
    if event["event"] == "connected":
        values["connected"] = True
    where = and_(voice_sessions.c.admin == admin, voice_sessions.c.attempt_id == event["attempt_id"])
    with database().begin() as connection:
        if connection.execute(update(voice_sessions).where(where).values(**values)).rowcount:
            return
    try:
        with database().begin() as connection:
            connection.execute(
                insert(voice_sessions).values(
                    attempt_id=event["attempt_id"], admin=admin, started_at=now,
                    connected=event["event"] == "connected", **{k: v for k, v in values.items() if k != "connected"},
                )
            )
    except IntegrityError:
        # Another request inserted the same attempt between our update and insert: apply ours on top.
        with database().begin() as connection:
            connection.execute(update(voice_sessions).where(where).values(**values))
    _prune_now_and_then()


# --- pruning -----------------------------------------------------------------------------------------


def prune(retention_days, now=None):
    """Deletes records older than the retention; returns how many rows went."""
    cutoff = (now or _now()) - timedelta(days=retention_days)
    with database().begin() as connection:
        removed = connection.execute(delete(mints).where(mints.c.created_at < cutoff)).rowcount
        removed += connection.execute(delete(voice_sessions).where(voice_sessions.c.started_at < cutoff)).rowcount
    return removed


def _prune_now_and_then():
    # At most once an hour per process, on a write: cheap, and no scheduler to run.
    if time.monotonic() - _last_prune["at"] < PRUNE_INTERVAL_SECONDS or not _prune_lock.acquire(blocking=False):
        return
    try:
        _last_prune["at"] = time.monotonic()
        prune(current_app.config["SETTINGS"].activity_retention_days)
    except Exception:  # noqa: BLE001 - pruning is housekeeping; the next hour tries again
        current_app.logger.exception("could not prune the activity record")
    finally:
        _prune_lock.release()


# --- reading -----------------------------------------------------------------------------------------


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
        if table is mints:
            conditions.append(mints.c.outcome == outcome)
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
    row = {key: _aware(value) if isinstance(value, datetime) else value for key, value in row.items()}
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


def known_admins():
    """Every admin with a record, for the filter."""
    flush_mints()
    with database().connect() as connection:
        names = set(connection.execute(select(mints.c.admin).distinct()).scalars())
        names |= set(connection.execute(select(voice_sessions.c.admin).distinct()).scalars())
    return sorted(names)


def last_mint(admin):
    flush_mints()
    with database().connect() as connection:
        row = connection.execute(
            select(mints).where(mints.c.admin == admin).order_by(mints.c.created_at.desc(), mints.c.id.desc()).limit(1)
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
    now = now or _now()
    return {"day": connection_figures(now - timedelta(hours=24)), "week": connection_figures(now - timedelta(days=7))}


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
    now = now or _now()
    first_day = (now - timedelta(days=days - 1)).date()
    since = datetime(first_day.year, first_day.month, first_day.day, tzinfo=timezone.utc)
    with database().connect() as connection:
        rows = connection.execute(
            select(voice_sessions.c.started_at, voice_sessions.c.connected).where(voice_sessions.c.started_at >= since)
        ).all()
    counts = {}
    for started_at, connected in rows:
        day = _aware(started_at).date()
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
