"""The voice agent's tools: the minted and relayed sessions carry them (never a credential), and
POST /api/v1/realtime/tool-calls runs each call on the server, answers every failure in the envelope and records it."""

import json

import pytest
import requests
import responses
from prometheus_client import REGISTRY

import activity
from harness.payloads import ANSWER_SDP, OFFER_SDP, client_secret_response
from sandbox.openai_spec import check
from tests.support import BASE_URL, SignedInAdmin

PLATFORM = "http://platform.test"
TOKEN = "tok-very-secret-42"
TOOL_CALLS = "/api/v1/realtime/tool-calls"
AGENT = '''
instructions = "You help the admins."

[[tools]]
name = "list_failed_pipelines"
description = "Pipelines whose last run failed."
url = "${PLATFORM_URL}/pipelines?status=failed"
headers = { Authorization = "Bearer ${PLATFORM_TOKEN}" }
parameters = { type = "object", properties = { since = { type = "string" } }, required = [] }
timeout_seconds = 2

[[tools]]
name = "rerun_pipeline"
description = "Reruns one pipeline."
method = "POST"
url = "${PLATFORM_URL}/pipelines/{name}/rerun"
headers = { Authorization = "Bearer ${PLATFORM_TOKEN}" }
parameters = { type = "object", properties = { name = { type = "string" } }, required = ["name"] }
'''


@pytest.fixture
def agent_file(tmp_path):
    path = tmp_path / "agent.toml"
    path.write_text(AGENT)
    return str(path)


@pytest.fixture
def agent_app(make_app, agent_file):
    return make_app(AGENT_FILE=agent_file, PLATFORM_URL=PLATFORM, PLATFORM_TOKEN=TOKEN, TOOL_RATE_LIMIT="5 per minute")


@pytest.fixture
def voice_admin(agent_app):
    admin = SignedInAdmin(agent_app.test_client())
    admin.login()
    return admin


@pytest.fixture
def platform():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def call(admin, name="list_failed_pipelines", arguments="{}", call_id="call_1", **extra):
    return admin.post(TOOL_CALLS, json={"name": name, "arguments": arguments, "call_id": call_id, **extra})


def tool_rows(app):
    activity.flush_mints()
    with app.app_context():
        from core.database import database

        with database().connect() as connection:
            return [dict(row) for row in connection.execute(activity.tool_calls.select().order_by("id")).mappings()]


def counted(channel, tool, outcome):
    return REGISTRY.get_sample_value("voice_console_tool_calls_total",
                                     {"channel": channel, "tool": tool, "outcome": outcome}) or 0.0


# --- the session carries the tools --------------------------------------------------------------------------


def test_the_minted_session_carries_the_tools_and_no_credential(voice_admin, platform):
    platform.post(f"{BASE_URL}/realtime/client_secrets", json=client_secret_response())
    assert voice_admin.post("/api/v1/chatkit/realtime-session").status_code == 200
    sent = platform.calls[0].request.body
    sent = sent.decode() if isinstance(sent, bytes) else sent
    session = json.loads(sent)["session"]
    assert session["tool_choice"] == "auto"
    assert [tool["name"] for tool in session["tools"]] == ["list_failed_pipelines", "rerun_pipeline"]
    assert session["tools"][1] == {
        "type": "function", "name": "rerun_pipeline", "description": "Reruns one pipeline.",
        "parameters": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"],
                       "additionalProperties": False},
    }
    assert TOKEN not in sent and PLATFORM not in sent
    assert check("RealtimeSessionCreateRequestGA", session) == []


def test_the_relayed_call_carries_the_tools_and_no_credential(voice_admin, platform):
    platform.post(f"{BASE_URL}/realtime/calls", status=201, body=ANSWER_SDP, content_type="application/sdp")
    assert voice_admin.post("/api/v1/realtime/calls", data=OFFER_SDP, content_type="application/sdp").status_code == 201
    sent = platform.calls[0].request.body.decode()
    assert '"tool_choice": "auto"' in sent and '"name": "list_failed_pipelines"' in sent
    assert TOKEN not in sent and PLATFORM not in sent


def test_without_an_agent_file_the_session_has_no_tools(admin, openai_mock):
    openai_mock.post(f"{BASE_URL}/realtime/client_secrets", json=client_secret_response())
    assert admin.post("/api/v1/chatkit/realtime-session").status_code == 200
    session = json.loads(openai_mock.calls[0].request.body)["session"]
    assert "tools" not in session and "tool_choice" not in session


def test_the_voice_page_names_the_route_and_the_tools_that_need_approval(voice_admin):
    html = voice_admin.client.get("/admin/voice").get_data(as_text=True)
    assert 'data-tool-calls-url="/api/v1/realtime/tool-calls"' in html
    assert "rerun_pipeline" in html and "list_failed_pipelines" not in html.split("data-approval-tools")[1][:80]


# --- the route --------------------------------------------------------------------------------------------


def test_a_tool_call_runs_on_the_server_and_answers_the_output(agent_app, voice_admin, platform):
    platform.get(f"{PLATFORM}/pipelines", json=[{"name": "nightly-orders", "status": "failed"}])
    before = counted("voice", "list_failed_pipelines", "ok")
    response = call(voice_admin, arguments='{"since": "2026-11-26T00:00:00Z"}')
    assert response.status_code == 200, response.get_json()
    data = response.get_json()["data"]
    assert response.get_json()["status"] == "success"
    assert "nightly-orders" in data["output"] and isinstance(data["ms"], (int, float)) and data["callId"] == "call_1"
    request = platform.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}" and "since=2026-11-26" in request.url
    row = tool_rows(agent_app)[-1]
    assert (row["admin"], row["channel"], row["tool"], row["outcome"], row["call_id"]) == (
        "alice", "voice", "list_failed_pipelines", "ok", "call_1")
    assert counted("voice", "list_failed_pipelines", "ok") == before + 1


def test_an_approved_confirm_tool_runs(voice_admin, platform):
    platform.post(f"{PLATFORM}/pipelines/nightly/rerun", json={"run": "r-2"})
    asked = call(voice_admin, "rerun_pipeline", '{"name": "nightly"}').get_json()
    response = call(voice_admin, "rerun_pipeline", '{"name": "nightly"}', approval_id=asked["approval"]["id"])
    assert response.status_code == 200 and "r-2" in response.get_json()["data"]["output"]


@pytest.mark.parametrize("name, arguments, extra, status, code, words", [
    ("drop_everything", "{}", {}, 400, "unknown_tool", "no tool named 'drop_everything'"),
    ("list_failed_pipelines", "not json", {}, 400, "invalid_arguments", "not JSON"),
    ("list_failed_pipelines", '{"since": 5}', {}, 400, "invalid_arguments", "since"),
    ("rerun_pipeline", "{}", {}, 400, "invalid_arguments", "'name' is a required property"),
    ("rerun_pipeline", '{"name": "nightly"}', {}, 409, "approval_required", "approve"),
])
def test_refused_calls_answer_their_code_and_are_recorded(agent_app, voice_admin, platform, name, arguments, extra,
                                                          status, code, words):
    before = counted("voice", "(unknown)" if code == "unknown_tool" else name, code)
    response = call(voice_admin, name, arguments, **extra)
    assert response.status_code == status
    assert counted("voice", "(unknown)" if code == "unknown_tool" else name, code) == before + 1
    body = response.get_json()
    assert (body["status"], body["code"]) == ("error", code) and words in body["message"]
    assert len(platform.calls) == 0  # nothing reached the platform
    row = tool_rows(agent_app)[-1]
    assert (row["tool"], row["outcome"], row["error_code"]) == (name, "error", code)


def test_a_platform_error_answers_tool_failed_with_its_status(agent_app, voice_admin, platform):
    platform.get(f"{PLATFORM}/pipelines", status=503, body="maintenance")
    response = call(voice_admin)
    assert response.status_code == 502
    body = response.get_json()
    assert body["code"] == "tool_failed" and "HTTP 503" in body["message"] and TOKEN not in body["message"]
    assert tool_rows(agent_app)[-1]["error_code"] == "tool_failed"


def test_no_answer_in_time_answers_tool_timeout(voice_admin, platform):
    platform.get(f"{PLATFORM}/pipelines", body=requests.ReadTimeout("slow"))
    response = call(voice_admin)
    assert response.status_code == 504 and response.get_json()["code"] == "tool_timeout"
    assert "2 seconds" in response.get_json()["message"]


@pytest.mark.parametrize("body, words", [
    ("not json", "must be a JSON object"),
    ([1, 2], "must be a JSON object"),
    ({"name": "x", "arguments": "{}", "call_id": "c", "extra": 1}, "Unknown field 'extra'"),
    ({"arguments": "{}", "call_id": "c"}, "name must be"),
    ({"name": "list_failed_pipelines", "arguments": {}, "call_id": "c"}, "arguments must be the JSON text"),
    ({"name": "list_failed_pipelines", "arguments": "{}"}, "call_id must be"),
    ({"name": "list_failed_pipelines", "arguments": "{}", "call_id": "c", "approved": "yes"}, "approved must be"),
])
def test_a_malformed_body_answers_bad_request_in_words(voice_admin, body, words):
    if isinstance(body, str):
        response = voice_admin.post(TOOL_CALLS, data=body, content_type="application/json")
    else:
        response = voice_admin.post(TOOL_CALLS, json=body)
    assert response.status_code == 400
    assert response.get_json()["code"] == "bad_request" and words in response.get_json()["message"]


def test_without_an_agent_file_the_route_says_so(admin):
    response = call(admin)
    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == "no_agent_file" and "AGENT_FILE" in body["message"]


def test_the_route_needs_sign_in_and_the_csrf_token(agent_app):
    anonymous = agent_app.test_client()
    assert anonymous.post(TOOL_CALLS, json={}).status_code == 401
    admin = SignedInAdmin(agent_app.test_client())
    admin.login()
    response = admin.client.post(TOOL_CALLS, json={"name": "x", "arguments": "{}", "call_id": "c"})
    assert response.status_code == 400 and response.get_json()["code"] == "csrf_failed"


def test_tool_calls_are_limited_per_admin(voice_admin, platform):
    platform.get(f"{PLATFORM}/pipelines", json=[])
    statuses = [call(voice_admin).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    response = call(voice_admin)
    assert response.get_json()["code"] == "rate_limited" and "Retry-After" in response.headers


def test_the_activity_page_shows_tool_calls_and_filters_them(agent_app, voice_admin, platform):
    platform.get(f"{PLATFORM}/pipelines", json=[])
    call(voice_admin)
    call(voice_admin, "nope")
    page = voice_admin.client.get("/admin/activity").get_data(as_text=True)
    assert "Tool calls" in page and "<code>list_failed_pipelines</code>" in page and "unknown_tool" in page
    errors_only = voice_admin.client.get("/admin/activity?outcome=error", headers={
        "HX-Request": "true", "HX-Target": "tool-calls"}).get_data(as_text=True)
    assert "<code>nope</code>" in errors_only and "<code>list_failed_pipelines</code>" not in errors_only
    assert errors_only.lstrip().startswith("<section id=\"tool-calls\"")


def test_old_tool_calls_are_pruned_with_the_rest_of_the_record(agent_app, voice_admin, platform):
    from datetime import timedelta

    from sqlalchemy import update

    from activity.tables import utc_now
    from core.database import database

    platform.get(f"{PLATFORM}/pipelines", json=[])
    call(voice_admin, call_id="old")
    call(voice_admin, call_id="new")
    activity.flush_mints()
    with agent_app.app_context():
        with database().begin() as connection:
            connection.execute(update(activity.tool_calls).where(activity.tool_calls.c.call_id == "old")
                               .values(created_at=utc_now() - timedelta(days=40)))
        assert activity.prune(30) == 1
    assert [row["call_id"] for row in tool_rows(agent_app)] == ["new"]
