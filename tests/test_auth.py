"""Admin sign-in: who gets in, where they land, and what everyone else sees."""

import pytest

from app import create_app
from core.admins import add_admin, admin_names, remove_admin, verify_admin
from tests.support import ADMIN, PASSWORD, SignedInAdmin, csrf_token_from


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
    app = create_app({"ENVIRON": {"SECRET_KEY": "s", "FORCE_HTTPS": "0", "ADMIN_USERS_FILE": str(tmp_path / "x" / "a.txt")}})
    assert app.test_client().get("/login").status_code == 200


def test_a_malformed_admin_file_refuses_sign_in_and_says_which_line(make_app, tmp_path):
    path = tmp_path / "broken.txt"
    path.write_text("alice-without-a-hash\n")
    client = make_app(ADMIN_USERS_FILE=str(path)).test_client()
    response = client.get("/login")
    assert response.status_code == 503
    assert "line 1" in response.get_data(as_text=True)
