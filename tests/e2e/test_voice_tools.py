"""The voice agent acts: the sandbox's model calls the agent file's tools, our server runs them against the example
platform, and the admin sees each call (and approves the ones that change things) in the conversation."""

import json
import re
import urllib.request

from playwright.sync_api import expect

from harness.real_servers import wait_until
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
        "list_failed_pipelines", "rerun_pipeline", "check_backups", "get_run"]
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


# --- the protocol of OpenAI's Agents SDKs: when a call runs, and when the agent is asked to answer -------------


def new_call(sandbox, before):
    """The id of the call the page made since `before` (the sandbox's recorded calls then)."""
    [call_id] = [call for call in sandbox.state()["recorded_calls"] if call not in before]
    return call_id


def sequence(events):
    """The call as the sandbox recorded it, one line per event: '<- server.event' or '-> client.event (detail)'."""
    lines = []
    for entry in events:
        event = entry["event"]
        detail = ""
        if event["type"] == "response.output_item.done":
            detail = f" {event['item']['type']} {event['item'].get('name', '')} {event['item']['status']}"
        elif event["type"] == "response.done":
            detail = f" {event['response']['status']}"
        elif event["type"] == "conversation.item.create" and event["item"]["type"] == "message":
            detail = f" message {json.dumps(event['item']['content'][0].get('text', ''))}"
        elif event["type"] == "conversation.item.create":
            detail = f" {event['item']['type']} {event['item'].get('call_id', '')}"
        lines.append(f"{'->' if entry['from'] == 'client' else '<-'} {event['type']}{detail}")
    return lines


def index_from(lines, prefix, start):
    """The index of the first line at or after `start` that begins with `prefix`."""
    return next(i for i, line in enumerate(lines) if i >= start and line.startswith(prefix))


def answered(sandbox, call_id, words):
    """The call's events once a spoken answer containing `words` is done (the sandbox has recorded its end)."""
    def done():
        return any(entry["event"]["type"] == "response.done" and any(
            words in part.get("transcript", "") for item in entry["event"]["response"]["output"]
            for part in item.get("content", [])) for entry in sandbox.call_events(call_id))
    wait_until(done)
    return sandbox.call_events(call_id)


# Clicks Interrupt from inside the page the moment `selector` matches, as an admin who has seen enough would:
# polling from the test could come after the sandbox's next argument delta on a busy machine.
INTERRUPT_WHEN = """(selector) => {
  const observer = new MutationObserver(() => {
    if (!document.querySelector(selector)) return;
    observer.disconnect();
    document.getElementById('voice-interrupt').click();
  });
  observer.observe(document.getElementById('voice-console'), { childList: true, subtree: true });
}"""


def client_events(events, event_type):
    return [entry["event"] for entry in events if entry["from"] == "client" and entry["event"]["type"] == event_type]


def test_two_parallel_calls_each_run_once_then_one_response_create_and_no_error(agent_page, sandbox):
    before = sandbox.state()["recorded_calls"]
    page = agent_page()
    connect_muted(page)
    call_id = new_call(sandbox, before)
    posted = []
    page.on("request", lambda r: posted.append(json.loads(r.post_data)) if r.url.endswith(TOOL_CALLS_PATH) else None)
    send_text(page, "Get run r-1001 and list failed pipelines")

    for name in ("get_run", "list_failed_pipelines"):
        expect(tool_entry(page, name).locator(".tool-result")).to_have_text(re.compile(r"^ran in \d+ ms$"))
    events = answered(sandbox, call_id, "returned:")
    expect(page.locator(".turn-agent .turn-text", has_text="returned:")).to_have_count(1)  # one answer, spoken
    print("\n".join(sequence(events)))  # the report's record of the parallel case

    # The answer naming both tools: a preamble, then both calls, completed, in one response.
    calling = next(e["event"]["response"] for e in events if e["event"]["type"] == "response.done"
                   and any(item["type"] == "function_call" for item in e["event"]["response"]["output"]))
    assert calling["status"] == "completed"
    assert [item["type"] for item in calling["output"]] == ["message", "function_call", "function_call"]
    call_ids = {item["call_id"] for item in calling["output"][1:]}
    # Each call ran once on the server, each output went back once, then exactly one response.create.
    assert sorted(request["call_id"] for request in posted) == sorted(call_ids)
    outputs = [e["item"]["call_id"] for e in client_events(events, "conversation.item.create")
               if e["item"]["type"] == "function_call_output"]
    assert sorted(outputs) == sorted(call_ids)
    # The outputs go back as each call finishes (before or after response.done); the one create after both.
    lines = sequence(events)
    first_done = index_from(lines, "<- response.output_item.done function_call", 0)
    sent = [line for line in lines[first_done:] if line.startswith("->")]
    assert sorted(sent[:2]) == sorted(f"-> conversation.item.create function_call_output {call}" for call in outputs)
    assert sent[2:] == ["-> response.create"]
    assert lines.index("-> response.create", first_done) > lines.index("<- response.done completed", first_done)
    assert not [e for e in events if e["event"]["type"] == "error"]
    expect(page.locator("#voice-message")).to_be_hidden()


def test_interrupting_the_answer_during_a_call_runs_nothing(agent_page, sandbox, platform):
    sandbox.control(function_call_delta_ms=1000)  # a call whose arguments take seconds: time to interrupt it
    before = sandbox.state()["recorded_calls"]
    page = agent_page()
    connect_muted(page)
    call_id = new_call(sandbox, before)
    posted = []
    page.on("request", lambda r: posted.append(r.url) if r.url.endswith(TOOL_CALLS_PATH) else None)
    page.evaluate(INTERRUPT_WHEN, '#voice-log li.log-in[data-type="response.function_call_arguments.delta"]')
    send_text(page, "Which pipelines failed last night?")

    entry = tool_entry(page, "list_failed_pipelines")
    expect(entry.locator(".tool-result")).to_have_text("not made: the answer was interrupted")
    send_text(page, "hello")  # the next answer: anything the interrupted call caused would have gone out before it
    events = answered(sandbox, call_id, "You said: hello")
    print("\n".join(sequence(events)))  # the report's record of the interrupted case

    lines = sequence(events)
    cancelled = lines.index("<- response.done cancelled")
    assert "<- response.function_call_arguments.done" in lines[:cancelled]
    assert "<- response.output_item.done function_call list_failed_pipelines incomplete" in lines[:cancelled]
    assert "<- response.output_item.done function_call list_failed_pipelines completed" not in lines
    between = lines[cancelled:index_from(lines, "-> conversation.item.create message", cancelled)]
    # Interrupt's own output_audio_buffer.clear aside, the page sent nothing: no output, no response.create.
    assert [line for line in between if line.startswith("->")] == ["-> output_audio_buffer.clear"]
    assert posted == []
    expect(page.locator("#voice-message")).to_be_hidden()  # the admin's own Interrupt is no news


def test_a_cancelled_confirm_call_withdraws_its_approval_buttons(agent_page, sandbox, platform):
    sandbox.control(function_call_delta_ms=1000)
    before = sandbox.state()["recorded_calls"]
    page = agent_page()
    connect_muted(page)
    call_id = new_call(sandbox, before)
    posted = []
    page.on("request", lambda r: posted.append(r.post_data) if r.url.endswith(TOOL_CALLS_PATH) else None)
    # A preamble, then rerun_pipeline (which needs the admin's approval), then list_failed_pipelines, streaming:
    # Interrupt comes as the approval prompt shows, while list_failed_pipelines is still being written.
    page.evaluate(INTERRUPT_WHEN, ".turn-tool .tool-approve")
    send_text(page, "Rerun the orders_daily pipeline and list failed pipelines")
    rerun = tool_entry(page, "rerun_pipeline")

    expect(rerun.locator(".tool-result")).to_have_text("not made: the answer was interrupted")
    expect(rerun.locator("button")).to_have_count(0)
    expect(tool_entry(page, "list_failed_pipelines").locator(".tool-result")).to_have_text(
        "not made: the answer was interrupted")
    send_text(page, "hello")
    events = answered(sandbox, call_id, "You said: hello")
    lines = sequence(events)
    cancelled = lines.index("<- response.done cancelled")
    # The prompt had been shown for a completed rerun_pipeline; list_failed_pipelines was cut off.
    assert "<- response.output_item.done function_call rerun_pipeline completed" in lines[:cancelled]
    assert "<- response.output_item.done function_call list_failed_pipelines incomplete" in lines[:cancelled]
    between = lines[cancelled:index_from(lines, "-> conversation.item.create message", cancelled)]
    # The model hears the call was not made; it is not asked to answer (the admin interrupted it).
    [withdrawn] = [e for e in client_events(events, "conversation.item.create")
                   if e["item"]["type"] == "function_call_output"]
    assert "not made: the answer was interrupted" in withdrawn["item"]["output"]
    assert [line for line in between if line.startswith("->") and "output_audio_buffer.clear" not in line] == [
        f"-> conversation.item.create function_call_output {withdrawn['item']['call_id']}"]
    # Posted once, without an approval id (the server answered approval_required and ran nothing), never approved.
    assert [("approval_id" in json.loads(data)) for data in posted] == [False]
    assert platform_pipelines(platform)["orders_daily"]["status"] == "failed"
