"""Pruning: records older than ACTIVITY_RETENTION_DAYS are deleted, at most once an hour per process, on a write."""

import threading
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete

from activity.tables import mints, tool_calls, utc_now, voice_sessions
from core.database import database

PRUNE_INTERVAL_SECONDS = 3600
_last_prune = {"at": 0.0}
_prune_lock = threading.Lock()


def prune(retention_days, now=None):
    """Deletes records older than the retention; returns how many rows went."""
    cutoff = (now or utc_now()) - timedelta(days=retention_days)
    with database().begin() as connection:
        removed = connection.execute(delete(mints).where(mints.c.created_at < cutoff)).rowcount
        removed += connection.execute(delete(voice_sessions).where(voice_sessions.c.started_at < cutoff)).rowcount
        removed += connection.execute(delete(tool_calls).where(tool_calls.c.created_at < cutoff)).rowcount
    return removed


def prune_now_and_then():
    # At most once an hour per process, on a write: cheap, and no scheduler to run.
    if time.monotonic() - _last_prune["at"] < PRUNE_INTERVAL_SECONDS or not _prune_lock.acquire(blocking=False):
        return
    try:
        _last_prune["at"] = time.monotonic()
        prune(current_app.config["SETTINGS"].server.activity_retention_days)
    except Exception:  # noqa: BLE001 - pruning is housekeeping; the next hour tries again
        current_app.logger.exception("could not prune the activity record")
    finally:
        _prune_lock.release()
