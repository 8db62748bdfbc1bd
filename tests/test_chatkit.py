"""ChatKit session minting for the hosted workflow."""

import json

import pytest

from core.openai_catalog import AGENT_BUILDER_SHUTDOWN
from harness.payloads import CHATKIT_SECRET, chatkit_session_response, openai_error
from sandbox.openai_spec import check
from tests.support import API_KEY, BASE_URL, SignedInAdmin, around

SESSIONS_URL = f"{BASE_URL}/chatkit/sessions"
PATH = "/api/v1/chatkit/session"


def test_a_session_is_minted_for_the_workflow_and_the_admin(admin, openai_mock):
    openai_mock.post(SESSIONS_URL, json=chatkit_session_response())
    response = admin.post(PATH)
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "success",
        "data": {"client_secret": CHATKIT_SECRET, "expires_at": 1956310470, "sessionId": "cksess_123"},
    }
    request = openai_mock.calls[0].request
    body = json.loads(request.body)
    assert body["workflow"] == {"id": "wf_test123"}
    assert body["user"].startswith("admin_") and "alice" not in body["user"]
    assert request.headers["OpenAI-Beta"] == "chatkit_beta=v1"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert check("CreateChatSessionBody", body) == []


def test_the_chatkit_user_is_stable_for_an_admin(admin, openai_mock):
    openai_mock.post(SESSIONS_URL, json=chatkit_session_response())
    admin.post(PATH)
    admin.post(PATH, json={"current": CHATKIT_SECRET})
    users = [json.loads(call.request.body)["user"] for call in openai_mock.calls]
    assert len(users) == 2 and users[0] == users[1]


def test_a_refresh_with_the_current_secret_mints_a_new_session(admin, openai_mock):
    openai_mock.post(SESSIONS_URL, json=chatkit_session_response(secret="cks_new_secret_0123456789"))
    response = admin.post(PATH, json={"current": CHATKIT_SECRET})
    assert response.get_json()["data"]["client_secret"] == "cks_new_secret_0123456789"
    assert len(openai_mock.calls) == 1


def test_the_mocked_session_follows_the_spec():
    assert check("ChatSessionResource", chatkit_session_response()) == []


@pytest.mark.parametrize("missing", ["CHATKIT_AGENT_ID", "OPENAI_API_KEY"])
def test_a_missing_setting_answers_503_naming_it(make_app, openai_mock, missing):
    admin = SignedInAdmin(make_app(**{missing: None}).test_client())
    admin.login()
    response = admin.post(PATH)
    assert response.status_code == 503
    assert response.get_json()["code"] == "not_configured"
    assert missing in response.get_json()["message"]
    assert len(openai_mock.calls) == 0


def test_the_chat_page_says_when_the_workflow_is_missing(make_app):
    admin = SignedInAdmin(make_app(CHATKIT_AGENT_ID=None).test_client())
    admin.login()
    assert "CHATKIT_AGENT_ID" in admin.client.get("/admin/chat").get_data(as_text=True)


def test_workflow_not_found_carries_openais_message(admin, openai_mock):
    openai_mock.post(SESSIONS_URL, status=404, json=openai_error("Workflow with id 'wf_test123' not found."))
    response = admin.post(PATH)
    assert response.status_code == 502
    assert response.get_json()["message"] == "Failed to create ChatKit session: Workflow with id 'wf_test123' not found."


def test_an_answer_without_a_client_secret_is_refused(admin, openai_mock):
    openai_mock.post(SESSIONS_URL, json={"id": "cksess_1", "expires_at": 1})
    response = admin.post(PATH)
    assert response.status_code == 502 and response.get_json()["message"] == "No client_secret in response"


@pytest.mark.parametrize("body", [[1], {"current": 5}, "text"])
def test_a_malformed_body_answers_400(admin, openai_mock, body):
    response = admin.post(PATH, json=body)
    assert response.status_code == 400 and response.get_json()["code"] == "bad_request"
    assert len(openai_mock.calls) == 0


def test_chatkit_minting_requires_csrf(admin, openai_mock):
    assert admin.client.post(PATH).get_json()["code"] == "csrf_failed"


# --- Agent Builder's shutdown (AGENT_BUILDER_SHUTDOWN in the catalog) --------------------------------------------


@pytest.mark.parametrize("today", around(AGENT_BUILDER_SHUTDOWN))
def test_the_hosted_chat_page_says_whether_agent_builder_has_shut_down(make_app, today):
    admin = SignedInAdmin(make_app(today=today).test_client())
    admin.login()
    html = admin.client.get("/admin/chat").get_data(as_text=True)
    if today < AGENT_BUILDER_SHUTDOWN:
        assert f"shuts down on\n  <strong>{AGENT_BUILDER_SHUTDOWN}</strong>" in html and "shut down on" not in html
    else:
        assert f"shut down on\n  <strong>{AGENT_BUILDER_SHUTDOWN}</strong>: chat in this mode no longer works" in html
        assert "flask --app wsgi chatkit export-hosted ADMIN" in html and "CHATKIT_MODE=self-hosted" in html
        assert "shuts down on" not in html


@pytest.mark.parametrize("today", around(AGENT_BUILDER_SHUTDOWN))
def test_hosted_mode_warns_at_start_up_in_the_words_of_its_day(make_app, captured_logs, today):
    make_app(CHATKIT_MODE="hosted", CHATKIT_AGENT_ID="wf_test123", today=today)
    warnings = [r.getMessage() for r in captured_logs.records if r.levelname == "WARNING"]
    if today < AGENT_BUILDER_SHUTDOWN:
        assert any(f"shuts down on {AGENT_BUILDER_SHUTDOWN}; before then" in w for w in warnings), warnings
    else:
        assert any(f"shut down on {AGENT_BUILDER_SHUTDOWN}, so hosted chat no longer works" in w
                   and "export-hosted ADMIN" in w for w in warnings), warnings


def test_self_hosted_mode_says_nothing_about_agent_builder_at_start_up(make_app, captured_logs):
    make_app(CHATKIT_MODE="self-hosted")
    assert not any("Agent Builder" in r.getMessage() for r in captured_logs.records)
