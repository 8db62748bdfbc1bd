"""Writing mints and tool calls to the activity record: counted at once, written by one background thread per process
in batches."""

import atexit
import queue
import threading
import time

from flask import current_app
from sqlalchemy import insert

from activity.retention import prune_now_and_then
from activity.tables import MINT_KINDS, OUTCOMES, TOOL_CHANNELS, cut_text, mints, tool_calls, utc_now
from core.database import database
from core.errors import ApiError
from core.metrics import count_mint, count_tool_call


def record_mint(kind, admin, outcome, latency_ms, request_id=None, error_code=None):
    """Stores one mint now (kind: realtime, relay, chatkit or test; outcome: ok or error)."""
    row = _mint_row(kind, admin, outcome, latency_ms, request_id, error_code)
    count_mint(kind, outcome)
    _insert_mints([row])


def _mint_row(kind, admin, outcome, latency_ms, request_id, error_code):
    if kind not in MINT_KINDS or outcome not in OUTCOMES:
        raise ValueError(f"unknown mint kind {kind!r} or outcome {outcome!r}")
    return {
        "created_at": utc_now(), "admin": admin, "kind": kind, "outcome": outcome,
        "latency_ms": None if latency_ms is None else round(float(latency_ms), 1),
        "request_id": cut_text(request_id), "error_code": cut_text(error_code),
    }


def _insert_mints(rows):
    with database().begin() as connection:
        connection.execute(insert(mints), rows)  # one statement for the whole batch, compiled once and cached
    prune_now_and_then()


def _insert_tool_calls(rows):
    with database().begin() as connection:
        connection.execute(insert(tool_calls), rows)
    prune_now_and_then()


def record_tool_call(app, admin, channel, tool, ms, call_id=None, error_code=None, roles=()):
    """Counts one tool call (channel voice or chat; error_code None when it produced an output; roles: the admin's)
    and queues its row.

    `app` is explicit because the chat agent's tools run on the chat's event loop, outside any Flask context."""
    if channel not in TOOL_CHANNELS:
        raise ValueError(f"unknown tool call channel {channel!r}")
    outcome = "error" if error_code else "ok"
    # A name the agent file does not have is whatever the caller sent: one label value for all, not one each.
    label = "(unknown)" if error_code == "unknown_tool" else tool
    count_tool_call(channel, label, error_code or "ok", None if ms is None else ms / 1000)
    row = {
        "created_at": utc_now(), "admin": admin, "channel": channel, "tool": str(tool)[:64], "outcome": outcome,
        "error_code": cut_text(error_code), "ms": None if ms is None else round(float(ms), 1),
        "call_id": cut_text(call_id), "role": cut_text(",".join(roles)) if roles else None,
    }
    _writer.put(app, row, kind="tool_call")


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
    and a request spends a queue put on its record instead of an insert (docs/performance.md).
    """

    MAX_BATCH = 500

    def __init__(self):
        self._queue = queue.Queue()
        self._start_lock = threading.Lock()
        self._thread = None

    def put(self, app, row, kind="mint"):
        if self._thread is None or not self._thread.is_alive():  # first use, or a worker forked from a parent
            self._start()
        self._queue.put((app, kind, row))

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
        rows_by_target = {}
        for app, kind, row in batch:
            rows_by_target.setdefault((app, kind), []).append(row)
        for (app, kind), rows in rows_by_target.items():
            insert_rows, what = (_insert_mints, "mint(s)") if kind == "mint" else (_insert_tool_calls, "tool call(s)")
            with app.app_context():
                try:
                    insert_rows(rows)
                except Exception:  # noqa: BLE001 - logged with its traceback; the calls were answered already
                    app.logger.exception("could not record %d %s in the activity record", len(rows), what)


_writer = _MintWriter()
# A worker that exits (gunicorn's graceful stop, a restart) writes what it still holds first.
atexit.register(_writer.flush)


def flush_mints():
    """Waits for this process's queued mints and tool calls: the pages call it so an admin sees their own at once."""
    _writer.flush()
