"""Admin sign-in and sign-out, the login_required guard, and the `flask admin` commands."""

import functools
import getpass
import json
import logging
import sys
import threading
from urllib.parse import urlsplit

import click
from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from chat.tables import adopt_legacy_threads
from core.admins import (
    AdminFileError,
    add_admin,
    admin_names,
    find_admin,
    parse_roles,
    remove_admin,
    set_roles,
    stable_admin_id,
    verify_admin,
)
from core.database import database
from core.errors import not_signed_in, wants_json
from core.extensions import client_address, current_settings, hit_limits, limiter, retry_after_if_over
from core.security import no_store
from core.sessions import record_sign_out, session_problem, start_session

bp = Blueprint("auth", __name__, cli_group="admin")


# scrypt takes tens of milliseconds of a core: a flood of sign-ins must not take every worker thread.
MAX_CONCURRENT_PASSWORD_CHECKS = 4
_password_checks = threading.BoundedSemaphore(MAX_CONCURRENT_PASSWORD_CHECKS)
audit = logging.getLogger("audit")


def _admins_file():
    return current_settings().auth.admin_users_file


def _note_admin_file_error(error):
    # Nobody is let in until the file is fixed; the log names the file, the login page only says what is wrong.
    current_app.logger.error("admin file unusable: %s", error)
    g.admin_file_error = error.public


def _known_admins():
    try:
        return admin_names(_admins_file())
    except AdminFileError as error:
        _note_admin_file_error(error)
        return []


def _find_admin(name):
    try:
        return find_admin(_admins_file(), name)
    except AdminFileError as error:
        _note_admin_file_error(error)
        return None


def _audit(event, username):
    # The username comes from the form: quoted, so a crafted one cannot forge another log line. Never the password.
    audit.info("%s admin=%s client=%s request_id=%s", event, json.dumps(username[:80]), request.remote_addr,
               g.get("request_id"))


@bp.before_app_request
def load_signed_in_admin():
    """g.admin (the name, for display and activity), g.admin_id (keys the chat store), g.admin_openai_id (the
    admin's id at OpenAI) and g.admin_roles (a tuple: which of the agent's tools they may use), or None and ().
    A session ends here when its admin was removed, re-added, given a new password or new roles, signed out
    anywhere, or when it outlived SESSION_LIFETIME_HOURS or SESSION_IDLE_MINUTES."""
    g.admin = g.admin_id = g.admin_openai_id = None
    g.admin_roles = ()
    name = session.get("admin")
    if name is None:
        return
    admin = _find_admin(name)
    problem = session_problem(session, admin, current_app.secret_key, current_settings().auth, database())
    if problem is not None:
        session.clear()
        if problem:
            flash(problem, "error")
        return
    g.admin, g.admin_id, g.admin_roles = name, admin.admin_id, admin.roles
    g.admin_openai_id = stable_admin_id(current_app.secret_key, admin.admin_id)


def login_required(view):
    """Pages redirect to /login, htmx requests get HX-Redirect, and the API (/api/, /chatkit) answers 401 JSON."""

    @functools.wraps(view)
    def guarded(**kwargs):
        if g.admin is not None:
            return view(**kwargs)
        if wants_json():
            raise not_signed_in()
        login_url = url_for("auth.login", next=request.full_path.rstrip("?"))
        if request.headers.get("HX-Request"):
            return "", 401, {"HX-Redirect": login_url}
        return redirect(login_url)

    return guarded


def _safe_next(target):
    """`target` when it is a path on this site, else None, so the login form cannot bounce an admin elsewhere.

    Browsers (and werkzeug's Location header) drop tabs and line breaks from URLs and read a backslash as a
    slash, so "/<tab>/evil.example" or "/<backslash>evil.example" would leave the site: such targets are refused."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(character.isspace() or not character.isprintable() for character in target):
        return None
    parsed = urlsplit(target)
    return target if not parsed.scheme and not parsed.netloc else None


def _login_limit():
    return current_settings().auth.login_rate_limit


def _login_page(username, status, message=None, headers=None):
    if message:
        flash(message, "error")
    return render_template("auth/login.html", username=username), status, headers or {}


@bp.route("/login", methods=("GET", "POST"))
@no_store
@limiter.limit(_login_limit, methods=["POST"], key_func=client_address)
def login():
    username = request.form.get("username", "").strip()
    known = _known_admins()
    if g.get("admin_file_error"):
        return _login_page(username, 503, f"Sign-in is unavailable until the admin file is fixed: {g.admin_file_error}")
    if request.method == "POST":
        return _sign_in(username, request.form.get("password", ""))
    if not known:
        flash("No admin exists yet. Create one with: flask admin add NAME", "error")
    return _login_page(username, 200)


def _sign_in(username, password):
    user_limit = current_settings().auth.login_user_rate_limit
    # No real username is longer (core.admins.USERNAME), and a huge form field must not become a huge storage key.
    limit_key = username[:65]
    retry_after = retry_after_if_over(user_limit, "login-user", limit_key)
    if retry_after is not None:
        _audit("sign_in_refused_too_many_failures", username)
        return _login_page(username, 429, f"Too many failed sign-ins for this username ({user_limit}). "
                           f"Try again in {retry_after} s.", {"Retry-After": str(retry_after)})
    if not _password_checks.acquire(blocking=False):
        return _login_page(username, 503, "Too many sign-ins are being checked right now; try again in a moment.",
                           {"Retry-After": "1"})
    try:
        correct = verify_admin(_admins_file(), username, password)
        admin = _find_admin(username) if correct else None
    finally:
        _password_checks.release()
    if admin is None:
        hit_limits(user_limit, "login-user", limit_key)
        _audit("sign_in_failed", username)
        return _login_page(username, 401, "Wrong username or password.")
    start_session(session, current_app.secret_key, username, admin)
    adopt_legacy_threads(database(), username, admin.admin_id)
    _audit("sign_in", username)
    return redirect(_safe_next(request.args.get("next")) or url_for("realtime.voice_page"))


@bp.post("/logout")
def logout():
    if g.admin is not None:
        record_sign_out(database(), g.admin_id)
        _audit("sign_out", g.admin)
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


def _roles_option(text):
    try:
        return parse_roles(text)
    except AdminFileError as error:
        raise click.ClickException(str(error)) from None


@bp.cli.command("add")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@click.option("--role", "role", default=None, metavar="ROLES",
              help="Comma-separated roles, e.g. viewer or viewer,operator (default: keep an existing admin's).")
def add_command(name, password_stdin, role):
    """Add an admin, or set a new password for an existing one."""
    roles = None if role is None else _roles_option(role)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise click.ClickException("the two passwords differ; nothing was changed")
    path = current_settings().auth.admin_users_file
    try:
        is_new = add_admin(path, name, password, roles)
    except AdminFileError as error:
        raise click.ClickException(str(error)) from None
    held = f" with roles {','.join(roles)}" if roles else ""
    click.echo(f"{'Added' if is_new else 'Updated the password of'} admin {name}{held} in {path}")


@bp.cli.command("role")
@click.argument("name")
@click.argument("roles", metavar="ROLES")
def role_command(name, roles):
    """Give an admin exactly ROLES (comma-separated; "" for none). Their sessions end, as at sign-out."""
    path = current_settings().auth.admin_users_file
    chosen = _roles_option(roles)
    try:
        before = set_roles(path, name, chosen)
    except AdminFileError as error:
        raise click.ClickException(str(error)) from None
    if before is None:
        raise click.ClickException(f"no admin named {name} in {path}")
    # New roles already end the admin's sessions (they are in the session fingerprint); a recorded sign-out also
    # reaches whatever else ends with one (live calls).
    record_sign_out(database(), before.admin_id)
    click.echo(f"Admin {name} now has {'roles ' + ','.join(chosen) if chosen else 'no roles'} "
               f"(was {','.join(before.roles) or 'none'}); their sessions have ended.")


@bp.cli.command("remove")
@click.argument("name")
def remove_command(name):
    """Remove an admin; they are signed out at their next request."""
    path = current_settings().auth.admin_users_file
    if not remove_admin(path, name):
        raise click.ClickException(f"no admin named {name} in {path}")
    click.echo(f"Removed admin {name} from {path}")


@bp.cli.command("list")
def list_command():
    """List the admins, each with their roles."""
    path = current_settings().auth.admin_users_file
    for name in admin_names(path):
        roles = find_admin(path, name).roles
        click.echo(f"{name}\t{','.join(roles)}" if roles else name)
