"""The voice page's telemetry: each attempt's connected, failed and ended events, checked and stored as one row."""

from sqlalchemy import and_, insert, update
from sqlalchemy.exc import IntegrityError

from activity.retention import prune_now_and_then
from activity.tables import (
    TELEMETRY_FIELDS,
    USAGE_FIELDS,
    VOICE_EVENTS,
    VOICE_MODES,
    cut_text,
    utc_now,
    voice_sessions,
)
from core.database import database
from core.errors import bad_request
from core.metrics import count_voice_event


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
        "reason": cut_text(reason),
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
    now = utc_now()
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
    prune_now_and_then()
