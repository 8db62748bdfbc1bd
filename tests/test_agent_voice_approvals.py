"""Approvals of page-relayed voice tool calls are bound to the call: a 409 approval_required hands out a one-time
approval id for the admin, the tool, the call_id and these arguments; the approved call presents it and runs once."""

from datetime import timedelta

import pytest
import responses

from core.admins import add_admin
from core.clock import FixedClock
from realtime.tool_approvals import APPROVAL_TTL_SECONDS
from tests.support import PASSWORD, SignedInAdmin

PLATFORM = "http://platform.test"
TOKEN = "tok-approvals-5"
TOOL_CALLS = "/api/v1/realtime/tool-calls"
AGENT = '''
instructions = "You help the admins."

[[tools]]
name = "list_failed_pipelines"
description = "Pipelines whose last run failed."
url = "${PLATFORM_URL}/pipelines?status=failed"
headers = { Authorization = "Bearer ${PLATFORM_TOKEN}" }

[[tools]]
name = "rerun_pipeline"
description = "Reruns one pipeline."
method = "POST"
url = "${PLATFORM_URL}/pipelines/{name}/rerun"
headers = { Authorization = "Bearer ${PLATFORM_TOKEN}" }
parameters = { type = "object", properties = { name = { type = "string" } }, required = ["name"] }

[[tools]]
name = "drop_dataset"
description = "Deletes a dataset."
method = "DELETE"
url = "${PLATFORM_URL}/datasets/{name}"
headers = { Authorization = "Bearer ${PLATFORM_TOKEN}" }
parameters = { type = "object", properties = { name = { type = "string" } }, required = ["name"] }
'''
NIGHTLY = '{"name": "nightly"}'


@pytest.fixture
def agent_app(make_app, tmp_path, admins_file):
    path = tmp_path / "agent.toml"
    path.write_text(AGENT)
    add_admin(admins_file, "bob", PASSWORD)
    return make_app(AGENT_FILE=str(path), PLATFORM_URL=PLATFORM, PLATFORM_TOKEN=TOKEN)


@pytest.fixture
def platform():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(f"{PLATFORM}/pipelines/nightly/rerun", json={"run": "r-2"})
        mock.post(f"{PLATFORM}/pipelines/weekly/rerun", json={"run": "r-3"})
        mock.delete(f"{PLATFORM}/datasets/sales", json={"deleted": True})
        yield mock


def signed_in(app, name="alice"):
    admin = SignedInAdmin(app.test_client())
    admin.login(name, PASSWORD)
    return admin


def call(admin, name="rerun_pipeline", arguments=NIGHTLY, call_id="call_1", **extra):
    return admin.post(TOOL_CALLS, json={"name": name, "arguments": arguments, "call_id": call_id, **extra})


def ask(admin, **kwargs):
    """The first post of a confirm call: approval_required and its approval id."""
    response = call(admin, **kwargs)
    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == "approval_required" and body["approval"]["expires_in_seconds"] == APPROVAL_TTL_SECONDS
    return body["approval"]["id"]


def test_approval_required_hands_out_an_approval_id_and_the_approved_call_runs_once(agent_app, platform):
    alice = signed_in(agent_app)
    approval_id = ask(alice)
    assert approval_id.startswith("apr_") and len(platform.calls) == 0
    ran = call(alice, approval_id=approval_id)
    assert ran.status_code == 200 and "r-2" in ran.get_json()["data"]["output"]
    assert len(platform.calls) == 1


def test_an_approval_id_is_refused_a_second_time(agent_app, platform):
    alice = signed_in(agent_app)
    approval_id = ask(alice)
    call(alice, approval_id=approval_id)
    replayed = call(alice, approval_id=approval_id)
    assert replayed.status_code == 409 and replayed.get_json()["code"] == "approval_used"
    assert "runs once" in replayed.get_json()["message"]
    # Nor can the page ask again for the same call: it ran.
    again = call(alice)
    assert again.status_code == 409 and again.get_json()["code"] == "approval_used"
    assert len(platform.calls) == 1


def test_an_approval_id_is_refused_for_other_arguments(agent_app, platform):
    alice = signed_in(agent_app)
    approval_id = ask(alice)
    other = call(alice, arguments='{"name": "weekly"}', approval_id=approval_id)
    body = other.get_json()
    assert other.status_code == 409 and body["code"] == "approval_required"
    assert "The approval id sent was refused: it was given for other arguments." in body["message"]
    assert body["approval"]["id"] != approval_id and len(platform.calls) == 0
    # ... and the first id is no longer good for its own arguments either: the newest ask for the call wins.
    assert call(alice, approval_id=approval_id).status_code == 409 and len(platform.calls) == 0


def test_the_same_arguments_in_another_spelling_are_the_same_call(agent_app, platform):
    alice = signed_in(agent_app)
    approval_id = ask(alice, arguments='{"name":"nightly"}')
    assert call(alice, arguments='{ "name" : "nightly" }', approval_id=approval_id).status_code == 200


@pytest.mark.parametrize("change, words", [
    ({"call_id": "call_2"}, "it was given for another call"),
    ({"name": "drop_dataset", "arguments": '{"name": "sales"}'}, "it was given for another call"),
])
def test_an_approval_id_is_refused_for_another_call_or_tool(agent_app, platform, change, words):
    alice = signed_in(agent_app)
    approval_id = ask(alice)
    refused = call(alice, approval_id=approval_id, **change)
    assert refused.status_code == 409 and words in refused.get_json()["message"]
    assert len(platform.calls) == 0


def test_an_approval_id_is_refused_for_another_admin(agent_app, platform):
    approval_id = ask(signed_in(agent_app, "alice"))
    refused = call(signed_in(agent_app, "bob"), approval_id=approval_id)
    assert refused.status_code == 409 and "it is not one this server gave you" in refused.get_json()["message"]
    assert len(platform.calls) == 0


def test_an_approval_id_expires(agent_app, platform):
    alice = signed_in(agent_app)
    approval_id = ask(alice)

    class JustAfterExpiry(FixedClock):
        def now(self):
            return super().now() + timedelta(seconds=APPROVAL_TTL_SECONDS + 1)

    agent_app.extensions["clock"] = JustAfterExpiry(agent_app.extensions["clock"].day)
    refused = call(alice, approval_id=approval_id)
    assert refused.status_code == 409 and "it expired (10 minutes after it was given)" in refused.get_json()["message"]
    assert len(platform.calls) == 0


def test_approved_true_on_the_pages_word_no_longer_runs_anything(agent_app, platform):
    refused = call(signed_in(agent_app), approved=True)
    assert refused.status_code == 409 and refused.get_json()["code"] == "approval_required"
    assert len(platform.calls) == 0


def test_a_made_up_approval_id_is_refused(agent_app, platform):
    refused = call(signed_in(agent_app), approval_id="apr_madeup")
    assert refused.status_code == 409 and "it is not one this server gave you" in refused.get_json()["message"]
    assert len(platform.calls) == 0


def test_approvals_are_kept_in_the_database_so_every_worker_agrees(make_app, agent_app, tmp_path, platform):
    # A second app on the same database stands for another gunicorn worker or instance.
    path = tmp_path / "agent.toml"
    other_worker = make_app(AGENT_FILE=str(path), PLATFORM_URL=PLATFORM, PLATFORM_TOKEN=TOKEN)
    alice_here, alice_there = signed_in(agent_app), signed_in(other_worker)
    approval_id = ask(alice_here)
    assert call(alice_there, approval_id=approval_id).status_code == 200
    assert call(alice_here, approval_id=approval_id).get_json()["code"] == "approval_used"
    assert len(platform.calls) == 1


def test_a_tool_without_confirm_needs_no_approval_id(agent_app, platform):
    platform.get(f"{PLATFORM}/pipelines", json=[])
    assert call(signed_in(agent_app), "list_failed_pipelines", "{}").status_code == 200


def test_a_malformed_approval_id_answers_bad_request(agent_app):
    refused = call(signed_in(agent_app), approval_id=42)
    assert refused.status_code == 400 and "approval_id must be" in refused.get_json()["message"]
