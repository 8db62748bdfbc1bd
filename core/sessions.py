"""Server-side checks on the signed session cookie: password fingerprint, sign-out epoch, lifetime and idle time."""

import threading
import time
import weakref

from sqlalchemy import Column, Float, String, Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from core.admins import session_fingerprint
from core.database import metadata

# When each admin last signed out: sessions signed in before then are over, on every device.
sign_outs_table = Table(
    "admin_sign_outs",
    metadata,
    Column("admin_id", String(64), primary_key=True),  # core.admins.Admin.admin_id, not the reusable name
    Column("signed_out_at", Float, nullable=False),
)

# A session's last request is written back only this often, so most answers need not set the cookie again.
SEEN_RESOLUTION_SECONDS = 60
# Every signed-in request checks the admin's sign-out time. A process reads it from the database at most this
# often per admin (the SELECT was a fifth of a mint's CPU under load): a sign-out through this process counts at
# once, one through another worker or instance within this many seconds.
SIGN_OUT_RECHECK_SECONDS = 1.0

# engine -> {admin_id: (signed_out_at or None, monotonic time read)}; weak, as tests make many apps in one process.
_sign_outs_read = weakref.WeakKeyDictionary()
_sign_outs_lock = threading.Lock()


def clock():
    """Seconds since the epoch; tests replace it to move time."""
    return time.time()


def start_session(session, secret_key, username, admin):
    session.clear()
    now = clock()
    session.update(admin=username, fingerprint=session_fingerprint(secret_key, admin), signed_in_at=now, seen_at=now)


def record_sign_out(engine, admin_id):
    """Ends every session of the admin that began before now."""
    now = clock()
    _remember_sign_out(engine, admin_id, now)
    with engine.begin() as connection:
        changed = connection.execute(
            update(sign_outs_table).where(sign_outs_table.c.admin_id == admin_id).values(signed_out_at=now)
        ).rowcount
        if changed:
            return
    try:
        with engine.begin() as connection:
            connection.execute(insert(sign_outs_table).values(admin_id=admin_id, signed_out_at=now))
    except IntegrityError:  # another instance signed the same admin out at the same moment
        with engine.begin() as connection:
            connection.execute(
                update(sign_outs_table).where(sign_outs_table.c.admin_id == admin_id).values(signed_out_at=now)
            )


def _remember_sign_out(engine, admin_id, signed_out_at):
    with _sign_outs_lock:
        _sign_outs_read.setdefault(engine, {})[admin_id] = (signed_out_at, time.monotonic())


def _signed_out_at(engine, admin_id):
    with _sign_outs_lock:
        known = _sign_outs_read.get(engine, {}).get(admin_id)
    asked_at = time.monotonic()  # before the SELECT: the interval bounds how old the answer may be
    if known is not None and asked_at - known[1] < SIGN_OUT_RECHECK_SECONDS:
        return known[0]
    with engine.connect() as connection:
        signed_out_at = connection.execute(
            select(sign_outs_table.c.signed_out_at).where(sign_outs_table.c.admin_id == admin_id)
        ).scalar()
    # A sign-out recorded here while this read was under way is newer: keep it.
    with _sign_outs_lock:
        per_admin = _sign_outs_read.setdefault(engine, {})
        recorded = per_admin.get(admin_id)
        if recorded is not None and (recorded[0] or 0) > (signed_out_at or 0):
            signed_out_at = recorded[0]
        per_admin[admin_id] = (signed_out_at, asked_at)
    return signed_out_at


def session_problem(session, admin, secret_key, auth_settings, engine):
    """Why the session may not continue (words for the login page; "" when no message is due), or None when it may.
    `admin` is the Admin the session names, None when no longer in the admins file."""
    if admin is None or session.get("fingerprint") != session_fingerprint(secret_key, admin):
        return ""  # removed, re-added or given a new password: the old sessions simply end
    now, signed_in_at, seen_at = clock(), session.get("signed_in_at", 0), session.get("seen_at", 0)
    signed_out_at = _signed_out_at(engine, admin.admin_id)
    if signed_out_at is not None and signed_in_at <= signed_out_at:
        return ""
    if now - signed_in_at > auth_settings.session_lifetime_hours * 3600:
        return f"Your session expired after {_amount(auth_settings.session_lifetime_hours, 'hour')}; sign in again."
    if now - seen_at > auth_settings.session_idle_minutes * 60:
        return (f"Your session expired after {_amount(auth_settings.session_idle_minutes, 'minute')} without "
                "activity; sign in again.")
    # Never so coarse that the idle timeout could end a session whose requests were too close to be written.
    if now - seen_at >= min(SEEN_RESOLUTION_SECONDS, auth_settings.session_idle_minutes * 6):
        session["seen_at"] = now
    return None


def _amount(value, unit):
    shown = f"{value:g}"
    return f"{shown} {unit}" if shown == "1" else f"{shown} {unit}s"
