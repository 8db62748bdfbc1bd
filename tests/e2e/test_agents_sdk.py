"""OpenAI's own browser client judges the sandbox: the Agents SDK for the browser (`@openai/agents-realtime`,
pinned in package.json) holds a spoken turn and a tool call with it in Chromium, over WebRTC, with no error event.

The SDK's ES module bundle is served from node_modules to a page that only this test routes (never a CDN); the
page runs on http://agents-sdk.localhost, a secure context, so the fake microphone is allowed, and posts its offer
across origins to the sandbox, as an app does to api.openai.com.
"""

from pathlib import Path

import pytest
import requests

from harness.browser import ROOT, SANDBOX_KEY

BUNDLE = ROOT / "node_modules" / "@openai" / "agents-realtime" / "dist" / "bundle"
ORIGIN = "http://agents-sdk.localhost"
PAGE = """<!doctype html>
<meta charset="utf-8">
<title>agents-realtime against the sandbox</title>
<script type="module">
  import * as sdk from '/agents-realtime/openai-realtime-agents.mjs';
  window.agentsSdk = sdk;
</script>
"""

# Builds a RealtimeSession with one function tool and connects it: what an app on the Agents SDK does. Besides
# the SDK's own `error` events it records every server event the SDK's schemas did not accept: the transport
# emits each raw event as "*" and then, only when its schema parsed it, under its own type.
CONNECT = """
async ({ secret, callsUrl }) => {
  const { RealtimeAgent, RealtimeSession, OpenAIRealtimeWebRTC, tool } = window.agentsSdk;
  const record = window.__sdk = { errors: [], unparsed: [], events: [], toolCalls: [] };
  const listFailedPipelines = tool({
    name: 'list_failed_pipelines',
    description: 'Pipelines whose last run failed since a given time.',
    parameters: {
      type: 'object',
      properties: { since: { type: 'string', description: 'ISO 8601 time' } },
      required: ['since'],
      additionalProperties: false,
    },
    execute: async ({ since }) => {
      record.toolCalls.push(since);
      return '[{"name": "orders_daily", "status": "failed"}]';
    },
  });
  const agent = new RealtimeAgent({ name: 'Platform helper', instructions: 'Use the tools.',
                                    tools: [listFailedPipelines] });
  const transport = new OpenAIRealtimeWebRTC({ baseUrl: callsUrl });
  const emit = transport.emit.bind(transport);
  let parsing = false; // between an event's "*" and its typed emit, which follows at once when its schema fits
  transport.emit = (name, ...args) => {
    if (name === '*') {
      record.unparsed.push(args[0]?.type ?? '(no type)');
      parsing = true;
    } else if (parsing && name === record.unparsed.at(-1)) {
      record.unparsed.pop();
      parsing = false;
    }
    return emit(name, ...args);
  };
  const session = new RealtimeSession(agent, { transport, model: 'gpt-realtime-2.1' });
  session.on('transport_event', (event) => record.events.push(event));
  session.on('error', (event) => record.errors.push(String(event.error?.error?.message ?? event.error?.message
                                                            ?? JSON.stringify(event.error))));
  window.__session = session;
  await session.connect({ apiKey: secret });
  return session.transport.callId;
}
"""


@pytest.fixture
def sdk_page(browser):
    """A page on ORIGIN with the SDK's bundle loaded from node_modules."""
    assert (BUNDLE / "openai-realtime-agents.mjs").is_file(), "run `npm ci` (make node_modules/.installed)"
    context = browser.new_context()
    # The page is not on loopback, the sandbox is: Chromium asks before such a request (Local Network Access),
    # as it would for an app on a public origin that posts its offer to a server on the admin's machine.
    context.grant_permissions(["microphone", "local-network-access"], origin=ORIGIN)

    def serve(route):
        path = route.request.url.removeprefix(ORIGIN)
        if path == "/":
            return route.fulfill(body=PAGE, content_type="text/html")
        name = Path(path.removeprefix("/agents-realtime/")).name
        if path.startswith("/agents-realtime/") and (BUNDLE / name).is_file():
            return route.fulfill(path=str(BUNDLE / name), content_type="text/javascript")
        return route.fulfill(status=404, body="not part of the test page")

    context.route(f"{ORIGIN}/**", serve)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(ORIGIN + "/")
    page.wait_for_function("() => window.agentsSdk !== undefined")
    yield page
    page.evaluate("() => window.__session?.close()")
    context.close()


def mint(sandbox):
    response = requests.post(sandbox.url + "/realtime/client_secrets", timeout=10,
                             headers={"Authorization": f"Bearer {SANDBOX_KEY}"},
                             json={"session": {"type": "realtime", "model": "gpt-realtime-2.1"}})
    assert response.status_code == 200, response.text
    return response.json()["value"]


def events_of(page, event_type):
    return page.evaluate("(type) => window.__sdk.events.filter((event) => event.type === type)", event_type)


def test_the_agents_sdk_holds_a_spoken_turn_and_a_tool_call_with_the_sandbox_without_an_error(sdk_page, sandbox):
    page = sdk_page
    # The fake microphone's next sentence asks for the tool, as an admin's question would.
    sandbox.control(next_transcript="Which pipelines failed last night?")
    call_id = page.evaluate(CONNECT, {"secret": mint(sandbox), "callsUrl": sandbox.url + "/realtime/calls"})
    assert call_id.startswith("rtc_")

    # The spoken turn: heard, transcribed, and retrieved by the SDK (it asks for every transcribed item).
    page.wait_for_function("() => window.__sdk.toolCalls.length > 0", timeout=20_000)
    heard = events_of(page, "conversation.item.input_audio_transcription.completed")[0]
    assert heard["transcript"] == "Which pipelines failed last night?"
    page.wait_for_function("""(id) => window.__sdk.events.some((event) =>
        event.type === 'conversation.item.retrieved' && event.item.id === id)""", arg=heard["item_id"])
    page.wait_for_function("""(id) => window.__session.history.some((item) => item.itemId === id
        && item.content?.[0]?.transcript === 'Which pipelines failed last night?')""", arg=heard["item_id"])

    # The tool call: the SDK ran its tool once, with arguments that fit its schema, and the answer arrived.
    assert len(page.evaluate("() => window.__sdk.toolCalls")) == 1
    page.wait_for_function("""() => window.__sdk.events.some((event) =>
        event.type === 'response.output_audio_transcript.done'
        && event.transcript.startsWith('list_failed_pipelines returned:'))""")
    answer = [event["transcript"] for event in events_of(page, "response.output_audio_transcript.done")
              if event["transcript"].startswith("list_failed_pipelines returned:")]
    assert answer == ['list_failed_pipelines returned: [{"name": "orders_daily", "status": "failed"}]']
    outputs = [event["item"] for event in events_of(page, "conversation.item.done")
               if event["item"]["type"] == "function_call_output"]
    assert len(outputs) == 1  # the output was sent once

    record = page.evaluate("() => window.__sdk")
    assert record["errors"] == [], record["errors"]
    assert record["unparsed"] == [], f"events the SDK's schemas refused: {record['unparsed']}"
    assert not [event for event in record["events"] if event["type"] == "error"]
