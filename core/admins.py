"""The admin accounts file: one `username:<werkzeug password hash>` per line."""

import hashlib
import os
import re
import tempfile

from werkzeug.security import check_password_hash, generate_password_hash

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD_LENGTH = 8
# Checked against when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class AdminFileError(ValueError):
    pass


_cache = {}  # path -> (modification time, size, entries): every request looks its admin up


def _read(path):
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return {}
    cached = _cache.get(path)
    if cached and cached[:2] == (stat.st_mtime_ns, stat.st_size):
        return dict(cached[2])
    entries = _parse(path)
    _cache[path] = (stat.st_mtime_ns, stat.st_size, entries)
    return dict(entries)


def _parse(path):
    try:
        with open(path, encoding="utf-8") as lines:
            entries = {}
            for number, line in enumerate(lines, 1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                name, sep, password_hash = line.partition(":")
                if not sep or not USERNAME.match(name) or not password_hash:
                    raise AdminFileError(f"{path}, line {number}: expected username:<password hash>")
                entries[name] = password_hash
            return entries
    except FileNotFoundError:
        return {}


def _write(path, entries):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    # Write beside the file and rename over it, so a crash never leaves a half-written admin list.
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".admins-")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write("# Admins of the voice console: username:<werkzeug password hash>. Manage with `flask admin`.\n")
        for name, password_hash in sorted(entries.items()):
            out.write(f"{name}:{password_hash}\n")
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def admin_names(path):
    return sorted(_read(path))


def verify_admin(path, username, password):
    """True when the username exists and the password matches its hash."""
    password_hash = _read(path).get(username)
    if password_hash is None:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(password_hash, password)


def add_admin(path, username, password):
    """Adds the admin, or replaces the password of an existing one. Returns True when the admin is new."""
    if not USERNAME.match(username):
        raise AdminFileError(
            "a username is 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AdminFileError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    entries = _read(path)
    is_new = username not in entries
    entries[username] = generate_password_hash(password)
    _write(path, entries)
    return is_new


def remove_admin(path, username):
    """Removes the admin. Returns False when there was no such admin."""
    entries = _read(path)
    if entries.pop(username, None) is None:
        return False
    _write(path, entries)
    return True


def stable_admin_id(username):
    """A stable, non-reversible id for an admin, sent to OpenAI as the safety identifier and ChatKit user."""
    return "admin_" + hashlib.sha256(f"voice-console:{username}".encode()).hexdigest()[:32]
