"""The voice page's telemetry: each attempt's connected, failed and ended events, checked and stored as one row."""

from sqlalchemy import and_, insert, update
from sqlalchemy.exc import IntegrityError

from activity.retention import prune_now_and_then
from activity.tables import (
    USAGE_FIELDS,
    VOICE_EVENTS,
    VOICE_MODES,
    cut_text,
    utc_now,
    voice_sessions,
)
from core.body_schema import BodySchema
from core.database import database
from core.metrics import count_voice_event


def _milliseconds():
    # A day is far beyond any voice session (OpenAI ends them after 60 minutes).
    return _non_negative(24 * 3600 * 1000)


def _non_negative(ceiling):
    return {"type": ["number", "null"], "minimum": 0, "maximum": ceiling,
            "message": f"{{at}} must be a number from 0 to {ceiling:,} or null."}


_TELEMETRY_PROPERTIES = {
    "attemptId": {"type": "string", "minLength": 1, "maxLength": 100,
                  "message": "attemptId must be a string of 1 to 100 characters."},
    "event": {"enum": list(VOICE_EVENTS), "message": f"event must be one of {', '.join(VOICE_EVENTS)}."},
    "mode": {"enum": list(VOICE_MODES), "message": f"mode must be one of {', '.join(VOICE_MODES)}."},
    "reason": {"type": ["string", "null"], "message": "reason must be a string or null."},
    "connectMs": _milliseconds(),
    "durationMs": _milliseconds(),
    "estimatedCostUsd": _non_negative(1_000_000),
    "usage": {
        "type": ["object", "null"],
        "additionalProperties": False,
        "properties": {name: _non_negative(10**12) for name in USAGE_FIELDS},
        "message": f"usage must be null or an object with {', '.join(USAGE_FIELDS)}.",
    },
}
TELEMETRY = BodySchema({
    "type": "object",
    "additionalProperties": False,
    "required": ["attemptId", "event", "mode"],
    "properties": _TELEMETRY_PROPERTIES,
    "message": {
        "type": 'The body must be a JSON object such as {"attemptId": "...", "event": "connected", ...}.',
        "additionalProperties": "Unknown field '{field}': telemetry may carry only "
                                f"{', '.join(sorted(_TELEMETRY_PROPERTIES))}.",
    },
})


def parse_voice_event(payload):
    """Checks a telemetry body from the voice page; returns the clean event or raises bad_request with the reason."""
    TELEMETRY.check(payload)
    event = {
        "attempt_id": payload["attemptId"],
        "event": payload["event"],
        "mode": payload["mode"],
        "reason": cut_text(payload.get("reason")),
        "connect_ms": payload.get("connectMs"),
        "duration_ms": payload.get("durationMs"),
        "estimated_cost_usd": payload.get("estimatedCostUsd"),
    }
    usage = payload.get("usage")
    if usage is not None:
        for name, column in USAGE_FIELDS.items():
            value = usage.get(name)
            event[column] = None if value is None else int(value)
    return event


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
