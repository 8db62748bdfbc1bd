"""Pruning: chat threads untouched for CHAT_RETENTION_DAYS go with their items, at most hourly per process, on a write."""

import threading
import time

from sqlalchemy import delete, select

from chat.tables import approvals_table, items_table, threads_table

PRUNE_INTERVAL_SECONDS = 3600
_last_prune = {"at": -PRUNE_INTERVAL_SECONDS}
_prune_lock = threading.Lock()


def prune_threads(engine, retention_days, now=None):
    """Deletes threads whose last change is older than the retention, and their items; returns how many threads."""
    cutoff = (now or time.time()) - retention_days * 86400
    with engine.begin() as connection:
        old = select(threads_table.c.id).where(threads_table.c.updated_at < cutoff)
        connection.execute(delete(items_table).where(items_table.c.thread_id.in_(old)))
        connection.execute(delete(approvals_table).where(approvals_table.c.thread_id.in_(old)))
        return connection.execute(delete(threads_table).where(threads_table.c.updated_at < cutoff)).rowcount


def prune_threads_now_and_then(engine, retention_days, logger):
    # At most once an hour per process, on a write: cheap, and no scheduler to run (as activity/retention.py).
    if time.monotonic() - _last_prune["at"] < PRUNE_INTERVAL_SECONDS or not _prune_lock.acquire(blocking=False):
        return
    try:
        _last_prune["at"] = time.monotonic()
        prune_threads(engine, retention_days)
    except Exception:  # noqa: BLE001 - pruning is housekeeping; the next hour tries again
        logger.exception("could not prune old chat threads")
    finally:
        _prune_lock.release()
