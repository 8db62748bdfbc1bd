"""The sandbox's peer speaks like the Realtime API where OpenAI's clients look closely: parallel function calls
after a preamble, cancels that close what was in progress, rate_limits.updated as a response starts, input
transcription deltas and previous_item_id. The peer runs in-process with a stand-in data channel; every event it
sends is checked against OpenAI's published schema."""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from aiohttp.test_utils import TestClient, TestServer

from sandbox.openai_spec import check, server_event_schema
from sandbox.peer import RealtimePeer
from sandbox.server import SANDBOX, create_sandbox_app
from sandbox.session import default_session

TOOLS = [
    {"type": "function", "name": "list_failed_pipelines", "description": "Pipelines whose last run failed.",
     "parameters": {"type": "object", "properties": {"since": {"type": "string", "description": "ISO 8601 time"}},
                    "required": []}},
    {"type": "function", "name": "get_run", "description": "One pipeline run by id (e.g. r-1001).",
     "parameters": {"type": "object", "properties": {"run_id": {"type": "string"}}, "required": ["run_id"]}},
]
WAIT_S = 5


class Channel:
    """Stands in for the `oai-events` data channel: what the peer sends, each event checked as it goes."""

    readyState = "open"

    def __init__(self):
        self.events = []

    def send(self, text):
        event = json.loads(text)
        schema = server_event_schema(event["type"])
        assert schema, f"not a GA server event: {event['type']}"
        assert check(schema, event) == [], event
        self.events.append(event)


class Peer:
    """A RealtimePeer with no network: the test sends client events and waits for the server events."""

    def __init__(self, *, transcript=None, pace_s=0.001, push_to_talk=False):
        session = default_session()
        session["tools"] = TOOLS
        session["audio"]["input"]["transcription"] = {"model": "gpt-4o-mini-transcribe"}
        if push_to_talk:
            session["audio"]["input"]["turn_detection"] = None
        self.record = []
        self.peer = RealtimePeer("rtc_test", session, answer_audio_mode="tone", next_transcript=lambda: transcript,
                                 function_call_pace=lambda: pace_s, record=self.record)
        self.channel = self.peer.channel = Channel()

    @property
    def events(self):
        return self.channel.events

    def send(self, event):
        self.peer._on_message(json.dumps(event))

    def say(self, text):
        self.send({"type": "conversation.item.create",
                   "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}})

    async def wait_for(self, event_type, after=0, count=1):
        """The events up to the count-th `event_type` sent after the first `after` events; waits for it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        while True:
            found = [i for i, event in enumerate(self.events[after:], after) if event["type"] == event_type]
            if len(found) >= count:
                return self.events[after:found[count - 1] + 1]
            assert loop.time() < deadline, f"no {event_type} among {[e['type'] for e in self.events[after:]]}"
            await asyncio.sleep(0.005)

    async def close(self):
        await self.peer.close()


def run(scenario):
    """Runs the scenario on a fresh loop in its own thread (immune to a loop another test left running here)."""

    async def with_peer():
        peer = Peer(**scenario.options)
        try:
            return await asyncio.wait_for(scenario(peer), 15)
        finally:
            await peer.close()

    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(asyncio.run, with_peer()).result()


def scenario(**options):
    def wrap(function):
        function.options = options
        return function
    return wrap


def types(events):
    return [event["type"] for event in events]


def test_words_naming_two_tools_get_a_preamble_then_parallel_function_calls():
    @scenario()
    async def asked(peer):
        peer.say("Get run r-1001 and list failed pipelines")
        peer.send({"type": "response.create"})
        return await peer.wait_for("response.done")

    events = run(asked)
    done = events[-1]["response"]
    assert done["status"] == "completed"
    preamble, first, second = done["output"]
    assert preamble["type"] == "message" and preamble["role"] == "assistant" and preamble["status"] == "completed"
    assert "get_run and list_failed_pipelines" in preamble["content"][0]["transcript"]
    assert [(first["type"], first["name"]), (second["type"], second["name"])] == [
        ("function_call", "get_run"), ("function_call", "list_failed_pipelines")]
    assert first["status"] == second["status"] == "completed" and first["call_id"] != second["call_id"]
    assert json.loads(first["arguments"]) == {"run_id": "r-1001"} and "since" in json.loads(second["arguments"])
    # Each item, in output order, is added, streamed and done before the next one starts.
    items = [(e["type"], e["output_index"]) for e in events if e["type"].startswith("response.output_item.")]
    assert items == [("response.output_item.added", 0), ("response.output_item.done", 0),
                     ("response.output_item.added", 1), ("response.output_item.done", 1),
                     ("response.output_item.added", 2), ("response.output_item.done", 2)]
    finished = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    assert finished == done["output"]
    arguments = {e["call_id"]: e["arguments"] for e in events if e["type"] == "response.function_call_arguments.done"}
    assert arguments == {first["call_id"]: first["arguments"], second["call_id"]: second["arguments"]}


def test_one_named_tool_is_one_function_call_without_a_preamble():
    @scenario()
    async def asked(peer):
        peer.say("Which pipelines failed last night?")
        peer.send({"type": "response.create"})
        return await peer.wait_for("response.done")

    [call] = run(asked)[-1]["response"]["output"]
    assert call["type"] == "function_call" and call["name"] == "list_failed_pipelines"


def test_a_cancel_during_a_function_call_closes_it_incomplete_and_runs_nothing_more():
    @scenario(pace_s=0.2)  # the function_call_delta_ms knob: time to cancel between the argument deltas
    async def cancelled(peer):
        peer.say("Which pipelines failed last night?")
        peer.send({"type": "response.create"})
        await peer.wait_for("response.function_call_arguments.delta")
        mark = len(peer.events)
        peer.send({"type": "response.cancel"})
        after_cancel = await peer.wait_for("response.done", after=mark)
        peer.say("hello")  # the next answer: nothing of the cancelled call may come before it
        peer.send({"type": "response.create"})
        later = await peer.wait_for("response.done", after=mark + len(after_cancel))
        return after_cancel, later

    after_cancel, later = run(cancelled)
    assert types(after_cancel) == ["response.function_call_arguments.done", "response.output_item.done",
                                   "conversation.item.done", "response.done"]
    arguments_done, item_done, _, response_done = after_cancel
    item = item_done["item"]
    assert item["type"] == "function_call" and item["status"] == "incomplete"
    assert arguments_done["arguments"] == item["arguments"] and len(item["arguments"]) <= 24  # one delta's worth
    assert arguments_done["call_id"] == item["call_id"] and arguments_done["name"] == "list_failed_pipelines"
    response = response_done["response"]
    assert response["status"] == "cancelled"
    assert response["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
    assert response["output"] == [item]
    assert "response.function_call_arguments.delta" not in types(later)


def test_a_cancel_during_a_spoken_preamble_closes_the_message_and_makes_no_call():
    @scenario()
    async def cancelled(peer):
        peer.say("Get run r-1001 and list failed pipelines")
        peer.send({"type": "response.create"})
        await peer.wait_for("response.output_audio_transcript.delta")
        mark = len(peer.events)
        peer.send({"type": "response.cancel"})
        return await peer.wait_for("response.done", after=mark)

    after_cancel = run(cancelled)
    assert types(after_cancel) == ["response.output_audio_transcript.done", "response.content_part.done",
                                   "response.output_item.done", "conversation.item.done", "response.done"]
    [message] = after_cancel[-1]["response"]["output"]
    assert message["type"] == "message" and message["status"] == "incomplete"
    assert message["content"][0]["transcript"] == after_cancel[0]["transcript"] != ""


def test_rate_limits_updated_comes_as_each_response_starts_not_after_it():
    @scenario()
    async def answered(peer):
        peer.say("hello")
        peer.send({"type": "response.create"})
        first = await peer.wait_for("response.done")
        peer.send({"type": "response.create"})
        return first, await peer.wait_for("response.done", after=len(first))

    responses = run(answered)
    remaining = []
    for events in responses:
        kinds = types(events)
        assert kinds[kinds.index("response.created") + 1] == "rate_limits.updated"
        assert kinds.count("rate_limits.updated") == 1
        limits = events[kinds.index("rate_limits.updated")]["rate_limits"]
        remaining.append(next(limit["remaining"] for limit in limits if limit["name"] == "requests"))
    assert remaining[1] == remaining[0] - 1


def test_speech_is_transcribed_in_deltas_that_add_up_to_the_transcript():
    @scenario(transcript="Did any pipelines fail last night?", push_to_talk=True)
    async def spoken(peer):
        peer.peer._hear(600, True)  # 600 ms of speech in the buffer, as if from the microphone
        peer.send({"type": "input_audio_buffer.commit"})
        return await peer.wait_for("conversation.item.input_audio_transcription.completed")

    events = run(spoken)
    deltas = [e for e in events if e["type"] == "conversation.item.input_audio_transcription.delta"]
    completed = events[-1]
    assert len(deltas) == 6 and "".join(e["delta"] for e in deltas) == completed["transcript"]
    assert {e["item_id"] for e in deltas} == {completed["item_id"]}


def test_previous_item_id_names_the_item_before_in_the_conversation():
    @scenario(transcript="Which pipelines failed last night?", push_to_talk=True)
    async def conversation(peer):
        peer.say("hello")
        peer.send({"type": "response.create"})
        await peer.wait_for("response.done")
        peer.peer._hear(300, True)
        peer.send({"type": "input_audio_buffer.commit"})
        return peer.events

    events = run(conversation)
    added = [e for e in events if e["type"] == "conversation.item.added"]
    assert added[0]["previous_item_id"] is None
    assert [e["previous_item_id"] for e in added[1:]] == [e["item"]["id"] for e in added[:-1]]
    committed = next(e for e in events if e["type"] == "input_audio_buffer.committed")
    assert committed["previous_item_id"] == added[-2]["item"]["id"] and committed["item_id"] == added[-1]["item"]["id"]
    for done in (e for e in events if e["type"] == "conversation.item.done"):
        added_as = next(e for e in added if e["item"]["id"] == done["item"]["id"])
        assert done["previous_item_id"] == added_as["previous_item_id"]


def test_the_peer_records_both_sides_of_the_call_in_order():
    @scenario()
    async def recorded(peer):
        peer.say("hello")
        peer.send({"type": "response.create"})
        await peer.wait_for("response.done")
        return peer.record

    record = run(recorded)
    assert [(entry["from"], entry["event"]["type"]) for entry in record[:4]] == [
        ("client", "conversation.item.create"), ("server", "conversation.item.added"),
        ("server", "conversation.item.done"), ("client", "response.create")]
    assert record[-1] == {"from": "server", "event": record[-1]["event"]}
    assert record[-1]["event"]["type"] == "response.done"


@pytest.mark.parametrize("call_id, status", [("rtc_known", 200), ("rtc_unknown", 404)])
def test_a_recorded_call_can_be_read_back_by_its_id(call_id, status):
    async def read_back():
        app = create_sandbox_app(answer_audio="tone")
        app[SANDBOX]._record_for("rtc_known").append({"from": "client", "event": {"type": "response.create"}})
        async with TestClient(TestServer(app)) as client:
            response = await client.get(f"/_sandbox/calls/{call_id}/events")
            state = await (await client.get("/_sandbox/state")).json()
            return response.status, await response.json(), state

    with ThreadPoolExecutor(max_workers=1) as worker:
        got, body, state = worker.submit(asyncio.run, read_back()).result()
    assert got == status and state["recorded_calls"] == ["rtc_known"]
    if status == 200:
        assert body == {"call_id": "rtc_known", "events": [{"from": "client", "event": {"type": "response.create"}}]}
    else:
        assert "rtc_known" in body["error"]
