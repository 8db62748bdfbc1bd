"""Helpers the test files share: the test accounts and key, a signed-in client, and readers of pages and metrics."""

import re
from datetime import date, timedelta

from core.admins import find_admin, stable_admin_id

# The day every test app stands on (core.clock.FixedClock) unless a test picks another: no test reads the machine's
# date. Tests of what changes on a day walk core.openai_catalog.catalog_dates() instead.
TODAY = "2026-12-03"
API_KEY = "sk-test-fake-key-1a2b"


def day_before(day):
    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()


def day_after(day):
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def around(day):
    """The day before `day`, the day itself and the day after: where a dated change must (not) have happened."""
    return [day_before(day), day, day_after(day)]

BASE_URL = "https://api.openai.com/v1"
ADMIN, PASSWORD = "alice", "correct horse battery"


class SignedInAdmin:
    """A test client signed in through the real login form, sending the CSRF token like the pages do."""

    def __init__(self, client):
        self.client = client
        self.csrf_token = None

    def login(self, username=ADMIN, password=PASSWORD):
        token = csrf_token_from(self.client.get("/login").get_data(as_text=True))
        response = self.client.post("/login", data={"username": username, "password": password, "csrf_token": token})
        self.csrf_token = csrf_token_from(self.client.get("/admin/voice").get_data(as_text=True))
        return response

    def post(self, path, **kwargs):
        headers = {"X-CSRFToken": self.csrf_token, **kwargs.pop("headers", {})}
        return self.client.post(path, headers=headers, **kwargs)


def admin_id_of(app, name=ADMIN):
    """The id that keys the admin's chat store (from the admins file)."""
    return find_admin(app.config["SETTINGS"].auth.admin_users_file, name).admin_id


def openai_id_of(app, name=ADMIN):
    """The id OpenAI knows the admin by (safety identifier, ChatKit user, TURN username)."""
    return stable_admin_id(app.secret_key, admin_id_of(app, name))


def csrf_token_from(html):
    match = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "the page carries no CSRF token"
    return match.group(1)


def metric_value(text, name, **labels):
    """The value of one sample in the Prometheus text format (0.0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        match = re.match(r"^([a-z_]+)(?:\{(.*)\})? (\S+)$", line)
        if match and match.group(1) == name:
            found = ",".join(sorted((match.group(2) or "").split(","))) if match.group(2) else ""
            if found == wanted:
                return float(match.group(3))
    return 0.0
