"""Admin sign-in: who gets in, where they land, and what everyone else sees."""

import hashlib
import logging
import os
import stat
import threading

import pytest
from sqlalchemy import insert
from werkzeug.security import generate_password_hash

from app import create_app
from chat.tables import current_thread_id, threads_table
from core.admins import add_admin, admin_names, find_admin, legacy_admin_id, remove_admin, verify_admin
from core.clock import FixedClock
from harness.payloads import client_secret_response
from tests.support import ADMIN, PASSWORD, TODAY, SignedInAdmin, admin_id_of, csrf_token_from, openai_id_of


def test_admin_pages_redirect_to_login_when_signed_out(client):
    for path in ("/admin/voice", "/admin/chat"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"] == f"/login?next={path}"


def test_root_redirects_to_the_voice_page(client):
    assert client.get("/").headers["Location"] == "/admin/voice"


def test_htmx_requests_get_hx_redirect_to_login(client):
    response = client.get("/admin/voice", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


def test_api_endpoints_answer_401_json_when_signed_out(client):
    for path in ("/api/v1/chatkit/realtime-session", "/api/v1/realtime/calls", "/api/v1/chatkit/session"):
        response = client.post(path)
        assert response.status_code == 401, path
        assert response.get_json()["status"] == "error"
        assert response.get_json()["code"] == "not_authenticated"


def test_login_lands_on_the_page_asked_for(client):
    signed_in = SignedInAdmin(client)
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login?next=/admin/chat", data={"username": ADMIN, "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/admin/chat"
    assert client.get("/admin/chat").status_code == 200
    assert signed_in


def sign_in_with_next(client, raw_next):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client.post(f"/login?next={raw_next}", data={"username": ADMIN, "password": PASSWORD, "csrf_token": token})


@pytest.mark.parametrize("raw_next", [
    "//evil.example/", "/%09/evil.example", "/%0a/evil.example", "/%0d/evil.example", "/%5Cevil.example",
    "/\\evil.example", "/%2f/evil.example", "/%2F%2Fevil.example", "https://evil.example/", "/%20/evil.example",
])
def test_login_never_redirects_off_site(client, raw_next):
    assert sign_in_with_next(client, raw_next).headers["Location"] == "/admin/voice"


def test_login_keeps_a_same_site_next_with_its_query(client):
    assert sign_in_with_next(client, "/admin/activity%3Fx%3D1").headers["Location"] == "/admin/activity?x=1"


def test_a_wrong_password_is_refused_and_keeps_the_username(client):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": ADMIN, "password": "wrong password", "csrf_token": token})
    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "Wrong username or password." in page
    assert f'value="{ADMIN}"' in page
    assert client.get("/admin/voice").status_code == 302


def test_login_without_csrf_token_is_refused(client):
    response = client.post("/login", data={"username": ADMIN, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/admin/voice").status_code == 302


def test_the_signed_in_page_shows_the_admin_and_carries_a_csrf_meta_tag(admin):
    page = admin.client.get("/admin/voice").get_data(as_text=True)
    assert "Signed in as <strong>alice</strong>" in page
    assert '<meta name="csrf-token"' in page


def test_logout_ends_the_session(admin):
    response = admin.client.post("/logout", data={"csrf_token": admin.csrf_token})
    assert response.headers["Location"] == "/login"
    assert admin.client.get("/admin/voice").status_code == 302


def test_an_admin_removed_from_the_file_is_signed_out_at_the_next_request(admin, admins_file):
    remove_admin(admins_file, ADMIN)
    assert admin.client.get("/admin/voice").status_code == 302


def test_the_session_cookie_is_httponly_samesite_lax_and_secure_unless_https_is_off(make_app):
    for force_https, secure in (("1", True), ("0", False)):
        app = make_app(FORCE_HTTPS=force_https)
        client = app.test_client()
        base = "https://localhost" if secure else "http://localhost"
        token = csrf_token_from(client.get("/login", base_url=base).get_data(as_text=True))
        response = client.post(
            "/login", base_url=base, headers={"Referer": f"{base}/login"},
            data={"username": ADMIN, "password": PASSWORD, "csrf_token": token},
        )
        assert response.status_code == 302
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert ("Secure" in cookie) is secure


def test_login_attempts_are_rate_limited(make_app):
    client = make_app(LOGIN_RATE_LIMIT="3 per minute").test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    statuses = [
        client.post("/login", data={"username": ADMIN, "password": "nope nope", "csrf_token": token}).status_code
        for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


def test_the_login_page_says_how_to_create_the_first_admin(make_app, tmp_path):
    client = make_app(ADMIN_USERS_FILE=str(tmp_path / "none.txt")).test_client()
    assert "flask admin add NAME" in client.get("/login").get_data(as_text=True)


def test_flask_admin_add_and_remove_manage_the_file(make_app, tmp_path):
    path = tmp_path / "cli-admins.txt"
    app = make_app(ADMIN_USERS_FILE=str(path))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["admin", "add", "bob", "--password-stdin"], input="a long password\n")
    assert result.exit_code == 0, result.output
    assert "Added admin bob" in result.output
    assert verify_admin(str(path), "bob", "a long password")
    assert "a long password" not in path.read_text()
    result = runner.invoke(args=["admin", "remove", "bob"])
    assert result.exit_code == 0 and admin_names(str(path)) == []
    result = runner.invoke(args=["admin", "remove", "bob"])
    assert result.exit_code != 0 and "no admin named bob" in result.output


def test_flask_admin_add_prompts_twice_and_refuses_differing_passwords(make_app, tmp_path, monkeypatch):
    path = tmp_path / "cli-admins.txt"
    runner = make_app(ADMIN_USERS_FILE=str(path)).test_cli_runner()
    answers = iter(["first password", "second password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    result = runner.invoke(args=["admin", "add", "carol"])
    assert result.exit_code != 0 and "differ" in result.output
    assert admin_names(str(path)) == []


def test_flask_admin_add_refuses_a_short_password(make_app, tmp_path):
    runner = make_app(ADMIN_USERS_FILE=str(tmp_path / "a.txt")).test_cli_runner()
    result = runner.invoke(args=["admin", "add", "dave", "--password-stdin"], input="short\n")
    assert result.exit_code != 0 and "at least 8 characters" in result.output


def test_an_existing_admin_gets_a_new_password(admins_file):
    assert add_admin(admins_file, ADMIN, "a brand new password") is False
    assert verify_admin(admins_file, ADMIN, "a brand new password")
    assert not verify_admin(admins_file, ADMIN, PASSWORD)


def test_the_app_runs_without_an_admins_file(tmp_path):
    app = create_app({"CLOCK": FixedClock(TODAY), "ENVIRON": {"SECRET_KEY": "s", "FORCE_HTTPS": "0", "ADMIN_USERS_FILE": str(tmp_path / "x" / "a.txt")}})
    assert app.test_client().get("/login").status_code == 200


def test_a_malformed_admin_file_refuses_sign_in_and_says_which_line(make_app, tmp_path):
    path = tmp_path / "broken.txt"
    path.write_text("alice-without-a-hash\n")
    client = make_app(ADMIN_USERS_FILE=str(path)).test_client()
    response = client.get("/login")
    assert response.status_code == 503
    assert "line 1" in response.get_data(as_text=True)


# --- brute force --------------------------------------------------------------------------------------------


def post_login(client, username, password, address=None):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    headers = {"X-Forwarded-For": address} if address else {}
    return client.post("/login", headers=headers, data={"username": username, "password": password, "csrf_token": token})


def test_failed_sign_ins_for_one_username_are_limited_from_any_address(make_app):
    client = make_app(TRUSTED_PROXIES="1", LOGIN_USER_RATE_LIMIT="3 per 15 minutes").test_client()
    statuses = [post_login(client, ADMIN, "nope nope", f"203.0.113.{i}").status_code for i in range(3)]
    response = post_login(client, ADMIN, PASSWORD, "203.0.113.99")
    assert statuses == [401, 401, 401]
    assert response.status_code == 429
    assert "Too many failed sign-ins for this username" in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0


def test_successful_sign_ins_do_not_count_against_the_username(make_app):
    client = make_app(LOGIN_USER_RATE_LIMIT="2 per 15 minutes", LOGIN_RATE_LIMIT="100 per minute").test_client()
    assert [post_login(client, ADMIN, PASSWORD).status_code for _ in range(3)] == [302, 302, 302]


def test_ipv6_clients_are_limited_by_their_slash_64(make_app):
    client = make_app(TRUSTED_PROXIES="1", LOGIN_RATE_LIMIT="2 per minute").test_client()
    statuses = [post_login(client, f"user{i}", "nope nope", f"2001:db8:1:2::{i + 1}").status_code for i in range(3)]
    assert statuses == [401, 401, 429]


def test_sign_ins_failed_sign_ins_and_sign_outs_are_audited_without_the_password(client, caplog):
    caplog.set_level(logging.INFO, logger="audit")
    post_login(client, ADMIN, "wrong password")
    post_login(client, ADMIN, PASSWORD)
    token = csrf_token_from(client.get("/admin/voice").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})
    lines = [record.getMessage() for record in caplog.records if record.name == "audit"]
    assert [line.split()[0] for line in lines] == ["sign_in_failed", "sign_in", "sign_out"]
    assert all('admin="alice"' in line and "client=127.0.0.1" in line and "request_id=" in line for line in lines)
    assert not any("wrong password" in line or PASSWORD in line for line in lines)


def test_sign_ins_beyond_the_concurrent_password_checks_are_turned_away_without_checking(client, monkeypatch):
    from blueprints.auth import MAX_CONCURRENT_PASSWORD_CHECKS

    inside, release = threading.Semaphore(0), threading.Event()

    def blocking_check(path, username, password):
        inside.release()
        release.wait(30)
        return False

    tokens = [csrf_token_from(client.get("/login").get_data(as_text=True)) for _ in range(MAX_CONCURRENT_PASSWORD_CHECKS + 1)]
    monkeypatch.setattr("blueprints.auth.verify_admin", blocking_check)
    data = {"username": ADMIN, "password": "nope nope"}
    workers = [threading.Thread(target=lambda t=t: client.post("/login", data={**data, "csrf_token": t}))
               for t in tokens[:-1]]
    try:
        for worker in workers:
            worker.start()
        for _ in workers:
            assert inside.acquire(timeout=30), "a sign-in never reached the password check"
        response = client.post("/login", data={**data, "csrf_token": tokens[-1]})
    finally:
        release.set()
        for worker in workers:
            worker.join()
    assert response.status_code == 503
    assert "Too many sign-ins are being checked right now; try again in a moment." in response.get_data(as_text=True)


# --- the admins file ----------------------------------------------------------------------------------------


def unreadable(monkeypatch, path, error):
    real_open = open

    def refusing_open(file, *args, **kwargs):
        if str(file) == str(path):
            raise error
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("core.admins.open", refusing_open, raising=False)


def test_an_unreadable_admins_file_refuses_sign_in_without_naming_its_path(client, admins_file, monkeypatch, caplog):
    unreadable(monkeypatch, admins_file, PermissionError(13, "Permission denied", admins_file))
    response = client.get("/login")
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "the admins file cannot be read" in page
    assert admins_file not in page and "Permission denied" not in page
    assert any(admins_file in record.getMessage() for record in caplog.records)


def test_an_admins_file_that_is_not_utf8_refuses_sign_in_without_naming_its_path(make_app, tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"alic\xe9:scrypt:32768:8:1$abc$def\n")
    response = make_app(ADMIN_USERS_FILE=str(path)).test_client().get("/login")
    assert response.status_code == 503
    assert "the admins file cannot be read" in response.get_data(as_text=True)
    assert str(path) not in response.get_data(as_text=True)


def test_a_malformed_admins_file_names_the_line_but_not_the_path(make_app, tmp_path):
    path = tmp_path / "broken.txt"
    path.write_text("alice-without-a-hash\n")
    page = make_app(ADMIN_USERS_FILE=str(path)).test_client().get("/login").get_data(as_text=True)
    assert "line 1" in page and str(path) not in page


def test_probes_and_pages_still_answer_when_the_admins_file_becomes_unreadable(admin, admins_file, monkeypatch):
    unreadable(monkeypatch, admins_file, PermissionError(13, "Permission denied", admins_file))
    add_admin(admins_file, "bob", "another password")  # a new mtime, so the file is read again
    assert admin.client.get("/healthz").status_code == 200
    assert admin.client.get("/readyz").status_code != 500
    assert admin.client.get("/admin/voice").status_code == 302


def test_flask_admin_add_keeps_the_files_mode(admins_file):
    os.chmod(admins_file, 0o640)
    add_admin(admins_file, "bob", "another password")
    assert stat.S_IMODE(os.stat(admins_file).st_mode) == 0o640


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_flask_admin_add_keeps_the_files_owner(admins_file):
    os.chown(admins_file, 1234, 2345)
    add_admin(admins_file, "bob", "another password")
    assert (os.stat(admins_file).st_uid, os.stat(admins_file).st_gid) == (1234, 2345)


def test_a_new_admins_file_is_readable_by_its_owner_only(tmp_path):
    path = tmp_path / "new.txt"
    add_admin(str(path), "bob", "another password")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


# --- admin ids ----------------------------------------------------------------------------------------------


def test_an_admin_re_added_under_the_same_name_gets_a_new_id(admins_file):
    before = find_admin(admins_file, ADMIN).admin_id
    remove_admin(admins_file, ADMIN)
    add_admin(admins_file, ADMIN, PASSWORD)
    assert find_admin(admins_file, ADMIN).admin_id != before


def test_a_password_change_keeps_the_admins_id(admins_file):
    before = find_admin(admins_file, ADMIN).admin_id
    add_admin(admins_file, ADMIN, "a brand new password")
    assert find_admin(admins_file, ADMIN).admin_id == before


def test_a_line_from_before_admin_ids_still_signs_in_and_keeps_its_id_through_a_password_change(tmp_path, make_app):
    path = tmp_path / "old.txt"
    path.write_text(f"{ADMIN}:{generate_password_hash(PASSWORD)}\n")
    assert verify_admin(str(path), ADMIN, PASSWORD)
    before = find_admin(str(path), ADMIN).admin_id
    add_admin(str(path), "bob", "another password")
    assert find_admin(str(path), ADMIN).admin_id == before
    assert f"{ADMIN}:{before}:" in path.read_text()


def test_the_id_sent_to_openai_is_not_a_hash_of_the_name(admin, openai_mock):
    openai_mock.post("https://api.openai.com/v1/realtime/client_secrets", json=client_secret_response())
    admin.post("/api/v1/chatkit/realtime-session")
    identifier = openai_mock.calls[0].request.headers["OpenAI-Safety-Identifier"]
    assert identifier == openai_id_of(admin.client.application)
    assert identifier != legacy_admin_id(ADMIN)
    assert hashlib.sha256(ADMIN.encode()).hexdigest()[:32] not in identifier


def test_an_admin_re_added_under_the_same_name_sees_none_of_the_old_threads(make_app, admins_file):
    app = make_app(CHATKIT_MODE="self-hosted", CHATKIT_AGENT_ID=None)
    old = SignedInAdmin(app.test_client())
    old.login()
    entries = [{"role": "user", "text": "the old admin's secret plan"}]
    thread_id = old.post("/api/v1/chat/voice-transcript", json={"threadId": None, "entries": entries}).get_json()["data"]["threadId"]
    remove_admin(admins_file, ADMIN)
    add_admin(admins_file, ADMIN, PASSWORD)
    new = SignedInAdmin(app.test_client())
    new.login()
    response = new.post("/api/v1/chat/voice-transcript", json={"threadId": thread_id, "entries": entries})
    assert response.status_code == 404
    assert current_thread_id(app.extensions["database"], admin_id_of(app)) is None


def test_threads_stored_under_the_name_before_admin_ids_move_to_the_admin_at_sign_in(make_app):
    app = make_app(CHATKIT_MODE="self-hosted", CHATKIT_AGENT_ID=None)
    with app.extensions["database"].begin() as connection:
        connection.execute(insert(threads_table).values(id="thr_old", admin=ADMIN, body="{}", updated_at=1.0))
    SignedInAdmin(app.test_client()).login()
    assert current_thread_id(app.extensions["database"], admin_id_of(app)) == "thr_old"
