"""The local Realtime sandbox answers like OpenAI: endpoints, error bodies, CORS, knobs, and a real WebRTC call."""

import asyncio
import json
import re
import subprocess
import sys
import time
import wave
from pathlib import Path

import aiohttp
import aioice.ice
import numpy as np
import pytest
import requests
from aiohttp.test_utils import TestClient, TestServer
from aiortc import RTCConfiguration, RTCPeerConnection

ROOT = Path(__file__).resolve().parent.parent

from harness.sandbox_call import EVENT_TIMEOUT_S, KEY, Microphone, connected_call, run, user_text
from sandbox.audio import answer_audio
from sandbox.fake_mic import write_fake_mic_wav
from sandbox.loopback_ice import offer_loopback_candidates
from sandbox.openai_spec import check
from sandbox.server import create_sandbox_app

REALTIME = {"type": "realtime", "model": "gpt-realtime-2.1", "audio": {"output": {"voice": "marin"},
            "input": {"transcription": {"model": "gpt-4o-mini-transcribe"}}}}
QUICK_TURNS = {"type": "server_vad", "silence_duration_ms": 200}



# --- the sandbox under test, as `make run` starts it -----------------------------------------------------


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    log_path = tmp_path_factory.mktemp("sandbox") / "stderr.txt"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", "0", "--loopback-ice",
             "--answer-audio", "tone"], cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True,
        )
    try:
        line = process.stdout.readline()
        assert line.startswith("sandbox listening on http://127.0.0.1:"), line
        base = line.split("listening on ", 1)[1].strip()
        yield Sandbox(base)
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0  # SIGTERM closes the peers and exits cleanly
    errors = log_path.read_text()
    assert "Traceback" not in errors and "Task was destroyed" not in errors and "never retrieved" not in errors, errors


class Sandbox:
    def __init__(self, base):
        self.base = base  # http://127.0.0.1:N/v1
        self.root = base[: -len("/v1")]

    def post(self, path, **kwargs):
        return requests.post(self.base + path, timeout=10, **kwargs)

    def control(self, **knobs):
        response = requests.post(self.root + "/_sandbox/control", json=knobs, timeout=5)
        assert response.status_code == 200, response.text
        return response.json()

    def state(self):
        return requests.get(self.root + "/_sandbox/state", timeout=5).json()

    def mint(self, session=REALTIME, **body):
        response = self.post("/realtime/client_secrets", headers=KEY, json={"session": session, **body})
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def fresh(sandbox):
    sandbox.control(reset=True)
    return sandbox


@pytest.fixture(scope="module")
def loopback_ice():
    # The test's own aiortc peer must offer 127.0.0.1 too, for runners whose only network is loopback.
    original = aioice.ice.get_host_addresses
    offer_loopback_candidates()
    yield
    aioice.ice.get_host_addresses = original


def assert_openai_error(response, status, code, param=None, message=None):
    assert response.status_code == status, response.text
    body = response.json()
    assert check("ErrorResponse", body) == []
    assert body["error"]["code"] == code
    if param is not None:
        assert body["error"]["param"] == param
    if message is not None:
        assert body["error"]["message"] == message
    assert response.headers["x-request-id"].startswith("req_")
    return body["error"]


# --- POST /v1/realtime/client_secrets ------------------------------------------------------------------


def test_mint_answers_a_spec_valid_secret_that_honours_expires_after(fresh):
    before = time.time()
    response = fresh.post("/realtime/client_secrets", headers=KEY,
                          json={"expires_after": {"anchor": "created_at", "seconds": 120}, "session": REALTIME})
    assert response.status_code == 200
    body = response.json()
    assert check("RealtimeCreateClientSecretResponse", body) == []
    assert body["value"].startswith("ek_")
    assert before + 119 <= body["expires_at"] <= time.time() + 121
    assert body["session"]["audio"]["output"]["voice"] == "marin"
    assert body["session"]["audio"]["input"]["transcription"] == {"model": "gpt-4o-mini-transcribe"}
    assert response.headers["x-request-id"].startswith("req_")
    assert fresh.state()["mints"] == 1


def test_mint_defaults_to_a_ten_minute_secret(fresh):
    body = fresh.mint()
    assert abs(body["expires_at"] - (time.time() + 600)) < 5


def test_mint_without_the_api_key_is_401_invalid_api_key(fresh):
    assert_openai_error(fresh.post("/realtime/client_secrets", json={"session": REALTIME}), 401, "invalid_api_key")
    wrong = fresh.post("/realtime/client_secrets", headers={"Authorization": "Bearer sk-wrong-key-123456"},
                       json={"session": REALTIME})
    error = assert_openai_error(wrong, 401, "invalid_api_key")
    assert "sk-wrong-key-123456" not in error["message"]


def test_mint_refuses_a_workflow_in_the_session_as_an_unknown_parameter(fresh):
    response = fresh.post("/realtime/client_secrets", headers=KEY,
                          json={"session": {**REALTIME, "workflow": {"id": "wf_1"}}})
    assert_openai_error(response, 400, "unknown_parameter", "session.workflow",
                        "Unknown parameter: 'session.workflow'.")


def test_mint_refuses_a_text_to_speech_voice(fresh):
    response = fresh.post("/realtime/client_secrets", headers=KEY,
                          json={"session": {"type": "realtime", "audio": {"output": {"voice": "nova"}}}})
    error = assert_openai_error(response, 400, "invalid_value", "session.audio.output.voice")
    assert error["message"].startswith("Invalid value: 'nova'. Supported values are: 'alloy', 'ash',")
    assert error["message"].endswith("and 'cedar'.")


def test_mint_refuses_a_missing_session_type_by_name(fresh):
    response = fresh.post("/realtime/client_secrets", headers=KEY, json={"session": {"model": "gpt-realtime-2.1"}})
    assert_openai_error(response, 400, "missing_required_parameter", "session.type",
                        "Missing required parameter: 'session.type'.")


@pytest.mark.parametrize("headers, body", [
    ({"OpenAI-Beta": "realtime=v1"}, {"session": REALTIME}),
    ({}, {"model": "gpt-realtime-2.1", "voice": "alloy"}),
])
def test_mint_refuses_the_beta_shape(fresh, headers, body):
    response = fresh.post("/realtime/client_secrets", headers={**KEY, **headers}, json=body)
    assert_openai_error(response, 400, "beta_api_shape_disabled", "",
                        "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API.")


def test_mint_accepts_the_nulls_the_ga_docs_allow(fresh):
    session = {**REALTIME, "audio": {"output": {"voice": "marin"},
               "input": {"noise_reduction": None, "turn_detection": None, "transcription": None}}}
    minted = fresh.mint(session=session)
    assert "noise_reduction" not in minted["session"]["audio"]["input"]


def test_mint_reports_an_invalid_value_inside_the_realtime_branch(fresh):
    session = {**REALTIME, "audio": {"input": {"noise_reduction": {"type": "loud"}}}}
    response = fresh.post("/realtime/client_secrets", headers=KEY, json={"session": session})
    assert_openai_error(response, 400, "invalid_value", "session.audio.input.noise_reduction.type")


def test_mint_still_refuses_an_unknown_parameter_beside_a_null(fresh):
    session = {**REALTIME, "audio": {"input": {"noise_reduction": None, "echo_cancellation": True}}}
    response = fresh.post("/realtime/client_secrets", headers=KEY, json={"session": session})
    assert_openai_error(response, 400, "unknown_parameter", "session.audio.input.echo_cancellation")


@pytest.mark.parametrize("model", ["gpt-4o-realtime-preview", "gpt-4o-mini-realtime-preview-2024-12-17", "gpt-4o",
                                   "gpt-realtime-9"])
def test_mint_refuses_a_model_realtime_does_not_serve_as_model_not_found(fresh, model):
    response = fresh.post("/realtime/client_secrets", headers=KEY, json={"session": {**REALTIME, "model": model}})
    assert_openai_error(response, 404, "model_not_found", "session.model",
                        f"The model `{model}` does not exist or you do not have access to it.")


def test_a_relayed_call_refuses_a_retired_model_as_model_not_found(fresh):
    files = {"sdp": (None, "v=0\r\n", "application/sdp"),
             "session": (None, json.dumps({**REALTIME, "model": "gpt-4o-realtime-preview"}), "application/json")}
    response = fresh.post("/realtime/calls", headers=KEY, files=files)
    assert_openai_error(response, 404, "model_not_found", "session.model")


@pytest.mark.parametrize("path", ["/realtime/sessions", "/realtime?model=gpt-realtime-2.1",
                                  "/realtime/transcription_sessions"])
def test_the_removed_beta_paths_answer_beta_api_shape_disabled(fresh, path):
    response = fresh.post(path, headers=KEY, json={"model": "gpt-realtime-2.1"})
    assert_openai_error(response, 400, "beta_api_shape_disabled", "",
                        "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API.")


def test_mint_refuses_a_body_that_is_not_json(fresh):
    response = fresh.post("/realtime/client_secrets", headers={**KEY, "Content-Type": "application/json"}, data="{")
    assert_openai_error(response, 400, None)


# --- CORS and unknown routes ---------------------------------------------------------------------------


def test_cors_preflight_allows_the_browser_to_post_its_offer(fresh):
    response = requests.options(fresh.base + "/realtime/calls", timeout=5, headers={
        "Origin": "http://localhost:5000", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"] == "authorization,content-type"
    assert "Location" in response.headers["Access-Control-Expose-Headers"]


def test_answers_expose_location_and_request_id_to_the_browser(fresh):
    response = fresh.post("/realtime/client_secrets", headers={**KEY, "Origin": "http://localhost:5000"},
                          json={"session": REALTIME})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Expose-Headers"] == "Location, x-request-id"


def test_an_unknown_api_route_is_openais_404_envelope(fresh):
    assert_openai_error(fresh.post("/realtime/recordings", headers=KEY, json={}), 404, None)


# --- POST /v1/realtime/calls (errors; the connecting calls are further down) ---------------------------


OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


def test_a_call_with_an_unknown_secret_is_401(fresh):
    response = fresh.post("/realtime/calls", data=OFFER,
                          headers={"Authorization": "Bearer ek_0123456789abcdef", "Content-Type": "application/sdp"})
    assert_openai_error(response, 401, "invalid_api_key")


def test_expire_next_secrets_makes_the_next_secret_fail_at_calls_only(fresh):
    fresh.control(expire_next_secrets=1)
    expired = fresh.mint()
    assert expired["expires_at"] > time.time()  # the browser cannot tell from the mint
    response = fresh.post("/realtime/calls", data=OFFER,
                          headers={"Authorization": f"Bearer {expired['value']}", "Content-Type": "application/sdp"})
    assert_openai_error(response, 401, "invalid_api_key")
    assert fresh.state()["knobs"]["expire_next_secrets"] == 0


def test_a_relayed_call_checks_its_session_part(fresh):
    files = {"sdp": (None, OFFER, "application/sdp"),
             "session": (None, json.dumps({"type": "realtime", "temperature": 0.8}), "application/json")}
    response = fresh.post("/realtime/calls", headers=KEY, files=files)
    assert_openai_error(response, 400, "unknown_parameter", "session.temperature")


def test_a_relayed_call_needs_the_api_key_not_a_secret(fresh):
    secret = fresh.mint()["value"]
    files = {"sdp": (None, OFFER, "application/sdp"), "session": (None, json.dumps(REALTIME), "application/json")}
    response = fresh.post("/realtime/calls", headers={"Authorization": f"Bearer {secret}"}, files=files)
    assert_openai_error(response, 401, "invalid_api_key")


def test_an_offer_that_is_not_sdp_is_refused(fresh):
    response = fresh.post("/realtime/calls", data="hello", headers={**KEY, "Content-Type": "application/sdp"})
    assert_openai_error(response, 400, "invalid_offer", "sdp")
    garbled = fresh.post("/realtime/calls", data=OFFER + "m=audio nonsense\r\n",
                         headers={**KEY, "Content-Type": "application/sdp"})
    assert_openai_error(garbled, 400, "invalid_offer", "sdp")
    binary = fresh.post("/realtime/calls", data=b"v=0\xff\xfe", headers={**KEY, "Content-Type": "application/sdp"})
    assert_openai_error(binary, 400, "invalid_offer", "sdp")


# --- POST /v1/chatkit/sessions -------------------------------------------------------------------------


CHATKIT = {**KEY, "OpenAI-Beta": "chatkit_beta=v1"}


def test_chatkit_session_is_a_spec_valid_session_resource(fresh):
    response = fresh.post("/chatkit/sessions", headers=CHATKIT,
                          json={"workflow": {"id": "wf_sandbox"}, "user": "admin-1",
                                "expires_after": {"anchor": "created_at", "seconds": 300}})
    assert response.status_code == 200
    body = response.json()
    assert check("ChatSessionResource", body) == []
    assert body["id"].startswith("cksess_") and body["client_secret"]
    assert body["workflow"]["id"] == "wf_sandbox" and body["user"] == "admin-1"
    assert abs(body["expires_at"] - (time.time() + 300)) < 5
    assert fresh.state()["chatkit_sessions"] == 1


def test_a_chatkit_session_can_be_cancelled(fresh):
    created = fresh.post("/chatkit/sessions", headers=CHATKIT, json={"workflow": {"id": "wf_sandbox"}, "user": "a"})
    response = fresh.post(f"/chatkit/sessions/{created.json()['id']}/cancel", headers=CHATKIT)
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled" and check("ChatSessionResource", response.json()) == []


def test_chatkit_needs_its_beta_header(fresh):
    response = fresh.post("/chatkit/sessions", headers=KEY, json={"workflow": {"id": "wf_sandbox"}, "user": "a"})
    assert_openai_error(response, 400, "invalid_beta")


def test_chatkit_missing_workflow_is_a_404(fresh):
    response = fresh.post("/chatkit/sessions", headers=CHATKIT, json={"workflow": {"id": "wf_missing"}, "user": "a"})
    error = assert_openai_error(response, 404, "not_found")
    assert "wf_missing" in error["message"]


def test_chatkit_refuses_an_empty_user_and_unknown_fields(fresh):
    empty = fresh.post("/chatkit/sessions", headers=CHATKIT, json={"workflow": {"id": "wf_sandbox"}, "user": ""})
    assert_openai_error(empty, 400, "invalid_value", "user")
    unknown = fresh.post("/chatkit/sessions", headers=CHATKIT,
                         json={"workflow": {"id": "wf_sandbox"}, "user": "a", "model": "gpt-5"})
    assert_openai_error(unknown, 400, "unknown_parameter", "model")
    missing = fresh.post("/chatkit/sessions", headers=CHATKIT, json={"workflow": {"id": "wf_sandbox"}})
    assert_openai_error(missing, 400, "missing_required_parameter", "user")


# --- knobs ---------------------------------------------------------------------------------------------


def test_mint_latency_delays_the_mint(fresh):
    fresh.control(mint_latency_ms=300)
    started = time.perf_counter()
    fresh.mint()
    assert time.perf_counter() - started >= 0.3


def test_fail_next_mints_fails_that_many_then_recovers(fresh):
    fresh.control(fail_next_mints={"count": 2, "status": 502})
    for _ in range(2):
        response = fresh.post("/realtime/client_secrets", headers=KEY, json={"session": REALTIME})
        assert_openai_error(response, 502, None)
        assert response.json()["error"]["type"] == "server_error"
    fresh.mint()
    assert fresh.state()["mints_failed"] == 2 and fresh.state()["mints"] == 1


def test_a_rate_limited_mint_says_when_to_retry(fresh):
    fresh.control(fail_next_mints={"count": 1, "status": 429})
    response = fresh.post("/realtime/client_secrets", headers=KEY, json={"session": REALTIME})
    assert_openai_error(response, 429, "rate_limit_exceeded")
    assert response.headers["Retry-After"] == "1"


def test_reject_next_calls_refuses_the_offer(fresh):
    fresh.control(reject_next_calls={"count": 1, "status": 500})
    response = fresh.post("/realtime/calls", data=OFFER, headers={**KEY, "Content-Type": "application/sdp"})
    assert_openai_error(response, 500, None)
    assert fresh.state()["calls_rejected"] == 1


def test_unknown_knobs_are_refused_and_reset_restores_the_defaults(fresh):
    for bad in ({"temperature": 1}, {"fail_next_mints": 3}, {"reject_next_calls": {"status": 200}},
                {"mint_latency_ms": "slow"}, {"sdp_latency_ms": -1}):
        assert requests.post(fresh.root + "/_sandbox/control", json=bad, timeout=5).status_code == 400, bad
    fresh.control(mint_latency_ms=50, unreachable_ice=True)
    knobs = fresh.control(reset=True)
    assert knobs["mint_latency_ms"] == 0 and knobs["unreachable_ice"] is False


# --- the WebRTC peer -----------------------------------------------------------------------------------


def test_a_call_with_a_secret_connects_and_speaks_ga_events(fresh, loopback_ice):
    secret = fresh.mint()["value"]

    async def scenario():
        async with connected_call(fresh, secret=secret) as call:
            assert call.session["audio"]["output"]["voice"] == "marin"
            call.send({"type": "session.update", "session": {"type": "realtime", "instructions": "Be brief.",
                                                             "audio": {"input": {"turn_detection": QUICK_TURNS}}}})
            updated = await call.wait_for("session.updated")
            assert updated["session"]["instructions"] == "Be brief."
            assert updated["session"]["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 200

            call.microphone.speak(0.6)
            started = await call.wait_for("input_audio_buffer.speech_started")
            stopped = await call.wait_for("input_audio_buffer.speech_stopped")
            assert stopped["item_id"] == started["item_id"]
            heard = await call.wait_for("conversation.item.input_audio_transcription.completed")
            assert heard["transcript"] == "(sandbox heard 0.6 s of speech)"
            await call.wait_for("response.created")
            deltas = []
            while (event := await call.next_event())["type"] != "response.output_audio_transcript.done":
                if event["type"] == "response.output_audio_transcript.delta":
                    deltas.append(event["delta"])
            assert len(deltas) > 3 and "".join(deltas) == event["transcript"]
            done = await call.wait_for("response.done")
            usage = done["response"]["usage"]
            assert done["response"]["status"] == "completed"
            assert usage["input_token_details"]["audio_tokens"] == 6  # 0.6 s at 10 audio tokens a second
            assert usage["output_token_details"]["audio_tokens"] > 0
            assert usage["output_token_details"]["text_tokens"] > 0
            assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
            while call.loudest_received < 0.1:  # the answer is audible, not the silence sent between answers
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # the sandbox notices the hang-up

    run(scenario())
    state = fresh.state()
    assert state["calls"] == 1 and state["session_updates"] == 1
    assert state["last_session_update"]["instructions"] == "Be brief."


def test_a_session_update_with_an_unknown_field_is_refused_and_nothing_applied(fresh, loopback_ice):
    secret = fresh.mint()["value"]

    async def scenario():
        async with connected_call(fresh, secret=secret) as call:
            call.send({"type": "session.update", "event_id": "evt_1",
                       "session": {"type": "realtime", "instructions": "changed", "temperature": 0.7}})
            error = await call.wait_for("error")
            assert error["error"]["code"] == "unknown_parameter"
            assert error["error"]["message"] == "Unknown parameter: 'session.temperature'."
            assert error["error"]["event_id"] == "evt_1"
            call.send({"type": "session.update", "session": {"type": "realtime", "max_output_tokens": 64}})
            updated = await call.wait_for("session.updated")
            assert updated["session"]["instructions"] != "changed" and updated["session"]["max_output_tokens"] == 64

    run(scenario())


def test_a_session_update_may_turn_noise_reduction_off_with_null(fresh, loopback_ice):
    secret = fresh.mint(session={**REALTIME, "audio": {"input": {"noise_reduction": {"type": "near_field"}}}})["value"]

    async def scenario():
        async with connected_call(fresh, secret=secret) as call:
            call.send({"type": "session.update",
                       "session": {"type": "realtime", "audio": {"input": {"noise_reduction": None}}}})
            updated = await call.wait_for("session.updated")
            assert "noise_reduction" not in updated["session"]["audio"]["input"]

    run(scenario())


def test_every_response_starts_with_rate_limits_updated(fresh, loopback_ice):
    secret = fresh.mint()["value"]

    async def scenario():
        async with connected_call(fresh, secret=secret) as call:
            call.send({"type": "response.create"})
            await call.wait_for("response.created")
            limits = await call.next_event()  # as the spec says: at the beginning of a response, not after it
            assert limits["type"] == "rate_limits.updated"
            assert {limit["name"] for limit in limits["rate_limits"]} == {"requests", "tokens"}

    run(scenario())


def test_next_response_knob_fails_the_next_response_for_insufficient_quota(fresh, loopback_ice):
    secret = fresh.mint()["value"]
    fresh.control(next_response={"status": "failed"})

    async def scenario():
        async with connected_call(fresh, secret=secret) as call:
            call.send({"type": "response.create"})
            done = await call.wait_for("response.done")
            assert done["response"]["status"] == "failed" and done["response"]["output"] == []
            assert done["response"]["status_details"] == {
                "type": "failed", "error": {"type": "insufficient_quota", "code": "insufficient_quota"}}
            call.send({"type": "response.create"})
            assert (await call.wait_for("response.done"))["response"]["status"] == "completed"

    run(scenario())


def test_next_response_knob_cuts_the_next_response_off_by_the_content_filter(fresh, loopback_ice):
    secret = fresh.mint()["value"]
    fresh.control(next_response={"status": "incomplete", "reason": "content_filter"})

    async def scenario():
        async with connected_call(fresh, secret=secret) as call:
            call.send({"type": "response.create"})
            done = await call.wait_for("response.done")
            assert done["response"]["status"] == "incomplete"
            assert done["response"]["status_details"] == {"type": "incomplete", "reason": "content_filter"}

    run(scenario())


def test_next_response_knob_refuses_an_outcome_openai_does_not_have(fresh):
    response = requests.post(fresh.root + "/_sandbox/control", json={"next_response": {"status": "exploded"}},
                             timeout=5)
    assert response.status_code == 400 and "next_response" in response.json()["error"]


def test_a_typed_message_is_answered_with_an_echo(fresh, loopback_ice):
    secret = fresh.mint()["value"]

    async def scenario():
        async with connected_call(fresh, secret=secret) as call:
            call.send(user_text("status of ingest?"))
            call.send({"type": "response.create"})
            transcript = await call.wait_for("response.output_audio_transcript.done")
            assert transcript["transcript"] == "You said: status of ingest?"
            done = await call.wait_for("response.done")
            assert done["response"]["output"][0]["content"][0]["transcript"] == "You said: status of ingest?"

    run(scenario())


def test_max_output_tokens_cuts_the_answer_off_as_incomplete(fresh, loopback_ice):
    secret = fresh.mint(session={**REALTIME, "max_output_tokens": 2})["value"]

    async def scenario():
        async with connected_call(fresh, secret=secret) as call:
            call.send(user_text("a long question"))
            call.send({"type": "response.create"})
            done = await call.wait_for("response.done")
            assert done["response"]["status"] == "incomplete"
            assert done["response"]["status_details"] == {"type": "incomplete", "reason": "max_output_tokens"}
            assert done["response"]["output"][0]["content"][0]["transcript"] == "You said:"

    run(scenario())


def test_speaking_over_an_answer_interrupts_it(fresh, loopback_ice):
    secret = fresh.mint()["value"]

    async def scenario():
        async with connected_call(fresh, secret=secret) as call:
            call.send(user_text(" ".join(["word"] * 60)))
            call.send({"type": "response.create"})
            await call.wait_for("output_audio_buffer.started")
            call.microphone.speak(0.3)
            await call.wait_for("input_audio_buffer.speech_started")
            done = await call.wait_for("response.done")
            assert done["response"]["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
            await call.wait_for("output_audio_buffer.cleared")

    run(scenario())


def test_push_to_talk_commits_the_buffer_when_asked(fresh, loopback_ice):
    secret = fresh.mint()["value"]

    async def scenario():
        async with connected_call(fresh, secret=secret) as call:
            call.send({"type": "input_audio_buffer.commit"})  # nothing heard yet
            assert (await call.wait_for("error"))["error"]["code"] == "input_audio_buffer_commit_empty"
            call.send({"type": "session.update", "session": {"type": "realtime",
                                                             "audio": {"input": {"turn_detection": None}}}})
            await call.wait_for("session.updated")
            call.send({"type": "input_audio_buffer.clear"})
            await call.wait_for("input_audio_buffer.cleared")
            call.microphone.speak(0.5)
            await asyncio.sleep(0.8)  # audio must reach the buffer before the push-to-talk button is released
            call.send({"type": "input_audio_buffer.commit"})
            await call.wait_for("input_audio_buffer.committed")
            heard = await call.wait_for("conversation.item.input_audio_transcription.completed")
            assert heard["transcript"].startswith("(sandbox heard 0.")
            call.send({"type": "response.create"})
            done = (await call.wait_for("response.done"))["response"]
            assert done["status"] == "completed"
            assert done["output"][0]["content"][0]["transcript"].startswith("Sandbox here: I heard 0.")
            assert done["usage"]["input_token_details"]["audio_tokens"] > 0
            assert not any(e["type"] == "input_audio_buffer.speech_started" for e in call.seen)

    run(scenario())


def test_interrupting_cancels_the_response_and_clears_its_audio(fresh, loopback_ice):
    secret = fresh.mint()["value"]

    async def scenario():
        async with connected_call(fresh, secret=secret) as call:
            call.send(user_text(" ".join(["word"] * 40)))
            call.send({"type": "response.create"})
            await call.wait_for("output_audio_buffer.started")
            call.send({"type": "response.cancel"})
            call.send({"type": "output_audio_buffer.clear"})
            done = await call.wait_for("response.done")
            assert done["response"]["status"] == "cancelled"
            assert done["response"]["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
            await call.wait_for("output_audio_buffer.cleared")
            call.send({"type": "response.cancel"})
            assert (await call.wait_for("error"))["error"]["code"] == "response_cancel_not_active"

    run(scenario())


def test_an_unknown_client_event_is_an_error_event(fresh, loopback_ice):
    secret = fresh.mint()["value"]

    async def scenario():
        async with connected_call(fresh, secret=secret) as call:
            call.send({"type": "session.refresh", "event_id": "evt_x"})
            error = await call.wait_for("error")
            assert error["error"]["param"] == "type" and error["error"]["event_id"] == "evt_x"

    run(scenario())


def test_hanging_up_from_the_sandbox_ends_the_call(fresh, loopback_ice):
    secret = fresh.mint()["value"]

    async def scenario():
        async with connected_call(fresh, secret=secret) as call:
            ended = asyncio.Event()
            call.pc.on("connectionstatechange", lambda: call.pc.connectionState in ("closed", "failed") and ended.set())
            call.channel.on("close", ended.set)
            async with aiohttp.ClientSession() as http:
                hangup = await http.post(fresh.root + call.location + "/hangup", headers=KEY)
                assert hangup.status == 200
            await asyncio.wait_for(ended.wait(), EVENT_TIMEOUT_S)

    run(scenario())
    assert fresh.state()["open_peers"] == 0


def test_a_relayed_call_connects_with_the_session_it_was_given(fresh, loopback_ice):
    async def scenario():
        async with connected_call(fresh, relay_session={**REALTIME, "output_modalities": ["text"]}) as call:
            assert call.session["output_modalities"] == ["text"]
            call.send(user_text("hi"))
            call.send({"type": "response.create"})
            assert (await call.wait_for("response.output_text.done"))["text"] == "You said: hi"
            usage = (await call.wait_for("response.done"))["response"]["usage"]
            assert usage["output_token_details"]["audio_tokens"] == 0

    run(scenario())
    assert fresh.state()["last_session"]["output_modalities"] == ["text"]


def test_unreachable_ice_answers_candidates_nobody_listens_on(fresh, loopback_ice):
    fresh.control(unreachable_ice=True)
    secret = fresh.mint()["value"]

    async def scenario():
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTrack(Microphone())
        pc.createDataChannel("oai-events")
        await pc.setLocalDescription(await pc.createOffer())
        async with aiohttp.ClientSession() as http:
            answer = await http.post(fresh.base + "/realtime/calls", data=pc.localDescription.sdp, headers={
                "Authorization": f"Bearer {secret}", "Content-Type": "application/sdp"})
            assert answer.status == 201
            sdp = await answer.text()
        await pc.close()
        return sdp

    sdp = run(scenario())
    candidates = [line for line in sdp.splitlines() if line.startswith("a=candidate:")]
    assert candidates and len({line.split()[5] for line in candidates}) == 1  # one port, where nothing answers
    assert fresh.state()["open_peers"] == 0


def test_a_session_ends_with_session_expired_at_its_limit(loopback_ice):
    async def scenario():
        app = create_sandbox_app(answer_audio="tone", max_session_seconds=0.5)
        async with TestServer(app, host="127.0.0.1") as server, aiohttp.ClientSession() as http:
            base = str(server.make_url("/v1"))
            minted = await http.post(base + "/realtime/client_secrets", headers=KEY, json={"session": REALTIME})
            secret = (await minted.json())["value"]
            async with connected_call(Sandbox(base), secret=secret) as call:
                error = await call.wait_for("error")
                assert error["error"]["code"] == "session_expired"
                sandbox_state = await (await http.get(str(server.make_url("/_sandbox/state")))).json()
                while sandbox_state["open_peers"]:
                    await asyncio.sleep(0.05)  # the sandbox hangs up after the error
                    sandbox_state = await (await http.get(str(server.make_url("/_sandbox/state")))).json()

    run(scenario())


# --- in-process use, audio, and `make run` -------------------------------------------------------------


def test_the_app_runs_in_process_with_aiohttps_test_utilities():
    async def scenario():
        async with TestClient(TestServer(create_sandbox_app(api_key="sk-other"))) as client:
            response = await client.post("/v1/realtime/client_secrets", json={"session": {"type": "realtime"}},
                                         headers={"Authorization": "Bearer sk-other"})
            assert response.status == 200
            assert check("RealtimeCreateClientSecretResponse", await response.json()) == []

    run(scenario())


def test_answer_audio_is_audible_with_or_without_espeak():
    for mode in ("auto", "tone"):
        samples = run(answer_audio("Sandbox here.", mode)).astype(np.float32) / 32768
        assert samples.size > 48000 * 0.3 and np.sqrt(np.mean(samples**2)) > 0.05


def test_the_fake_microphone_file_alternates_speech_and_pauses(tmp_path):
    with wave.open(str(write_fake_mic_wav(tmp_path / "speech.wav"))) as reader:
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype=np.int16) / 32768
    levels = np.sqrt(np.mean(samples[: samples.size // 960 * 960].reshape(-1, 960) ** 2, axis=1))
    assert (levels > 0.05).sum() * 0.02 >= 1.0 and (levels == 0).sum() * 0.02 >= 2.0


def test_make_run_starts_the_sandbox_and_learns_its_url():
    from scripts import run_dev

    process, base_url = run_dev.start_sandbox()
    try:
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        assert requests.get(base_url[: -len("/v1")] + "/_sandbox/state", timeout=5).json()["open_peers"] == 0
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


# --- tool calls: words that name a session's tool are answered with a function call -------------------------

PIPELINE_TOOLS = [
    {"type": "function", "name": "list_failed_pipelines", "description": "Pipelines whose last run failed.",
     "parameters": {"type": "object", "properties": {"since": {"type": "string", "description": "ISO 8601 time"}},
                    "required": []}},
    {"type": "function", "name": "rerun_pipeline", "description": "Starts a new run of a pipeline.",
     "parameters": {"type": "object", "properties": {"name": {"type": "string"}, "reason": {"type": "string"}},
                    "required": ["name"]}},
]
FUNCTION_CALL_EVENTS = [
    "response.created", "rate_limits.updated", "response.output_item.added", "conversation.item.added",
    "response.function_call_arguments.delta", "response.function_call_arguments.done", "response.output_item.done",
    "conversation.item.done", "response.done",
]


async def function_call(call):
    """The events of one function-call response, checked against the schema and GA's order; returns them by type."""
    created = await call.wait_for("response.created")
    types, by_type = ["response.created"], {"response.created": created}
    while True:
        event = await call.next_event()
        types.append(event["type"])
        by_type.setdefault(event["type"], event)
        if event["type"] == "response.done":
            break
    assert [t for i, t in enumerate(types) if i == 0 or t != types[i - 1]] == FUNCTION_CALL_EVENTS, types
    return by_type


def test_a_typed_question_naming_a_tool_gets_a_function_call_and_the_output_is_spoken(fresh, loopback_ice):
    secret = fresh.mint(session={**REALTIME, "tools": PIPELINE_TOOLS})["value"]

    async def scenario():
        async with connected_call(fresh, secret=secret) as call:
            call.send(user_text("hello there"))  # naming no tool: an ordinary spoken answer
            call.send({"type": "response.create"})
            assert (await call.wait_for("response.output_audio_transcript.done"))["transcript"] == "You said: hello there"
            await call.wait_for("response.done")

            call.send(user_text("Which pipelines failed last night?"))
            call.send({"type": "response.create"})
            events = await function_call(call)
            added = events["response.output_item.added"]["item"]
            assert added["type"] == "function_call" and added["name"] == "list_failed_pipelines"
            assert added["status"] == "in_progress" and added["arguments"] == ""
            done = events["response.function_call_arguments.done"]
            assert done["call_id"] == added["call_id"] and done["item_id"] == added["id"]
            arguments = json.loads(done["arguments"])
            assert set(arguments) == {"since"} and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", arguments["since"])
            response = events["response.done"]["response"]
            assert response["status"] == "completed"
            assert response["output"] == [{**added, "status": "completed", "arguments": done["arguments"]}]

            call.send({"type": "conversation.item.create", "item": {
                "type": "function_call_output", "call_id": done["call_id"], "output": '[{"name": "orders_daily"}]'}})
            await call.wait_for("conversation.item.done")
            call.send({"type": "response.create"})
            spoken = await call.wait_for("response.output_audio_transcript.done")
            assert spoken["transcript"] == 'list_failed_pipelines returned: [{"name": "orders_daily"}]'
            assert (await call.wait_for("response.done"))["response"]["output"][0]["type"] == "message"

    run(scenario())


def test_next_transcript_knob_makes_speech_ask_for_a_tool_by_name(fresh, loopback_ice):
    session = {**REALTIME, "tools": PIPELINE_TOOLS,
               "audio": {**REALTIME["audio"], "input": {**REALTIME["audio"]["input"], "turn_detection": QUICK_TURNS}}}
    secret = fresh.mint(session=session)["value"]
    fresh.control(next_transcript="Rerun the orders_daily pipeline")

    async def scenario():
        async with connected_call(fresh, secret=secret) as call:
            call.microphone.speak(0.6)
            heard = await call.wait_for("conversation.item.input_audio_transcription.completed")
            assert heard["transcript"] == "Rerun the orders_daily pipeline"
            events = await function_call(call)
            done = events["response.function_call_arguments.done"]
            assert done["name"] == "rerun_pipeline" and json.loads(done["arguments"]) == {"name": "orders_daily"}

    run(scenario())
    assert fresh.state()["knobs"]["next_transcript"] is None  # used once


def test_next_transcript_knob_must_be_words(fresh):
    response = requests.post(fresh.root + "/_sandbox/control", json={"next_transcript": " "}, timeout=5)
    assert response.status_code == 400 and "next_transcript" in response.json()["error"]
