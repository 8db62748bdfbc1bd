"""The admin accounts file: one `username:<admin id>:<werkzeug password hash>[:<roles>]` per line."""

import functools
import hashlib
import hmac
import logging
import os
import re
import secrets
import stat as stat_module
import tempfile
from typing import NamedTuple

from werkzeug.security import check_password_hash, generate_password_hash

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
# A random id given to an admin when added and kept across password changes; never derived from the name, so an
# admin added under a removed admin's name is someone new (no shared chat threads, a new id at OpenAI).
ADMIN_ID = re.compile(r"^id_[0-9a-f]{32}$")
MIN_PASSWORD_LENGTH = 8
# A role names what an admin may do with the agent's tools (an agent file's `roles = [...]`); an admin holds any
# number, comma-separated in the optional fourth field of their line.
ROLE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


@functools.cache
def _dummy_hash():
    """Checked against when the username is unknown, so a wrong name costs as long as a wrong password. Made on the
    first such sign-in, not at import: scrypt's ~0.6 s would otherwise delay every worker's start."""
    return generate_password_hash("not-a-real-password")


log = logging.getLogger(__name__)


class AdminFileError(ValueError):
    """The admins file cannot be used. str() names the file (for the server log and the CLI); `public` does not
    (for the login page, which anonymous visitors see)."""

    def __init__(self, message, public=None):
        super().__init__(message)
        self.public = public or message


class Admin(NamedTuple):
    admin_id: str  # id_<32 hex>: keys the admin's chat store and, keyed with SECRET_KEY, its OpenAI identifier
    password_hash: str
    roles: tuple = ()  # role names, e.g. ("viewer",): which of the agent's tools the admin may see and run


def parse_roles(text):
    """("viewer", "operator") from "viewer,operator" (spaces and empty names dropped); raises AdminFileError."""
    roles = tuple(dict.fromkeys(part.strip().lower() for part in text.split(",") if part.strip()))
    for role in roles:
        if not ROLE_NAME.match(role):
            raise AdminFileError(f"{role!r} is not a role name: 1-32 lower-case letters, digits, '_' or '-', "
                                 "starting with a letter or digit")
    return roles


_cache = {}  # path -> (modification time, size, entries): every request looks its admin up


def _read(path):
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise _unreadable(path, error) from None
    cached = _cache.get(path)
    if cached and cached[:2] == (stat.st_mtime_ns, stat.st_size):
        return dict(cached[2])
    entries = _parse(path)
    _cache[path] = (stat.st_mtime_ns, stat.st_size, entries)
    return dict(entries)


def _parse(path):
    try:
        with open(path, encoding="utf-8") as lines:
            return _entries(path, lines)
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise _unreadable(path, error) from None


def _unreadable(path, error):
    return AdminFileError(f"{path} cannot be read: {error}", public="the admins file cannot be read (the server log says why)")


def _entries(path, lines):
    entries = {}
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, rest = line.partition(":")
        expected = "expected username:<admin id>:<password hash>[:<roles>]"
        if not sep or not USERNAME.match(name) or not rest:
            raise AdminFileError(f"{path}, line {number}: {expected}", public=f"line {number}: {expected}")
        try:
            entries[name] = _admin(rest)
        except AdminFileError as error:
            raise AdminFileError(f"{path}, line {number}: {error}", public=f"line {number}: {error}") from None
    return entries


def _admin(rest):
    # werkzeug's hashes hold colons ("scrypt:32768:8:1$salt$hex") and always end in a "$"-part: a last part
    # without "$" is the roles field.
    roles = ()
    head, sep, last = rest.rpartition(":")
    if sep and "$" not in last and "$" in head:
        rest, roles = head, parse_roles(last)
    admin_id, sep, password_hash = rest.partition(":")
    if sep and ADMIN_ID.match(admin_id):
        return Admin(admin_id, password_hash, roles)
    # A line from before admin ids (username:<hash>): the id comes from the hash, whose salt is random, and is
    # written into the file at its next change, so a password change keeps it.
    return Admin("id_" + hashlib.sha256(f"legacy-admin:{rest}".encode()).hexdigest()[:32], rest, roles)


def _write(path, entries):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    # Write beside the file and rename over it, so a crash never leaves a half-written admin list.
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".admins-")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write("# Admins of the voice console: username:<admin id>:<werkzeug password hash>[:<roles>]. "
                  "Manage with `flask admin`.\n")
        for name, admin in sorted(entries.items()):
            roles = f":{','.join(admin.roles)}" if admin.roles else ""
            out.write(f"{name}:{admin.admin_id}:{admin.password_hash}{roles}\n")
    _keep_owner_and_mode(temporary, path)
    os.replace(temporary, path)


def _keep_owner_and_mode(temporary, path):
    # The rename replaces the file: without this an operator's chown/chmod (e.g. readable by the service's group)
    # would be lost at every `flask admin add`. A new file is readable by its owner only.
    try:
        original = os.stat(path)
    except FileNotFoundError:
        os.chmod(temporary, 0o600)
        return
    try:
        os.chown(temporary, original.st_uid, original.st_gid)
    except PermissionError:
        log.warning("%s: could not keep the owner %d:%d (not running as root)", path, original.st_uid, original.st_gid)
    os.chmod(temporary, stat_module.S_IMODE(original.st_mode))


def admin_names(path):
    return sorted(_read(path))


def find_admin(path, username):
    """The Admin (id and password hash) named `username`, or None."""
    return _read(path).get(username)


def verify_admin(path, username, password):
    """True when the username exists and the password matches its hash."""
    admin = _read(path).get(username)
    if admin is None:
        check_password_hash(_dummy_hash(), password)
        return False
    return check_password_hash(admin.password_hash, password)


def add_admin(path, username, password, roles=None):
    """Adds the admin, or replaces the password of an existing one (and its roles, when `roles` is not None).
    Returns True when the admin is new."""
    if not USERNAME.match(username):
        raise AdminFileError(
            "a username is 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AdminFileError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    entries = _read(path)
    existing = entries.get(username)
    admin_id = existing.admin_id if existing else "id_" + secrets.token_hex(16)
    if roles is None:
        roles = existing.roles if existing else ()
    entries[username] = Admin(admin_id, generate_password_hash(password), tuple(roles))
    _write(path, entries)
    return existing is None


def set_roles(path, username, roles):
    """Gives the admin exactly `roles` (a tuple from parse_roles). Returns the Admin as it was, or None when there is
    no such admin."""
    entries = _read(path)
    existing = entries.get(username)
    if existing is None:
        return None
    entries[username] = existing._replace(roles=tuple(roles))
    _write(path, entries)
    return existing


def remove_admin(path, username):
    """Removes the admin. Returns False when there was no such admin."""
    entries = _read(path)
    if entries.pop(username, None) is None:
        return False
    _write(path, entries)
    return True


def stable_admin_id(secret_key, admin_id):
    """The admin's id at OpenAI (Realtime safety identifier, ChatKit user, TURN username): HMAC(SECRET_KEY, admin
    id), so it reveals neither the name nor the id in the admins file. Changing SECRET_KEY changes it."""
    return "admin_" + _keyed(secret_key, f"openai-user:{admin_id}")[:32]


def legacy_admin_id(username):
    """The id OpenAI knew an admin by before admin ids (sha256 of the name): hosted ChatKit threads opened then."""
    return "admin_" + hashlib.sha256(f"voice-console:{username}".encode()).hexdigest()[:32]


def session_fingerprint(secret_key, admin):
    """Kept in the admin's session: a new password, new roles (or a removed and re-added admin) change it, which
    ends every session signed in before, on every worker, whoever edited the file."""
    roles = f":{','.join(admin.roles)}" if admin.roles else ""  # no roles: the fingerprint of before roles existed
    return _keyed(secret_key, f"session:{admin.admin_id}:{admin.password_hash}{roles}")[:32]


def _keyed(secret_key, message):
    key = secret_key.encode() if isinstance(secret_key, str) else secret_key
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()
