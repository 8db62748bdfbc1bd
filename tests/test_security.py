"""HTTPS, security headers, ProxyFix behind TRUSTED_PROXIES, request ids in logs and upstream, TURN credentials."""

import base64
import hashlib
import hmac
import json
import time

import pytest

from core.config import ConfigError, load_settings
from harness.payloads import ANSWER_SDP, OFFER_SDP, chatkit_session_response, client_secret_response
from realtime.turn import ice_servers_for, turn_credentials
from tests.support import TODAY, SignedInAdmin, openai_id_of

HTTPS = "https://console.example.org"
MINT = "/api/v1/chatkit/realtime-session"
TURN_SECRET = "0123456789abcdef0123456789abcdef"
DIRECT_CLIENT = {"REMOTE_ADDR": "203.0.113.9"}


def csp_of(response):
    policy = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        policy[name] = values
    return policy


def test_plain_http_is_redirected_permanently_to_https(make_app):
    response = make_app(FORCE_HTTPS="1").test_client().get("/login?next=x", base_url="http://console.example.org")
    assert response.status_code == 301
    assert response.headers["Location"] == "https://console.example.org/login?next=x"


def test_https_answers_carry_hsts_csp_permissions_and_referrer_policy(make_app):
    response = make_app(FORCE_HTTPS="1").test_client().get("/login", base_url=HTTPS)
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert response.headers["Permissions-Policy"].startswith("microphone=(self)")
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    policy = csp_of(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'", "https://cdn.platform.openai.com"]
    assert policy["frame-src"] == ["https://cdn.platform.openai.com"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "mediastream:" in policy["media-src"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


def test_the_session_cookie_is_secure_when_https_is_forced(make_app):
    client = make_app(FORCE_HTTPS="1").test_client()
    page = client.get("/login", base_url=HTTPS)
    assert "Secure" in page.headers["Set-Cookie"] and "HttpOnly" in page.headers["Set-Cookie"]


def test_connect_src_allows_openai_only_in_ephemeral_mode(make_app):
    ephemeral = csp_of(make_app(OPENAI_REALTIME_CONNECT="ephemeral").test_client().get("/login"))
    relay = csp_of(make_app(OPENAI_REALTIME_CONNECT="relay").test_client().get("/login"))
    assert ephemeral["connect-src"] == ["'self'", "https://api.openai.com"]
    assert relay["connect-src"] == ["'self'"]
    sandbox = csp_of(make_app(OPENAI_BASE_URL="http://127.0.0.1:8765/v1").test_client().get("/login"))
    assert sandbox["connect-src"] == ["'self'", "http://127.0.0.1:8765"]


def test_each_answer_gets_the_headers_of_its_own_scheme_and_view(make_app):
    # The same page alternately over plain HTTP (a health probe on the app's port) and HTTPS: HSTS only over HTTPS.
    client = make_app(FORCE_HTTPS="1").test_client()
    for _ in range(2):
        plain = client.get("/healthz", base_url="http://127.0.0.1:8000")
        secure = client.get("/healthz", base_url=HTTPS)
        assert plain.status_code == secure.status_code == 200
        assert "Strict-Transport-Security" not in plain.headers
        assert secure.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        assert plain.headers["Content-Security-Policy"] == secure.headers["Content-Security-Policy"]
    login = client.get("/login", base_url=HTTPS)
    assert login.headers["X-Frame-Options"] == "DENY" and "Strict-Transport-Security" in login.headers


def test_flask_debug_on_localhost_is_neither_redirected_nor_pinned_to_https(make_app):
    client = make_app(FLASK_DEBUG="1", FORCE_HTTPS=None).test_client()
    response = client.get("/login", base_url="http://localhost:5000")
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers
    assert "Secure" not in response.headers["Set-Cookie"]


def test_behind_one_trusted_proxy_forwarded_https_is_not_redirected_again(make_app):
    client = make_app(FORCE_HTTPS="1", TRUSTED_PROXIES="1").test_client()
    response = client.get("/login", base_url="http://127.0.0.1:8000",
                          headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"})
    assert response.status_code == 200
    assert "Strict-Transport-Security" in response.headers


def test_without_a_trusted_proxy_a_client_cannot_claim_https(make_app):
    client = make_app(FORCE_HTTPS="1", TRUSTED_PROXIES="0").test_client()
    response = client.get("/login", base_url="http://127.0.0.1:8000", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 301


def _login_attempts_until_refused(client, forwarded_for):
    for attempt in range(1, 5):
        response = client.post("/login", data={"username": "x", "password": "y"},
                               headers={"X-Forwarded-For": forwarded_for})
        if response.status_code == 429:
            return attempt
    return None


def test_rate_limits_count_the_client_address_the_trusted_proxy_reports(make_app):
    app = make_app(TRUSTED_PROXIES="1", LOGIN_RATE_LIMIT="2 per minute")
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    assert _login_attempts_until_refused(client, "198.51.100.7") == 3
    # Another client behind the same proxy has its own budget.
    assert _login_attempts_until_refused(client, "198.51.100.8") == 3


def test_without_trusted_proxies_a_forged_forwarded_for_does_not_reset_the_limit(make_app):
    app = make_app(TRUSTED_PROXIES="0", LOGIN_RATE_LIMIT="2 per minute")
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    assert _login_attempts_until_refused(client, "198.51.100.7") == 3
    assert _login_attempts_until_refused(client, "198.51.100.8") == 1


def test_a_direct_client_cannot_forge_a_loopback_address_to_read_metrics(make_app):
    client = make_app(TRUSTED_PROXIES="1").test_client()
    response = client.get("/metrics", environ_base=DIRECT_CLIENT, headers={"X-Forwarded-For": "127.0.0.1"})
    assert response.status_code == 404


def test_a_direct_client_cannot_claim_https_even_with_trusted_proxies(make_app):
    client = make_app(FORCE_HTTPS="1", TRUSTED_PROXIES="1").test_client()
    response = client.get("/login", base_url="http://console.example.org", environ_base=DIRECT_CLIENT,
                          headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"})
    assert response.status_code == 301


def test_a_proxy_listed_in_trusted_proxy_addresses_is_believed(make_app):
    client = make_app(TRUSTED_PROXIES="1", TRUSTED_PROXY_ADDRESSES="10.0.0.0/8").test_client()
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}, headers={"X-Forwarded-For": "127.0.0.1"})
    assert response.status_code == 200


def test_trusted_proxy_addresses_must_be_addresses_or_networks():
    with pytest.raises(ConfigError, match="TRUSTED_PROXY_ADDRESSES"):
        load_settings({"SECRET_KEY": "s", "TRUSTED_PROXY_ADDRESSES": "nginx.local"}, today=TODAY)


@pytest.mark.parametrize("secret", ["change-me", "CHANGEME", "secret", "short-but-random"[:15]])
def test_a_placeholder_or_short_turn_secret_stops_start_up_in_words(secret):
    with pytest.raises(ConfigError, match="TURN_SHARED_SECRET.*at least 16 characters.*openssl rand -hex 32"):
        load_settings({"SECRET_KEY": "s", "TURN_SHARED_SECRET": secret, "TURN_URLS": "turn:turn.example.org:3478"}, today=TODAY)


def test_userinfo_in_the_openai_base_url_stops_start_up_without_showing_the_password():
    with pytest.raises(ConfigError, match="without user:password@") as refused:
        load_settings({"SECRET_KEY": "s", "OPENAI_BASE_URL": "https://user:hunter2@proxy.example.org/v1"}, today=TODAY)
    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize("value", ["-1", "6", "two"])
def test_trusted_proxies_must_be_a_small_count(value):
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        load_settings({"SECRET_KEY": "s", "TRUSTED_PROXIES": value}, today=TODAY)


# --- request ids -----------------------------------------------------------------------------------------


def test_every_answer_carries_a_request_id_and_keeps_a_sane_incoming_one(client):
    generated = client.get("/login").headers["X-Request-Id"]
    assert len(generated) == 32
    assert client.get("/login", headers={"X-Request-Id": "0123456789abcdef"}).headers["X-Request-Id"] == "0123456789abcdef"
    forged = client.get("/login", headers={"X-Request-Id": "bad id <script>"}).headers["X-Request-Id"]
    assert forged != "bad id <script>" and len(forged) == 32


def test_the_request_id_goes_to_openai_and_into_json_log_lines(make_app, openai_mock, capfd):
    openai_mock.post("https://api.openai.com/v1/realtime/client_secrets", json=client_secret_response())
    app = make_app(LOG_FORMAT="json")
    admin = SignedInAdmin(app.test_client())
    admin.login()
    response = admin.post(MINT, headers={"X-Request-Id": "req-from-nginx-0001"})
    assert response.status_code == 200
    assert openai_mock.calls[-1].request.headers["X-Client-Request-Id"] == "req-from-nginx-0001"
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    upstream = [line for line in lines if line["logger"] == "core.openai_http"]
    assert upstream and upstream[-1]["request_id"] == "req-from-nginx-0001"
    assert upstream[-1]["level"] == "info" and "x-request-id" in upstream[-1]["message"]


def test_log_format_must_be_json_or_text():
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        load_settings({"SECRET_KEY": "s", "LOG_FORMAT": "xml"}, today=TODAY)
    assert load_settings({"SECRET_KEY": "s"}, today=TODAY).server.log_format == "json"
    assert load_settings({"FLASK_DEBUG": "1"}, today=TODAY).server.log_format == "text"


# --- TURN REST credentials ---------------------------------------------------------------------------------


def test_turn_credentials_follow_the_turn_rest_scheme():
    username, credential = turn_credentials("s3cret", "admin_abc", 600, now=1_700_000_000)
    assert username == "1700000600:admin_abc"
    expected = base64.b64encode(hmac.new(b"s3cret", b"1700000600:admin_abc", hashlib.sha1).digest()).decode()
    assert credential == expected


def test_ice_servers_keep_the_configured_ones_and_add_turn_with_fresh_credentials():
    settings = load_settings({
        "SECRET_KEY": "s",
        "ICE_SERVERS": '[{"urls":"stun:stun1.example.org:3478"},{"urls":"stun:stun2.example.org:3478"}]',
        "TURN_SHARED_SECRET": TURN_SECRET,
        "TURN_URLS": "turn:turn1.example.org:3478?transport=udp, turns:turn2.example.org:5349",
        "TURN_CREDENTIAL_TTL_SECONDS": "900",
    }, today=TODAY)
    servers = ice_servers_for(settings, "admin_abc", now=1_000)
    assert servers[:2] == [{"urls": "stun:stun1.example.org:3478"}, {"urls": "stun:stun2.example.org:3478"}]
    assert servers[2]["urls"] == ["turn:turn1.example.org:3478?transport=udp", "turns:turn2.example.org:5349"]
    assert servers[2]["username"] == "1900:admin_abc"


def test_the_mint_answer_hands_the_browser_per_session_turn_credentials(make_app, openai_mock):
    openai_mock.post("https://api.openai.com/v1/realtime/client_secrets", json=client_secret_response())
    app = make_app(TURN_SHARED_SECRET=TURN_SECRET, TURN_URLS="turn:127.0.0.1:3478")
    admin = SignedInAdmin(app.test_client())
    admin.login()
    before = int(time.time())
    turn = admin.post(MINT).get_json()["data"]["iceServers"][-1]
    expiry, user = turn["username"].split(":", 1)
    assert user == openai_id_of(app)
    assert before + 3900 <= int(expiry) <= int(time.time()) + 3900
    assert turn["credential"] == turn_credentials(TURN_SECRET, user, 0, now=int(expiry))[1]
    assert TURN_SECRET not in json.dumps(turn)


def test_a_turn_secret_without_turn_urls_stops_start_up():
    with pytest.raises(ConfigError, match="TURN_URLS"):
        load_settings({"SECRET_KEY": "s", "TURN_SHARED_SECRET": TURN_SECRET}, today=TODAY)
    with pytest.raises(ConfigError, match="TURN_URLS"):
        load_settings({"SECRET_KEY": "s", "TURN_URLS": "stun:x.example.org"}, today=TODAY)


def test_the_login_page_is_never_cached(client):
    assert client.get("/login").headers["Cache-Control"] == "no-store"


def test_the_voice_page_with_its_turn_credentials_is_never_cached(admin):
    assert admin.client.get("/admin/voice").headers["Cache-Control"] == "no-store"


def test_a_minted_realtime_secret_is_never_cached(admin, openai_mock):
    openai_mock.post("https://api.openai.com/v1/realtime/client_secrets", json=client_secret_response())
    response = admin.post(MINT)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_a_relayed_sdp_answer_is_never_cached(admin, openai_mock):
    openai_mock.post("https://api.openai.com/v1/realtime/calls", status=201, body=ANSWER_SDP,
                     content_type="application/sdp")
    response = admin.post("/api/v1/realtime/calls", data=OFFER_SDP, content_type="application/sdp")
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"


def test_a_minted_chatkit_session_is_never_cached(make_app, openai_mock):
    openai_mock.post("https://api.openai.com/v1/chatkit/sessions", json=chatkit_session_response())
    admin = SignedInAdmin(make_app(CHATKIT_MODE="hosted").test_client())
    admin.login()
    response = admin.post("/api/v1/chatkit/session")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
