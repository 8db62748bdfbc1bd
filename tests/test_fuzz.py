"""Fuzzing every endpoint with Hypothesis: random JSON, wrong types, huge strings, invalid UTF-8, wrong
content types and methods, oversized bodies. The answer is always a success or a 4xx with a clear message,
never a 500 and never a traceback. Endpoints are read from the app's URL map, so new ones are fuzzed too.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import MAX_REQUEST_BYTES
from core.clock import FixedClock
from harness.standin import Behaviour, StandIn
from tests.support import TODAY, SignedInAdmin

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)

CONTENT_TYPES = [
    "application/json", "application/sdp", "text/plain", "application/x-www-form-urlencoded",
    "multipart/form-data", "multipart/form-data; boundary=x", "application/json; charset=utf-16",
    "application/json; charset=no-such-charset", "application/sdp; charset=latin-1", "", "*/*", "\u00e9/\u00e8",
]
FIELD_NAMES = ["voice", "instructions", "current", "csrf_token", "username", "password", "type", "session",
               "__proto__", ""]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=12), json_values, max_size=5)
huge_strings = st.builds(lambda char, size: char * size, st.sampled_from(["x", "é", "\u202e", "\x00", "😀"]),
                         st.integers(min_value=10_000, max_value=120_000))
invalid_utf8 = st.sampled_from([b"\xff\xfe\xfd", b"v=0\r\n\xc3\x28m=audio", b"{\"voice\": \"\xed\xa0\x80\"}",
                                b"\x80" * 100, b"{\"voice\": \"marin\"\xff}"])

bodies = st.one_of(
    json_objects.map(lambda value: json.dumps(value).encode()),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.fixed_dictionaries({"voice": json_values | huge_strings, "instructions": json_values | huge_strings})
    .map(lambda value: json.dumps(value).encode()),
    huge_strings.map(lambda text: text.encode("utf-8", "surrogatepass")),
    invalid_utf8,
    st.binary(max_size=300),
    st.just(b"v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" + b"a=x\r\n" * 20_000),  # SDP over 64 KiB
    st.just(b"{\"instructions\": \"" + b"a" * (MAX_REQUEST_BYTES + 10) + b"\"}"),  # over MAX_CONTENT_LENGTH
)


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    """One app for all examples (Hypothesis calls the test many times), minting against the stand-in."""
    from app import create_app
    from core.admins import add_admin
    from tests.support import ADMIN, API_KEY, PASSWORD

    folder = tmp_path_factory.mktemp("fuzz")
    add_admin(str(folder / "admins.txt"), ADMIN, PASSWORD)
    with StandIn(Behaviour()) as standin:
        yield create_app({"CLOCK": FixedClock(TODAY), "ENVIRON": {
            "OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": standin.base_url, "OPENAI_TIMEOUT_SECONDS": "5",
            "CHATKIT_AGENT_ID": "wf_fuzz", "SECRET_KEY": "fuzz", "FORCE_HTTPS": "0",
            "ADMIN_USERS_FILE": str(folder / "admins.txt"), "DATABASE_URL": f"sqlite:///{folder / 'console.db'}",
            "MINT_RATE_LIMIT": "1000000 per minute", "LOGIN_RATE_LIMIT": "1000000 per minute",
        }, "TESTING": True})


@pytest.fixture(scope="module")
def fuzz_admin(fuzz_app):
    admin = SignedInAdmin(fuzz_app.test_client())
    admin.login()
    return admin


def state_changing_paths(app):
    """Every rule that takes POST (with its variables filled in), so endpoints added later are fuzzed too."""
    paths = []
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and rule.endpoint != "static":
            paths.append(rule.rule.replace("<", "").replace(">", "").replace("path:", "").replace("int:", "1"))
    return sorted(set(paths))


def test_the_fuzzer_covers_the_documented_endpoints(fuzz_app):
    paths = state_changing_paths(fuzz_app)
    for documented in ("/api/v1/chatkit/realtime-session", "/api/v1/realtime/calls", "/api/v1/chatkit/session",
                       "/login"):
        assert documented in paths


def assert_clear_answer(response, path):
    text = response.get_data(as_text=True)
    assert response.status_code < 500, f"{path} answered {response.status_code}: {text[:500]}"
    assert "Traceback" not in text and 'File "' not in text
    if path.startswith("/api/") and response.status_code >= 400:
        body = response.get_json(silent=True)
        assert isinstance(body, dict) and body.get("status") == "error", text[:300]
        assert isinstance(body.get("code"), str) and body["code"]
        assert isinstance(body.get("message"), str) and len(body["message"]) > 10
    elif response.status_code >= 400 and response.status_code not in (401, 405):
        assert text.strip(), f"{path} answered {response.status_code} with an empty body"


@FUZZ
@given(data=st.data(), body=bodies, content_type=st.sampled_from(CONTENT_TYPES),
       method=st.sampled_from(["POST", "POST", "POST", "PUT", "PATCH", "DELETE", "GET"]))
def test_signed_in_admin_gets_4xx_never_500(fuzz_app, fuzz_admin, data, body, content_type, method):
    path = data.draw(st.sampled_from(state_changing_paths(fuzz_app)), label="path")
    headers = {"X-CSRFToken": fuzz_admin.csrf_token}
    response = fuzz_admin.client.open(path, method=method, data=body, content_type=content_type or None,
                                      headers=headers)
    assert_clear_answer(response, path)


@FUZZ
@given(data=st.data(), body=bodies, content_type=st.sampled_from(CONTENT_TYPES),
       token=st.sampled_from([None, "", "garbage", "x" * 5000, "\u00e9t\u00e9"]))
def test_signed_out_and_bad_csrf_get_4xx_never_500(fuzz_app, fuzz_admin, data, body, content_type, token):
    path = data.draw(st.sampled_from(state_changing_paths(fuzz_app)), label="path")
    signed_in = data.draw(st.booleans(), label="signed in")
    client = fuzz_admin.client if signed_in else fuzz_app.test_client()
    headers = {} if token is None else {"X-CSRFToken": token}
    response = client.post(path, data=body, content_type=content_type or None, headers=headers)
    assert_clear_answer(response, path)
    if path.startswith("/api/"):
        assert response.status_code in (400, 401, 413)


@FUZZ
@given(form=st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=8),
                            st.text(max_size=200) | huge_strings, max_size=4),
       query=st.text(max_size=200))
def test_login_form_never_500(fuzz_app, form, query):
    client = fuzz_app.test_client()
    response = client.post("/login", data=form, query_string={"next": query})
    assert_clear_answer(response, "/login")
    assert response.status_code in (200, 302, 400, 401, 413)
