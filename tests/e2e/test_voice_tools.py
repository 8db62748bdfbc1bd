"""The voice agent acts: the sandbox's model calls the agent file's tools, our server runs them against the example
platform, and the admin sees each call (and approves the ones that change things) in the conversation."""

import json
import re
import urllib.request

from playwright.sync_api import expect

from tests.e2e.conftest import PLATFORM_TOKEN

MINT_PATH = "/api/v1/chatkit/realtime-session"
TOOL_CALLS_PATH = "/api/v1/realtime/tool-calls"


# A mint answer as the page gets one (the page mints ahead of the click, so none need happen at the click itself).
MINT_FROM_THE_PAGE = """async (path) => {
  const token = document.querySelector('meta[name="csrf-token"]').content;
  const answer = await fetch(path, {
    method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRFToken': token }, body: '{}',
  });
  return answer.text();
}"""


def connect_muted(page):
    """Starts a call and mutes the fake microphone, whose speech would otherwise interrupt the answers; returns the
    text of a mint answer for this page."""
    page.click("#voice-start")
    expect(page.locator("#voice-state")).to_have_text("Connected")
    page.click("#voice-mute")
    return page.evaluate(MINT_FROM_THE_PAGE, MINT_PATH)


def send_text(page, text):
    page.fill("#voice-text", text)
    page.click("#voice-text-form button[type=submit]")


def tool_entry(page, name):
    return page.locator(".turn-tool", has=page.locator(".tool-name", has_text=name)).last


def agent_says(page, words):
    return expect(page.locator(".turn-agent .turn-text", has_text=words).first)


def platform_pipelines(platform_url):
    request = urllib.request.Request(platform_url + "/pipelines", headers={"Authorization": f"Bearer {PLATFORM_TOKEN}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return {pipeline["name"]: pipeline for pipeline in json.loads(response.read())}


def test_a_typed_question_reaches_the_platform_and_the_answer_quotes_it(agent_page, sandbox):
    page = agent_page()
    mint = connect_muted(page)
    with page.expect_response(lambda r: r.url.endswith(TOOL_CALLS_PATH)) as ran:
        send_text(page, "Which pipelines failed last night?")
    assert ran.value.status == 200 and ran.value.json()["status"] == "success"

    entry = tool_entry(page, "list_failed_pipelines")
    expect(entry.locator(".tool-arguments")).to_contain_text('"since"')
    expect(entry.locator(".tool-result")).to_have_text(re.compile(r"^ran in \d+ ms$"))
    agent_says(page, "list_failed_pipelines returned:").to_contain_text("orders_daily")
    agent_says(page, "list_failed_pipelines returned:").to_contain_text("events_rollup")
    # The conversation reads in order: the question, the tool call, the answer.
    expect(page.locator(".turn-user:has-text('pipelines failed') ~ .turn-tool ~ .turn-agent").first).to_be_visible()

    # The tool's credential stays on the server: not in the page, the minted session or any answer to the page.
    effective_session = sandbox.state()["last_session"]  # what the browser's session.created carries
    assert [tool["name"] for tool in effective_session["tools"]] == [
        "list_failed_pipelines", "rerun_pipeline", "check_backups"]
    for seen in (page.content(), mint, ran.value.text(), json.dumps(effective_session)):
        assert PLATFORM_TOKEN not in seen and "Bearer" not in seen


def test_a_spoken_question_reaches_the_platform_and_the_answer_quotes_it(agent_page, sandbox):
    sandbox.control(next_transcript="Did any pipelines fail last night?")  # what the fake microphone "says" first
    page = agent_page()
    page.click("#voice-start")
    expect(page.locator("#voice-state")).to_have_text("Connected")
    expect(page.locator(".turn-user .turn-text", has_text="Did any pipelines fail last night?")).to_be_visible()
    page.click("#voice-mute")  # the next burst of fake speech would cut the answer short
    expect(tool_entry(page, "list_failed_pipelines").locator(".tool-result")).to_have_text(re.compile(r"ran in \d+ ms"))
    agent_says(page, "list_failed_pipelines returned:").to_contain_text("orders_daily")
    assert PLATFORM_TOKEN not in page.content()


def test_a_confirmed_tool_runs_only_once_the_admin_approves_it(agent_page, platform):
    page = agent_page()
    connect_muted(page)
    send_text(page, "Rerun the customers_sync pipeline")
    entry = tool_entry(page, "rerun_pipeline")
    expect(entry.locator(".tool-arguments")).to_have_text('{"name": "customers_sync"}')
    expect(entry.locator(".tool-result")).to_contain_text("needs your approval")
    assert platform_pipelines(platform)["customers_sync"]["status"] == "succeeded"  # nothing ran yet

    with page.expect_response(lambda r: r.url.endswith(TOOL_CALLS_PATH)) as ran:
        entry.locator("button", has_text="Approve").click()
    assert json.loads(ran.value.request.post_data)["approval_id"].startswith("apr_")  # the id the server gave
    expect(entry.locator(".tool-result")).to_have_text(re.compile(r"^ran in \d+ ms$"))
    expect(entry.locator("button")).to_have_count(0)
    agent_says(page, "rerun_pipeline returned:").to_contain_text('"status": "running"')
    assert platform_pipelines(platform)["customers_sync"]["status"] == "running"  # the platform saw the rerun
    assert PLATFORM_TOKEN not in ran.value.text()


def test_a_denied_tool_call_is_not_made_and_the_agent_hears_it_was_declined(agent_page, platform):
    page = agent_page()
    connect_muted(page)
    requests = []
    page.on("request", lambda r: requests.append(r.post_data) if r.url.endswith(TOOL_CALLS_PATH) else None)
    send_text(page, "Rerun the orders_daily pipeline")
    entry = tool_entry(page, "rerun_pipeline")
    entry.locator("button", has_text="Deny").click()
    expect(entry.locator(".tool-result")).to_contain_text("declined by you")
    agent_says(page, "rerun_pipeline returned:").to_contain_text("The admin declined this call")
    # Posted once, without an approval id (the server answered approval_required), and never again.
    assert [("approval_id" in json.loads(body)) for body in requests] == [False]
    assert platform_pipelines(platform)["orders_daily"]["status"] == "failed"


def test_a_failing_tool_is_explained_on_the_page_and_to_the_agent(agent_page):
    page = agent_page()
    connect_muted(page)
    with page.expect_response(lambda r: r.url.endswith(TOOL_CALLS_PATH)) as ran:
        send_text(page, "Are the warehouse backups current?")
    assert ran.value.status == 502 and ran.value.json()["code"] == "tool_failed"
    entry = tool_entry(page, "check_backups")
    expect(entry.locator(".tool-result")).to_contain_text("failed (tool_failed):")
    expect(entry.locator(".tool-result")).to_have_class(re.compile(r"\btool-failed\b"))
    expect(page.locator("#voice-message-text")).to_contain_text("The tool check_backups failed:")
    agent_says(page, "check_backups returned:").to_contain_text("The tool failed:")
    expect(page.locator("#voice-state")).to_have_text("Connected")  # the call goes on
    assert PLATFORM_TOKEN not in ran.value.text() and PLATFORM_TOKEN not in page.content()


def test_relay_mode_runs_tools_too_without_the_credential_reaching_the_browser(agent_page, sandbox):
    page = agent_page(connect="relay")
    page.click("#voice-start")
    expect(page.locator("#voice-state")).to_have_text("Connected")
    page.click("#voice-mute")
    assert [tool["name"] for tool in sandbox.state()["last_session"]["tools"]][0] == "list_failed_pipelines"
    send_text(page, "list failed pipelines please")
    expect(tool_entry(page, "list_failed_pipelines").locator(".tool-result")).to_have_text(re.compile(r"ran in \d+ ms"))
    agent_says(page, "list_failed_pipelines returned:").to_contain_text("orders_daily")
    assert PLATFORM_TOKEN not in page.content() and PLATFORM_TOKEN not in json.dumps(sandbox.state()["last_session"])
