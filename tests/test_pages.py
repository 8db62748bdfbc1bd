"""Every admin page and fragment: signed in and out, configured and not, sandbox and OpenAI."""

import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import insert

import activity
from activity.tables import mints
from core.database import database
from harness.payloads import MINTED_SECRET, client_secret_response, openai_error
from tests.support import API_KEY, BASE_URL, SignedInAdmin, csrf_token_from

MINT_URL = f"{BASE_URL}/realtime/client_secrets"
HTMX = {"HX-Request": "true"}
PAGES = ["/admin/voice", "/admin/chat", "/admin/activity"]
FRAGMENTS = ["/admin/voice/status", "/admin/activity"]


def signed_in(app):
    admin = SignedInAdmin(app.test_client())
    admin.login()
    return admin


def text(response):
    return response.get_data(as_text=True)


# --- signed out ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_pages_redirect_to_login_when_signed_out(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/login?next={path}")


@pytest.mark.parametrize("path", FRAGMENTS)
def test_fragments_send_htmx_to_login_when_signed_out(client, path):
    response = client.get(path, headers={**HTMX, "HX-Target": "records"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=")
    assert "Voice console" not in text(response)


def test_test_connection_sends_htmx_to_login_when_signed_out(client):
    token = csrf_token_from(text(client.get("/login")))
    response = client.post("/admin/voice/test-connection", headers={**HTMX, "X-CSRFToken": token})
    assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/login")


# --- layout ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_the_navigation_the_admin_and_sign_out(admin, path):
    html = text(admin.client.get(path))
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.S).group(1)
    assert [label for label in re.findall(r">(\w+)</a>", nav)] == ["Voice", "Chat", "Activity"]
    assert nav.count('aria-current="page"') == 1
    assert "Signed in as <strong>alice</strong>" in html
    assert 'action="/logout"' in html


@pytest.mark.parametrize("path", [*PAGES, "/login"])
def test_no_page_has_inline_script_or_style(admin, path):
    html = text(admin.client.get(path))
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert "<style" not in html and not re.search(r"\sstyle=", html), "inline style"
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"


def test_htmx_is_vendored_pinned_and_configured_for_a_strict_csp(admin):
    html = text(admin.client.get("/admin/activity"))
    assert '<script src="/static/vendor/htmx/htmx-2.0.11.min.js" defer></script>' in html
    assert '"includeIndicatorStyles": false' in html and '"historyRestoreAsHxRequest": false' in html
    vendored = admin.client.get("/static/vendor/htmx/htmx-2.0.11.min.js")
    assert vendored.status_code == 200 and b'version:"2.0.11"' in vendored.data
    csp = admin.client.get("/admin/activity").headers["Content-Security-Policy"]
    assert "style-src 'self'" in csp and "'unsafe-inline'" not in csp


def test_htmx_sends_the_csrf_token(admin):
    html = text(admin.client.get("/admin/voice"))
    # The page's own token (a token carries the second it was made in, so compare with this page's, not an earlier one).
    assert f'hx-headers=\'{{"X-CSRFToken": "{csrf_token_from(html)}"}}\'' in html


def test_flash_messages_are_announced(admin):
    response = admin.client.post("/logout", data={"csrf_token": admin.csrf_token}, follow_redirects=True)
    html = text(response)
    assert re.search(r'class="flashes" role="status" aria-live="polite">\s*<p class="flash flash-info">You are signed out.', html)


# --- the voice status panel --------------------------------------------------------------------------------


def test_the_voice_page_includes_the_status_panel_with_live_refresh(admin):
    html = text(admin.client.get("/admin/voice"))
    assert 'hx-get="/admin/voice/status"' in html
    assert 'hx-trigger="load, every 5s, voice:minted from:document, voice:ended from:document"' in html
    assert 'id="voice-status"' in html and 'aria-live="polite"' in html
    assert '<script type="module" src="/static/js/status-panel.js"></script>' in html


def test_the_status_fragment_shows_the_configuration_without_the_key(make_app):
    admin = signed_in(make_app(OPENAI_REALTIME_VOICE="marin", OPENAI_REALTIME_INSTRUCTIONS="Answer briefly. " * 20,
                               OPENAI_REALTIME_CONNECT="relay"))
    response = admin.client.get("/admin/voice/status", headers=HTMX)
    html = text(response)
    assert response.status_code == 200 and "<html" not in html, "a fragment has no layout"
    for fact in ("Voice is ready (OpenAI)", "<dd>relay</dd>", "<dd>gpt-realtime-2.1</dd>", "<dd>marin</dd>",
                 "<dd>audio</dd>", "Answer briefly. Answer briefly.", "<code>sk-…1a2b</code>"):
        assert fact in html
    assert "…</dd>" in html, "long instructions are cut to an excerpt"
    assert API_KEY not in html


def test_the_status_fragment_names_what_is_missing_and_the_variable(make_app):
    admin = signed_in(make_app(OPENAI_API_KEY=None))
    html = text(admin.client.get("/admin/voice/status"))
    assert "Voice is not ready: set <code>OPENAI_API_KEY</code>" in html
    assert "not set (OPENAI_API_KEY)" in html


def test_the_status_panel_shows_the_configured_models_shutdown_warning(make_app):
    admin = signed_in(make_app(OPENAI_REALTIME_MODEL="gpt-realtime"))
    html = text(admin.client.get("/admin/voice/status"))
    assert '<p class="notice notice-warn">OPENAI_REALTIME_MODEL=gpt-realtime shuts down on 2027-01-20; ' \
           'move to gpt-realtime-2.1.</p>' in html


def test_the_status_fragment_says_sandbox_or_openai(make_app):
    sandbox = signed_in(make_app(OPENAI_SANDBOX="1", OPENAI_BASE_URL="http://127.0.0.1:9/v1", OPENAI_API_KEY="sk-sandbox"))
    assert "the local stand-in, not OpenAI" in text(sandbox.client.get("/admin/voice/status"))
    openai = signed_in(make_app())
    assert "<dt>Talks to</dt><dd>OpenAI</dd>" in text(openai.client.get("/admin/voice/status"))


def test_the_status_fragment_answers_204_while_nothing_changed(admin, openai_mock):
    version = re.search(r'name="version" value="(\w+)"', text(admin.client.get("/admin/voice/status"))).group(1)
    assert admin.client.get(f"/admin/voice/status?version={version}", headers=HTMX).status_code == 204
    openai_mock.post(MINT_URL, json=client_secret_response(), headers={"x-request-id": "req_last"})
    admin.post("/api/v1/chatkit/realtime-session")
    changed = admin.client.get(f"/admin/voice/status?version={version}", headers=HTMX)
    assert changed.status_code == 200
    assert "realtime" in text(changed) and "request id <code>req_last</code>" in text(changed)


def test_the_status_fragment_shows_a_failed_last_mint(admin, openai_mock):
    openai_mock.post(MINT_URL, status=401, json=openai_error("Incorrect API key provided"), headers={"x-request-id": "req_401"})
    admin.post("/api/v1/chatkit/realtime-session")
    html = text(admin.client.get("/admin/voice/status"))
    assert 'outcome-error">error</span>' in html and "<code>upstream_error</code>" in html and "req_401" in html


def test_relay_mode_says_no_secret_reaches_the_browser(make_app):
    admin = signed_in(make_app(OPENAI_REALTIME_CONNECT="relay"))
    assert "no client secret reaches this browser" in text(admin.client.get("/admin/voice"))


# --- Test connection ---------------------------------------------------------------------------------------


def test_test_connection_reports_latency_and_request_id_but_never_the_secret(app, admin, openai_mock):
    openai_mock.post(MINT_URL, json=client_secret_response(), headers={"x-request-id": "req_test"})
    response = admin.post("/admin/voice/test-connection", headers=HTMX)
    html = text(response)
    assert response.status_code == 200
    assert re.search(r'Connection works: a secret was minted in <strong class="latency">\d+ ms</strong>', html)
    assert "<code>req_test</code>" in html
    assert MINTED_SECRET not in html and MINTED_SECRET[-4:] not in html
    with app.app_context():
        assert activity.last_mint("alice")["kind"] == "test"


def test_test_connection_uses_the_mint_endpoints_request(admin, openai_mock):
    openai_mock.post(MINT_URL, json=client_secret_response())
    admin.post("/admin/voice/test-connection", headers=HTMX)
    admin.post("/api/v1/chatkit/realtime-session")
    assert openai_mock.calls[0].request.body == openai_mock.calls[1].request.body


def test_test_connection_explains_a_failure(admin, openai_mock):
    openai_mock.post(MINT_URL, status=401, json=openai_error("Incorrect API key provided"), headers={"x-request-id": "req_bad"})
    html = text(admin.post("/admin/voice/test-connection", headers=HTMX))
    assert "Test failed after" in html and "check OPENAI_API_KEY" in html and "req_bad" in html


def test_test_connection_without_a_key_names_the_variable(make_app):
    admin = signed_in(make_app(OPENAI_API_KEY=None))
    assert "OPENAI_API_KEY is not set" in text(admin.post("/admin/voice/test-connection", headers=HTMX))


def test_a_rate_limited_test_connection_answers_htmx_a_notice_in_words_not_json(make_app, openai_mock):
    admin = signed_in(make_app(MINT_RATE_LIMIT="1 per minute"))
    openai_mock.post(MINT_URL, json=client_secret_response())
    admin.post("/admin/voice/test-connection", headers=HTMX)
    response = admin.post("/admin/voice/test-connection", headers=HTMX)
    assert response.status_code == 429 and response.mimetype == "text/html"
    assert re.fullmatch(r'(?s).*<p class="notice notice-error" role="alert">Too many requests \(1 per 1 minute\)\. '
                        r'Try again in \d+ s\.</p>\s*', text(response))


def test_test_connection_works_without_javascript(admin, openai_mock):
    openai_mock.post(MINT_URL, json=client_secret_response(), headers={"x-request-id": "req_plain"})
    response = admin.post("/admin/voice/test-connection", data={"csrf_token": admin.csrf_token}, follow_redirects=True)
    assert response.request.path == "/admin/voice"
    assert "Test connection minted a secret in" in text(response) and "req_plain" in text(response)


# --- the activity page ---------------------------------------------------------------------------------------


def fill(app, mints=0, sessions=()):
    with app.app_context():
        for index in range(mints):
            activity.record_mint("realtime", "alice" if index % 2 else "bob", "ok" if index % 3 else "error", 100 + index,
                                 request_id=f"req_{index:03d}", error_code=None if index % 3 else "upstream_error")
        for attempt, event in sessions:
            activity.record_voice_event("alice", {"attemptId": attempt, "event": event, "mode": "ephemeral",
                                                  "connectMs": 150 if event == "connected" else None})


def test_the_activity_page_shows_mints_sessions_and_figures(app, admin):
    fill(app, mints=3, sessions=[("a1", "connected"), ("a2", "failed")])
    html = text(admin.client.get("/admin/activity"))
    assert "<h1>Activity</h1>" in html
    assert "req_002" in html and "<code>upstream_error</code>" in html
    assert html.count("<td>ephemeral</td>") == 2
    assert "50 %" in html and "median time to connect:\n      <strong>150 ms</strong>" in html
    assert '<svg class="chart"' in html and 'role="img"' in html


def test_the_activity_page_is_readable_when_empty(admin):
    html = text(admin.client.get("/admin/activity"))
    assert "No mints yet." in html and "No voice sessions yet." in html and "no voice sessions yet" in html


def test_the_activity_page_filters_by_admin_and_outcome(app, admin):
    fill(app, mints=6)
    html = text(admin.client.get("/admin/activity?admin=bob&outcome=error"))
    assert re.findall(r"req_\d+", html) == ["req_000"]  # bob has 0, 2, 4; of those only 0 failed
    assert '<option value="bob" selected>' in html and '<option value="error" selected>' in html


def test_filters_swap_only_the_records_for_htmx(app, admin):
    fill(app, mints=2)
    response = admin.client.get("/admin/activity?admin=alice", headers={**HTMX, "HX-Target": "records"})
    html = text(response)
    assert html.lstrip().startswith('<div id="records">') and "<h1>" not in html
    assert re.findall(r"req_\d+", html) == ["req_001"]
    assert "HX-Request" in response.headers["Vary"]


def test_tables_paginate_with_htmx_and_plain_links(app, admin):
    fill(app, mints=activity.PAGE_SIZE + 5)
    first = text(admin.client.get("/admin/activity"))
    assert len(re.findall(r"req_\d+", first)) == activity.PAGE_SIZE
    assert 'href="/admin/activity?mints_page=2&amp;sessions_page=1&amp;tools_page=1"' in first
    assert 'hx-get="/admin/activity?mints_page=2&amp;sessions_page=1&amp;tools_page=1" hx-target="#mints" hx-swap="outerHTML"' in first
    second = admin.client.get("/admin/activity?mints_page=2&sessions_page=1&tools_page=1", headers={**HTMX, "HX-Target": "mints"})
    html = text(second)
    assert html.lstrip().startswith('<section id="mints"') and 'id="sessions"' not in html
    assert re.findall(r"req_\d+", html) == [f"req_{index:03d}" for index in range(4, -1, -1)]
    assert 'rel="prev"' in html and 'rel="next"' not in html


def test_nonsense_query_values_fall_back_to_defaults(admin):
    assert admin.client.get("/admin/activity?mints_page=-3&sessions_page=abc&outcome=maybe").status_code == 200


def test_times_are_shown_in_utc(app, admin):
    moment = datetime(2026, 7, 2, 3, 30, 5, tzinfo=timezone.utc)  # a moment picked by the test, not the machine's
    with app.app_context(), database().begin() as connection:
        connection.execute(insert(mints).values(created_at=moment, admin="bob", kind="realtime", outcome="ok"))
    html = text(admin.client.get("/admin/activity"))
    assert ">2026-07-02 03:30:05<" in html and "Time (UTC)" in html
