"""Roles in the browser: a viewer's voice session lists only the tools a viewer may run, the status panel too, and a
direct call to another tool from the page answers 403 tool_not_allowed (and reaches no platform)."""

import re

import pytest
from playwright.sync_api import expect

from core.admins import add_admin
from examples.platform_api import running
from harness.browser import ADMIN, PASSWORD, open_voice_page, start_app

TOKEN = "platform-roles-e2e-token-2c81"
AGENT_TOML = """
instructions = "You help the admins of the DataAPI platform. Use the tools rather than guess."

[[tools]]
name = "list_failed_pipelines"
description = "Pipelines whose last run failed, optionally only those that finished since a given time."
url = "${PLATFORM_URL}/pipelines?status=failed"
headers = { Authorization = "Bearer ${PLATFORM_TOKEN}" }
parameters = { type = "object", properties = { since = { type = "string", description = "ISO 8601 time" } }, required = [] }

[[tools]]
name = "rerun_pipeline"
description = "Starts a new run of a pipeline. Changes the platform: the admin approves each call."
method = "POST"
url = "${PLATFORM_URL}/pipelines/{name}/rerun"
headers = { Authorization = "Bearer ${PLATFORM_TOKEN}" }
parameters = { type = "object", properties = { name = { type = "string" } }, required = ["name"] }
roles = ["operator"]
"""

# What the page's own code does, from the page: a POST with the page's CSRF token.
POST_TOOL_CALL = """async (call) => {
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const answer = await fetch('/api/v1/realtime/tool-calls', {
    method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRFToken': token }, body: JSON.stringify(call),
  });
  return { status: answer.status, body: await answer.json() };
}"""


@pytest.fixture(scope="module")
def viewer_app(sandbox_server, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("app-roles")
    add_admin(str(workdir / "admins.txt"), ADMIN, PASSWORD, roles=("viewer",))  # the page signs in as a viewer
    (workdir / "agent.toml").write_text(AGENT_TOML)
    with running(TOKEN) as platform_url:
        app = start_app(workdir, sandbox_server.url, AGENT_FILE=str(workdir / "agent.toml"), PLATFORM_URL=platform_url,
                        PLATFORM_TOKEN=TOKEN, OPENAI_REALTIME_CONNECT="ephemeral")
        yield app
        app.stop()


@pytest.fixture
def viewer_page(browser, viewer_app, sandbox):
    page = open_voice_page(browser, viewer_app.url)
    page.set_default_timeout(15_000)
    yield page
    page.context.close()
    viewer_app.wait_until_idle()


def test_a_viewers_session_lists_only_their_tools_and_a_call_to_another_answers_403(viewer_page, sandbox):
    page = viewer_page
    expect(page.locator(".tool-list code")).to_have_text(["list_failed_pipelines"])  # the status panel
    page.click("#voice-start")
    expect(page.locator("#voice-state")).to_have_text("Connected")
    page.click("#voice-mute")
    assert [tool["name"] for tool in sandbox.state()["last_session"]["tools"]] == ["list_failed_pipelines"]

    refused = page.evaluate(POST_TOOL_CALL, {"name": "rerun_pipeline", "arguments": '{"name": "orders_daily"}',
                                             "call_id": "call_forged_1"})
    assert refused["status"] == 403 and refused["body"]["code"] == "tool_not_allowed"
    assert "for the role operator; your roles (viewer) may not run it" in refused["body"]["message"]

    # The viewer's own tool still runs, from the model's call.
    page.fill("#voice-text", "Which pipelines failed last night?")
    page.click("#voice-text-form button[type=submit]")
    entry = page.locator(".turn-tool", has=page.locator(".tool-name", has_text="list_failed_pipelines")).last
    expect(entry.locator(".tool-result")).to_have_text(re.compile(r"^ran in \d+ ms$"))

    # The activity page shows both calls with the viewer's role.
    page.goto("/admin/activity")
    rows = page.locator("#tool-calls tbody tr")
    expect(rows.filter(has_text="rerun_pipeline")).to_contain_text("tool_not_allowed")
    expect(rows.filter(has_text="rerun_pipeline")).to_contain_text("viewer")
    expect(rows.filter(has_text="list_failed_pipelines")).to_contain_text("viewer")
