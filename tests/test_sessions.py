"""How a session ends: sign-out anywhere, a new password, removal, its lifetime and idle time; and its cookie."""

import time

import pytest

from core.admins import add_admin, remove_admin
from tests.support import ADMIN, PASSWORD, SignedInAdmin, csrf_token_from


class Clock:
    """Replaces core.sessions.clock, so a test moves time instead of waiting."""

    def __init__(self, now=1_800_000_000.0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr("core.sessions.clock", fake)
    return fake


def session_cookie(client, name="session"):
    return client.get_cookie(name).value


def replay(client, value, name="session"):
    client.set_cookie(name, value)
    return client.get("/admin/voice")


def test_a_cookie_replayed_after_sign_out_is_refused(clock, admin):
    stolen = session_cookie(admin.client)
    clock.advance(1)
    admin.client.post("/logout", data={"csrf_token": admin.csrf_token})
    assert replay(admin.client, stolen).status_code == 302


def test_signing_out_ends_the_admins_sessions_on_other_devices(clock, app):
    laptop, phone = SignedInAdmin(app.test_client()), SignedInAdmin(app.test_client())
    laptop.login()
    phone.login()
    clock.advance(1)
    laptop.client.post("/logout", data={"csrf_token": laptop.csrf_token})
    assert phone.client.get("/admin/voice").status_code == 302


def test_a_sign_out_through_another_instance_ends_the_session_here_within_the_recheck_interval(
        clock, app, make_app, monkeypatch):
    monkeypatch.setattr("core.sessions.SIGN_OUT_RECHECK_SECONDS", 0.2)
    other_instance = make_app()  # the same database, another engine: another instance's view of it
    here, there = SignedInAdmin(app.test_client()), SignedInAdmin(other_instance.test_client())
    here.login()
    there.login()
    assert here.client.get("/admin/voice").status_code == 200
    clock.advance(1)
    there.client.post("/logout", data={"csrf_token": there.csrf_token})
    time.sleep(0.25)
    assert here.client.get("/admin/voice").status_code == 302


def test_signing_in_again_after_signing_out_works(clock, admin):
    clock.advance(1)
    admin.client.post("/logout", data={"csrf_token": admin.csrf_token})
    clock.advance(1)
    admin.login()
    assert admin.client.get("/admin/voice").status_code == 200


def test_a_cookie_replayed_after_a_password_change_is_refused(admin, admins_file):
    stolen = session_cookie(admin.client)
    add_admin(admins_file, ADMIN, "a brand new password")
    assert replay(admin.client, stolen).status_code == 302


def test_a_cookie_replayed_after_removal_and_re_adding_the_same_name_is_refused(admin, admins_file):
    stolen = session_cookie(admin.client)
    remove_admin(admins_file, ADMIN)
    add_admin(admins_file, ADMIN, PASSWORD)
    assert replay(admin.client, stolen).status_code == 302


def test_a_session_ends_after_its_lifetime_however_active(clock, admin):
    for _ in range(12):
        clock.advance(59 * 60)
        assert admin.client.get("/admin/voice").status_code == 200
    clock.advance(13 * 60)
    response = admin.client.get("/admin/voice", follow_redirects=True)
    assert "Your session expired after 12 hours; sign in again." in response.get_data(as_text=True)
    assert response.request.path == "/login"


def test_a_session_ends_after_an_hour_without_a_request(clock, admin):
    clock.advance(59 * 60)
    assert admin.client.get("/admin/voice").status_code == 200
    clock.advance(61 * 60)
    response = admin.client.get("/admin/voice", follow_redirects=True)
    assert "Your session expired after 60 minutes without activity; sign in again." in response.get_data(as_text=True)


def test_the_lifetime_and_idle_time_are_configurable(clock, make_app):
    admin = SignedInAdmin(make_app(SESSION_LIFETIME_HOURS="1", SESSION_IDLE_MINUTES="10").test_client())
    admin.login()
    clock.advance(11 * 60)
    page = admin.client.get("/admin/voice", follow_redirects=True).get_data(as_text=True)
    assert "expired after 10 minutes without activity" in page


def test_the_session_cookie_is_a_host_cookie_when_https_is_forced(make_app):
    client = make_app(FORCE_HTTPS="1").test_client()
    base = "https://console.example.org"
    token = csrf_token_from(client.get("/login", base_url=base).get_data(as_text=True))
    response = client.post("/login", base_url=base, headers={"Referer": f"{base}/login"},
                           data={"username": ADMIN, "password": PASSWORD, "csrf_token": token})
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie


def test_the_session_cookie_keeps_its_plain_name_without_https(admin):
    assert admin.client.get_cookie("session") is not None
