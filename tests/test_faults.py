"""Fault injection: a stand-in OpenAI that hangs, refuses, resets, errors or answers garbage, through the real app.

Each fault must give its documented status, code and message within the configured timeout and retry
budget, never leak the API key, and leave the app able to serve the next good request.
"""

import time

import pytest

from core.openai_http import MAX_RETRIES, RETRY_BACKOFF_SECONDS
from harness.payloads import OFFER_SDP
from harness.standin import Behaviour, StandIn, closed_port
from tests.support import API_KEY

TIMEOUT_SECONDS = 1.0
# Every attempt may take the full timeout, plus the backoffs between them, plus slack for a loaded CI machine.
RETRY_BUDGET_SECONDS = (MAX_RETRIES + 1) * TIMEOUT_SECONDS + sum(RETRY_BACKOFF_SECONDS) + 2.0
MINT = "/api/v1/chatkit/realtime-session"
RELAY = "/api/v1/realtime/calls"
CHATKIT = "/api/v1/chatkit/session"


@pytest.fixture(scope="module")
def standin():
    with StandIn() as running:
        yield running


@pytest.fixture
def app(make_app, standin):
    standin.behaviour = Behaviour()
    return make_app(OPENAI_BASE_URL=standin.base_url, OPENAI_TIMEOUT_SECONDS=str(TIMEOUT_SECONDS),
                    MINT_RATE_LIMIT="1000 per minute")


def call(admin, path):
    if path == RELAY:
        return admin.post(path, data=OFFER_SDP, content_type="application/sdp")
    return admin.post(path, json={})


def timed(admin, path):
    started = time.monotonic()
    response = call(admin, path)
    return response, time.monotonic() - started


def assert_error(response, status, code, *message_parts):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "error" and body["code"] == code, body
    for part in message_parts:
        assert part in body["message"], body["message"]
    return body


def assert_no_key_anywhere(response, captured_logs):
    assert API_KEY not in response.get_data(as_text=True)
    assert API_KEY not in str(dict(response.headers))
    assert API_KEY not in captured_logs.text


def assert_recorded_failure(app, kind, code):
    """The activity record holds the failure, with its code, so the admin can see it on the activity page."""
    import activity

    with app.app_context():
        last = activity.last_mint("alice")
    assert (last["kind"], last["outcome"], last["error_code"]) == (kind, "error", code)


def assert_recovers(admin, standin, path=MINT):
    """The same app serves a good request right after the fault: no poisoned pool, no stuck worker."""
    standin.behaviour = Behaviour()
    response = call(admin, path)
    assert response.status_code in (200, 201), response.get_data(as_text=True)


# (behaviour, expected status, code, message fragments, upstream attempts)
FAULTS = {
    "500": (Behaviour(fault="status", status=500), 502, "upstream_error", ["Failed to create realtime session",
                                                                            "The server had an error"], 3),
    "502": (Behaviour(fault="status", status=502), 502, "upstream_error", ["The server had an error"], 3),
    "503": (Behaviour(fault="status", status=503), 502, "upstream_error", ["The server had an error"], 3),
    "401": (Behaviour(fault="status", status=401), 502, "upstream_error", ["Incorrect API key provided",
                                                                            "check OPENAI_API_KEY"], 1),
    "429 short Retry-After is waited out, then passed on": (
        Behaviour(fault="status", status=429, retry_after="0.3"), 429, "rate_limited",
        ["OpenAI is rate-limiting this API key"], 3),
    "429 long Retry-After is passed on at once": (
        Behaviour(fault="status", status=429, retry_after="30"), 429, "rate_limited", ["rate-limiting"], 1),
    "200 that is not JSON": (Behaviour(fault="not_json"), 502, "invalid_upstream_response", ["not JSON"], 1),
    "200 without the secret": (Behaviour(fault="no_secret"), 502, "no_client_secret",
                               ["No client_secret in response"], 1),
    "oversized 200": (Behaviour(fault="oversized"), 502, "invalid_upstream_response", ["larger than 1024 KiB"], 1),
    "reset mid-response": (Behaviour(fault="reset"), 502, "upstream_unreachable", ["connection reset"], 3),
    "timeout": (Behaviour(fault="hang", hang_seconds=TIMEOUT_SECONDS + 2), 504, "upstream_timeout",
                ["did not answer within 1 s"], 1),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_mint_fault_gives_documented_error_within_budget(fault, app, admin, standin, captured_logs):
    behaviour, status, code, parts, attempts = FAULTS[fault]
    standin.behaviour = behaviour
    before = standin.stats.requests
    response, elapsed = timed(admin, MINT)
    assert_error(response, status, code, *parts)
    assert_recorded_failure(app, "realtime", code)
    assert standin.stats.requests - before == attempts, "retried the wrong number of times"
    assert elapsed < RETRY_BUDGET_SECONDS
    if fault == "timeout":
        assert elapsed < TIMEOUT_SECONDS + 1.5, "a read timeout must not be retried"
    if status == 429:
        assert int(response.headers["Retry-After"]) >= 1
    assert_no_key_anywhere(response, captured_logs)
    assert_recovers(admin, standin)


def test_connection_refused_is_unreachable_after_retries(make_app, standin, captured_logs):
    from tests.support import SignedInAdmin

    app = make_app(OPENAI_BASE_URL=f"http://127.0.0.1:{closed_port()}/v1", OPENAI_TIMEOUT_SECONDS="1")
    admin = SignedInAdmin(app.test_client())
    admin.login()
    response, elapsed = timed(admin, MINT)
    assert_error(response, 502, "upstream_unreachable", "connection refused", "OPENAI_BASE_URL")
    assert sum(RETRY_BACKOFF_SECONDS) * 0.9 <= elapsed < RETRY_BUDGET_SECONDS
    assert_no_key_anywhere(response, captured_logs)


def test_answer_just_under_the_timeout_succeeds(admin, standin):
    standin.behaviour = Behaviour(latency_ms=TIMEOUT_SECONDS * 1000 * 0.8)
    response, elapsed = timed(admin, MINT)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["data"]["token"]["value"].startswith("ek_")
    assert TIMEOUT_SECONDS * 0.8 <= elapsed < TIMEOUT_SECONDS + 1.5


@pytest.mark.parametrize(
    "path, behaviour, status, code, part",
    [
        (RELAY, Behaviour(fault="hang", hang_seconds=3), 504, "upstream_timeout", "did not answer"),
        (RELAY, Behaviour(fault="status", status=503), 502, "upstream_error", "Failed to connect the realtime call"),
        (RELAY, Behaviour(fault="not_json"), 502, "invalid_upstream_response", "not SDP"),
        (RELAY, Behaviour(fault="reset"), 502, "upstream_unreachable", "connection reset"),
        (CHATKIT, Behaviour(fault="hang", hang_seconds=3), 504, "upstream_timeout", "did not answer"),
        (CHATKIT, Behaviour(fault="status", status=502), 502, "upstream_error", "Failed to create ChatKit session"),
        (CHATKIT, Behaviour(fault="no_secret"), 502, "no_client_secret", "No client_secret in response"),
        (CHATKIT, Behaviour(fault="oversized"), 502, "invalid_upstream_response", "larger than"),
    ],
    ids=lambda value: value.fault if isinstance(value, Behaviour) else None,
)
def test_relay_and_chatkit_faults(path, behaviour, status, code, part, app, admin, standin, captured_logs):
    standin.behaviour = behaviour
    response, elapsed = timed(admin, path)
    assert_error(response, status, code, part)
    assert_recorded_failure(app, "relay" if path == RELAY else "chatkit", code)
    assert elapsed < RETRY_BUDGET_SECONDS
    assert_no_key_anywhere(response, captured_logs)
    assert_recovers(admin, standin, path)


def test_the_key_reaches_only_the_upstream_authorization_header(admin, standin):
    standin.behaviour = Behaviour()
    response = call(admin, MINT)
    assert response.status_code == 200
    assert standin.stats.authorizations[-1] == f"Bearer {API_KEY}"
