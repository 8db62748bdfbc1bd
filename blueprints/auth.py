"""Admin sign-in and sign-out, the login_required guard, and the `flask admin` commands."""

import functools
import getpass
import sys
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

from core.admins import (
    AdminFileError,
    add_admin,
    admin_names,
    remove_admin,
    verify_admin,
)
from core.errors import not_signed_in, wants_json
from core.extensions import current_settings, limiter
from core.security import no_store

bp = Blueprint("auth", __name__, cli_group="admin")


def _known_admins():
    path = current_settings().auth.admin_users_file
    try:
        return admin_names(path)
    except AdminFileError as error:
        # Nobody is let in until the file is fixed; the login page says why.
        current_app.logger.error("admin file unreadable: %s", error)
        g.admin_file_error = str(error)
        return []


@bp.before_app_request
def load_signed_in_admin():
    name = session.get("admin")
    known = _known_admins()
    # An admin removed from the file is signed out at their next request.
    g.admin = name if name in known else None


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


@bp.route("/login", methods=("GET", "POST"))
@no_store
@limiter.limit(_login_limit, methods=["POST"], key_func=lambda: request.remote_addr or "unknown")
def login():
    username = request.form.get("username", "").strip()
    if g.get("admin_file_error"):
        flash(f"Sign-in is unavailable until the admin file is fixed: {g.admin_file_error}", "error")
        return render_template("auth/login.html", username=username), 503
    if request.method == "POST":
        if verify_admin(current_settings().auth.admin_users_file, username, request.form.get("password", "")):
            session.clear()
            session["admin"] = username
            return redirect(_safe_next(request.args.get("next")) or url_for("realtime.voice_page"))
        flash("Wrong username or password.", "error")
        return render_template("auth/login.html", username=username), 401
    if not _known_admins():
        flash("No admin exists yet. Create one with: flask admin add NAME", "error")
    return render_template("auth/login.html", username=username)


@bp.post("/logout")
def logout():
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.cli.command("add")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
def add_command(name, password_stdin):
    """Add an admin, or set a new password for an existing one."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise click.ClickException("the two passwords differ; nothing was changed")
    path = current_settings().auth.admin_users_file
    try:
        is_new = add_admin(path, name, password)
    except AdminFileError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{'Added' if is_new else 'Updated the password of'} admin {name} in {path}")


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
    """List the admins."""
    for name in admin_names(current_settings().auth.admin_users_file):
        click.echo(name)
