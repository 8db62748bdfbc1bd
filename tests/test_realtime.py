"""The Realtime endpoints: what we send OpenAI, what the browser gets back, and every way it can fail."""

import itertools
import json

import pytest

from harness.payloads import (
    ANSWER_SDP,
    MINTED_SECRET,
    OFFER_SDP,
    client_secret_response,
    openai_error,
)
from sandbox.openai_spec import check
from tests.support import API_KEY, BASE_URL

MINT_URL = f"{BASE_URL}/realtime/client_secrets"
CALLS_URL = f"{BASE_URL}/realtime/calls"
MINT_PATH = "/api/v1/chatkit/realtime-session"
RELAY_PATH = "/api/v1/realtime/calls"


def sent_json(mock, index=0):
    return json.loads(mock.calls[index].request.body)


def mint(admin, openai_mock, overrides=None, **upstream):
    openai_mock.post(MINT_URL, **(upstream or {"json": client_secret_response()}))
    return admin.post(MINT_PATH, json=overrides) if overrides is not None else admin.post(MINT_PATH)


def test_mint_answers_the_original_envelope(admin, openai_mock):
    response = mint(admin, openai_mock)
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "success",
        "data": {
            "token": {"value": MINTED_SECRET, "expires_at": 1956310470},
            "sessionId": "sess_C9CiUVUzUzYIssh3ELY1d",
            "model": "gpt-realtime-2.1",
            "voice": "alloy",
            "sdpUrl": f"{BASE_URL}/realtime/calls",
            "iceServers": [],
        },
    }


def test_mint_sends_the_ga_request(admin, openai_mock):
    mint(admin, openai_mock)
    assert sent_json(openai_mock) == {
        "expires_after": {"anchor": "created_at", "seconds": 60},
        "session": {
            "type": "realtime",
            "model": "gpt-realtime-2.1",
            "output_modalities": ["audio"],
            "audio": {"output": {"voice": "alloy"}, "input": {
                "turn_detection": {"type": "semantic_vad", "eagerness": "auto"},
                "noise_reduction": {"type": "near_field"},
                "transcription": {"model": "gpt-4o-mini-transcribe"},
            }},
        },
    }
    headers = openai_mock.calls[0].request.headers
    assert headers["Authorization"] == f"Bearer {API_KEY}"
    assert headers["Content-Type"] == "application/json"


def test_mint_never_sends_the_beta_header_or_a_workflow(admin, openai_mock):
    mint(admin, openai_mock, overrides={"voice": "marin", "instructions": "Be brief."})
    request = openai_mock.calls[0].request
    assert "OpenAI-Beta" not in request.headers
    assert "workflow" not in request.body.decode()


def test_mint_binds_a_hashed_admin_id_as_safety_identifier(admin, openai_mock):
    mint(admin, openai_mock)
    identifier = openai_mock.calls[0].request.headers["OpenAI-Safety-Identifier"]
    assert identifier.startswith("admin_") and "alice" not in identifier


OPTIONS = {
    "OPENAI_REALTIME_VOICE": [None, "marin"],
    "OPENAI_REALTIME_MODALITIES": [None, "text", "text,audio"],
    "OPENAI_REALTIME_INSTRUCTIONS": [None, "You help data-platform admins."],
    "OPENAI_REALTIME_TRANSCRIPTION_MODEL": [None, ""],
    "REALTIME_SECRET_TTL_SECONDS": [None, "7200"],
}


@pytest.mark.parametrize("values", list(itertools.product(*OPTIONS.values())))
def test_every_option_combination_sends_a_request_the_spec_accepts(make_app, values, openai_mock):
    from tests.support import SignedInAdmin

    env = {name: value for name, value in zip(OPTIONS, values) if value is not None}
    admin = SignedInAdmin(make_app(**env).test_client())
    admin.login()
    assert mint(admin, openai_mock).status_code == 200
    body = sent_json(openai_mock)
    assert check("RealtimeCreateClientSecretRequest", body) == []
    session = body["session"]
    assert session["audio"]["output"]["voice"] == env.get("OPENAI_REALTIME_VOICE", "alloy")
    assert session["output_modalities"] == (["text"] if env.get("OPENAI_REALTIME_MODALITIES") == "text" else ["audio"])
    assert session.get("instructions") == env.get("OPENAI_REALTIME_INSTRUCTIONS")
    if env.get("OPENAI_REALTIME_TRANSCRIPTION_MODEL") == "":
        assert "transcription" not in session["audio"]["input"]
    else:
        assert session["audio"]["input"]["transcription"] == {"model": "gpt-4o-mini-transcribe"}
    assert body["expires_after"]["seconds"] == int(env.get("REALTIME_SECRET_TTL_SECONDS", 60))


@pytest.mark.parametrize("env, audio_input", [
    ({"OPENAI_REALTIME_TURN_DETECTION": "server_vad", "OPENAI_REALTIME_NOISE_REDUCTION": "far_field"},
     {"turn_detection": {"type": "server_vad"}, "noise_reduction": {"type": "far_field"}}),
    ({"OPENAI_REALTIME_VAD_EAGERNESS": "low", "OPENAI_REALTIME_NOISE_REDUCTION": "off"},
     {"turn_detection": {"type": "semantic_vad", "eagerness": "low"}, "noise_reduction": None}),
])
def test_the_configured_turn_detection_and_noise_reduction_reach_the_session(make_app, openai_mock, env, audio_input):
    from tests.support import SignedInAdmin

    admin = SignedInAdmin(make_app(**env).test_client())
    admin.login()
    assert mint(admin, openai_mock).status_code == 200
    body = sent_json(openai_mock)
    assert check("RealtimeCreateClientSecretRequest", body) == []
    assert body["session"]["audio"]["input"] == {**audio_input, "transcription": {"model": "gpt-4o-mini-transcribe"}}


def test_the_mocked_answers_follow_the_spec():
    assert check("RealtimeCreateClientSecretResponse", client_secret_response()) == []


def test_the_admin_may_override_voice_and_instructions(admin, openai_mock):
    response = mint(admin, openai_mock, overrides={"voice": "cedar", "instructions": "Answer in French."})
    assert response.get_json()["data"]["voice"] == "cedar"
    session = sent_json(openai_mock)["session"]
    assert session["audio"]["output"]["voice"] == "cedar"
    assert session["instructions"] == "Answer in French."


@pytest.mark.parametrize(
    "body, words",
    [
        ({"voice": "nova"}, "text-to-speech"),
        ({"voice": "robot"}, "realtime voices"),
        ({"voice": 7}, "voice must be a string"),
        ({"instructions": "x" * 10_001}, "at most 10,000"),
        ({"instructions": ["a"]}, "instructions must be a string"),
        ({"workflow": {"id": "wf_1"}}, "Unknown field 'workflow'"),
        ({"prepare": "yes"}, "prepare must be true or false"),
        (["voice"], "JSON object"),
    ],
)
def test_invalid_overrides_answer_400_and_reach_no_upstream(admin, openai_mock, body, words):
    response = admin.post(MINT_PATH, json=body)
    assert response.status_code == 400
    assert response.get_json()["code"] == "bad_request"
    assert words in response.get_json()["message"]
    assert len(openai_mock.calls) == 0


def test_a_body_that_is_not_json_answers_400(admin, openai_mock):
    response = admin.post(MINT_PATH, data="voice=marin", content_type="text/plain")
    assert response.status_code == 400 and "must be JSON" in response.get_json()["message"]
    assert len(openai_mock.calls) == 0


def test_instructions_of_exactly_10000_characters_are_accepted(admin, openai_mock):
    assert mint(admin, openai_mock, overrides={"instructions": "x" * 10_000}).status_code == 200


def test_ice_servers_are_handed_to_the_browser(make_app, openai_mock):
    from tests.support import SignedInAdmin

    servers = [{"urls": "turn:turn.example:3478", "username": "u", "credential": "c"}]
    admin = SignedInAdmin(make_app(ICE_SERVERS=json.dumps(servers)).test_client())
    admin.login()
    assert mint(admin, openai_mock).get_json()["data"]["iceServers"] == servers


def test_the_sdp_url_follows_the_base_url(make_app, openai_mock):
    from tests.support import SignedInAdmin

    admin = SignedInAdmin(make_app(OPENAI_BASE_URL="http://127.0.0.1:8765/v1").test_client())
    admin.login()
    openai_mock.post("http://127.0.0.1:8765/v1/realtime/client_secrets", json=client_secret_response())
    assert admin.post(MINT_PATH).get_json()["data"]["sdpUrl"] == "http://127.0.0.1:8765/v1/realtime/calls"


def test_without_an_api_key_minting_answers_503_not_configured(make_app, openai_mock):
    from tests.support import SignedInAdmin

    admin = SignedInAdmin(make_app(OPENAI_API_KEY=None).test_client())
    admin.login()
    for path, kwargs in ((MINT_PATH, {}), (RELAY_PATH, {"data": OFFER_SDP, "content_type": "application/sdp"})):
        response = admin.post(path, **kwargs)
        assert response.status_code == 503
        assert response.get_json()["code"] == "not_configured"
        assert "OPENAI_API_KEY" in response.get_json()["message"]
    assert len(openai_mock.calls) == 0


def test_without_a_key_the_voice_page_says_what_is_missing(make_app):
    from tests.support import SignedInAdmin

    admin = SignedInAdmin(make_app(OPENAI_API_KEY=None).test_client())
    admin.login()
    assert "OPENAI_API_KEY" in admin.client.get("/admin/voice").get_data(as_text=True)


@pytest.mark.parametrize(
    "upstream, status, code, words",
    [
        (
            {"status": 400, "json": openai_error("Unknown parameter: 'workflow'.", "unknown_parameter", param="workflow")},
            502, "upstream_error", "Failed to create realtime session: Unknown parameter: 'workflow'.",
        ),
        ({"status": 401, "json": openai_error("Incorrect API key provided.", "invalid_api_key")}, 502, "upstream_error", "check OPENAI_API_KEY"),
        ({"status": 200, "json": {"expires_at": 1, "session": {}}}, 502, "no_client_secret", "No client_secret in response"),
        ({"status": 200, "body": "<html>gateway</html>"}, 502, "invalid_upstream_response", "not JSON"),
        ({"status": 500, "json": openai_error("The server had an error.", type_="server_error")}, 502, "upstream_error", "The server had an error."),
        ({"status": 429, "json": openai_error("Rate limit reached."), "headers": {"Retry-After": "30"}}, 429, "rate_limited", "Rate limit reached."),
    ],
)
def test_upstream_failures_map_to_clear_errors(admin, openai_mock, upstream, status, code, words, monkeypatch):
    monkeypatch.setattr("core.openai_http.time.sleep", lambda seconds: None)
    response = mint(admin, openai_mock, **upstream)
    assert response.status_code == status
    body = response.get_json()
    assert body["status"] == "error" and body["code"] == code
    assert words in body["message"]
    assert API_KEY not in response.get_data(as_text=True)


def test_an_upstream_429_passes_retry_after_on(admin, openai_mock, monkeypatch):
    monkeypatch.setattr("core.openai_http.time.sleep", lambda seconds: None)
    response = mint(admin, openai_mock, status=429, json=openai_error("Slow down."), headers={"Retry-After": "30"})
    assert int(response.headers["Retry-After"]) >= 30


def test_an_upstream_timeout_answers_504(admin, openai_mock):
    import requests

    response = mint(admin, openai_mock, body=requests.exceptions.ReadTimeout("slow"))
    assert response.status_code == 504
    assert response.get_json()["code"] == "upstream_timeout"


def test_minting_is_rate_limited_per_admin(make_app, openai_mock):
    from tests.support import SignedInAdmin

    admin = SignedInAdmin(make_app(MINT_RATE_LIMIT="2 per minute").test_client())
    admin.login()
    openai_mock.post(MINT_URL, json=client_secret_response())
    statuses = [admin.post(MINT_PATH).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = admin.post(MINT_PATH)
    assert limited.get_json()["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0


def test_a_prepared_mint_asks_openai_for_the_same_session(admin, openai_mock):
    response = mint(admin, openai_mock, overrides={"prepare": True})
    assert response.status_code == 200
    assert response.get_json()["data"]["token"]["value"]
    plain = mint(admin, openai_mock, overrides={"prepare": False})
    assert plain.status_code == 200
    assert sent_json(openai_mock, 0) == sent_json(openai_mock, 1)


def test_prepared_mints_have_their_own_budget_and_never_use_up_the_admins_clicks(make_app, openai_mock):
    from tests.support import SignedInAdmin

    admin = SignedInAdmin(make_app(MINT_RATE_LIMIT="2 per minute").test_client())
    admin.login()
    openai_mock.post(MINT_URL, json=client_secret_response())
    prepared = [admin.post(MINT_PATH, json={"prepare": True}).status_code for _ in range(3)]
    assert prepared == [200, 200, 429]
    # The voice page kept a secret ready twice; the admin's own mints still have the whole budget.
    clicked = [admin.post(MINT_PATH).status_code, admin.post(MINT_PATH, json={"voice": "cedar"}).status_code,
               admin.post(MINT_PATH).status_code]
    assert clicked == [200, 200, 429]


def test_minting_without_the_csrf_header_is_refused(admin, openai_mock):
    response = admin.client.post(MINT_PATH)
    assert response.status_code == 400
    assert response.get_json()["code"] == "csrf_failed"
    assert len(openai_mock.calls) == 0


# --- relay mode ---------------------------------------------------------------------------------


def relay(admin, openai_mock, offer=OFFER_SDP, **upstream):
    openai_mock.post(
        CALLS_URL,
        **(upstream or {"status": 201, "body": ANSWER_SDP, "content_type": "application/sdp",
                        "headers": {"Location": "/v1/realtime/calls/rtc_abc123"}}),
    )
    return admin.post(RELAY_PATH, data=offer, content_type="application/sdp")


def test_relay_posts_multipart_sdp_and_session_and_answers_201_with_the_answer(admin, openai_mock):
    response = relay(admin, openai_mock)
    assert response.status_code == 201
    assert response.content_type == "application/sdp"
    assert response.get_data(as_text=True) == ANSWER_SDP
    assert response.headers["X-Realtime-Call-Id"] == "rtc_abc123"
    request = openai_mock.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["Content-Type"].startswith("multipart/form-data")
    assert "OpenAI-Beta" not in request.headers
    parts = _multipart_parts(request)
    assert parts["sdp"] == ("application/sdp", OFFER_SDP)
    content_type, session_json = parts["session"]
    assert content_type == "application/json"
    session = json.loads(session_json)
    assert session["type"] == "realtime" and session["model"] == "gpt-realtime-2.1"
    assert "workflow" not in session_json
    assert check("RealtimeSessionCreateRequestGA", session) == []


def _multipart_parts(request):
    import email.parser
    import email.policy

    raw = b"Content-Type: " + request.headers["Content-Type"].encode() + b"\r\n\r\n" + request.body
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    return {
        part.get_param("name", header="content-disposition"): (part.get_content_type(), part.get_payload(decode=True).decode())
        for part in message.iter_parts()
    }


@pytest.mark.parametrize(
    "offer, content_type, words",
    [
        ("hello", "application/sdp", "does not look like an SDP offer"),
        (OFFER_SDP, "text/plain", "Content-Type: application/sdp"),
        ("v=0\r\n" + "a=x\r\n" * 20000, "application/sdp", "at most 65,536"),
    ],
)
def test_a_bad_offer_answers_400_and_reaches_no_upstream(admin, openai_mock, offer, content_type, words):
    response = admin.post(RELAY_PATH, data=offer, content_type=content_type)
    assert response.status_code == 400
    assert words in response.get_json()["message"]
    assert len(openai_mock.calls) == 0


def test_a_relay_failure_carries_openais_message(admin, openai_mock):
    response = relay(admin, openai_mock, status=400, json=openai_error("Invalid SDP offer."))
    assert response.status_code == 502
    assert response.get_json()["message"] == "Failed to connect the realtime call: Invalid SDP offer."


def test_a_relay_answer_that_is_not_sdp_is_refused(admin, openai_mock):
    response = relay(admin, openai_mock, status=201, body="<html></html>")
    assert response.status_code == 502 and response.get_json()["code"] == "invalid_upstream_response"
