"""The sandbox's sideband, driven by OpenAI's own Python SDK: the server joins a WebRTC call over a WebSocket with
`AsyncOpenAI().realtime.connect(call_id=...)`, sees the call's events, talks into it and hangs it up."""

import asyncio
import json

import pytest
import websockets
from openai import AsyncOpenAI, BadRequestError

from harness.sandbox_call import (
    EVENT_TIMEOUT_S,
    SERVER_EVENT_SCHEMAS,
    connected_call,
    run,
    serving_sandbox,
    user_text,
)
from sandbox.loopback_ice import offer_loopback_candidates
from sandbox.openai_spec import check

RELAYED = {"type": "realtime", "model": "gpt-realtime-2.1", "instructions": "Answer briefly."}


@pytest.fixture(scope="module", autouse=True)
def loopback_ice():
    import aioice.ice

    original = aioice.ice.get_host_addresses
    offer_loopback_candidates()
    yield
    aioice.ice.get_host_addresses = original


def sdk(base, api_key="sk-sandbox"):
    """The official client, as the server would make it (closed with `async with`, in the loop that used it)."""
    return AsyncOpenAI(base_url=base, api_key=api_key, max_retries=0)


class Sideband:
    """The SDK's connection, each event checked against OpenAI's schema before the SDK parses it."""

    def __init__(self, connection):
        self.connection = connection

    async def next_event(self):
        raw = json.loads(await asyncio.wait_for(self.connection.recv_bytes(), EVENT_TIMEOUT_S))
        schema = SERVER_EVENT_SCHEMAS.get(raw["type"])
        assert schema, f"not a GA server event: {raw['type']}"
        assert check(schema, raw) == [], raw
        parsed = self.connection.parse_event(json.dumps(raw))
        assert parsed.type == raw["type"]
        return parsed

    async def wait_for(self, event_type):
        while (event := await self.next_event()).type != event_type:
            pass
        return event


def call_id_of(call):
    return call.location.rsplit("/", 1)[1]


def test_the_sdk_joins_a_relayed_call_sees_its_events_answers_on_both_channels_and_hangs_up():
    async def scenario():
        async with serving_sandbox() as served, connected_call(served, relay_session=RELAYED) as call, \
                sdk(served.base) as client:
            async with client.realtime.connect(call_id=call_id_of(call)) as connection:
                sideband = Sideband(connection)
                while not served.state.peers[call_id_of(call)].sidebands:
                    await asyncio.sleep(0.01)
                # What the browser does is seen by the server (joining sends no session.created: the call has one).
                call.send(user_text("hello from the page"))
                first = await sideband.next_event()
                assert first.type == "conversation.item.added" and first.item.content[0].text == "hello from the page"

                # What the server sends is answered on both channels, in the same events.
                await connection.conversation.item.create(item={
                    "type": "message", "role": "user", "content": [{"type": "input_text", "text": "from the server"}]})
                await connection.response.create()
                heard = await sideband.wait_for("response.output_audio_transcript.done")
                assert heard.transcript == "You said: from the server"
                assert (await call.wait_for("response.output_audio_transcript.done"))["transcript"] == heard.transcript
                done = await sideband.wait_for("response.done")
                assert done.response.status == "completed" and done.response.usage.total_tokens > 0
                assert (await call.wait_for("response.done"))["response"]["id"] == done.response.id

                # A client event the API refuses is refused on the sideband too, naming the event.
                await connection.send({"type": "response.cancel", "event_id": "evt_server_1"})
                refused = await sideband.wait_for("error")
                assert (refused.error.code, refused.error.event_id) == ("response_cancel_not_active", "evt_server_1")

                ended = asyncio.Event()
                call.pc.on("connectionstatechange", lambda: call.pc.connectionState in ("closed", "failed")
                           and ended.set())
                call.channel.on("close", ended.set)
                await client.realtime.calls.hangup(call_id_of(call))
                await asyncio.wait_for(ended.wait(), EVENT_TIMEOUT_S)  # the browser's call ends
                with pytest.raises(websockets.ConnectionClosed):  # and so does the server's sideband
                    while True:
                        await asyncio.wait_for(connection.recv_bytes(), EVENT_TIMEOUT_S)
            assert served.state.peers == {} and served.state.counts["sideband_joins"] == 1

    run(scenario())


def test_an_unknown_call_is_call_id_not_found_before_the_upgrade_and_so_is_its_hang_up():
    async def scenario():
        async with serving_sandbox() as served, sdk(served.base) as client:
            with pytest.raises(websockets.InvalidStatus) as refused:
                async with client.realtime.connect(call_id="rtc_nosuchcall"):
                    pass
            assert refused.value.response.status_code == 404
            assert json.loads(refused.value.response.body)["error"] == {
                "message": "No session found for the provided call_id", "type": "invalid_request_error",
                "param": "", "code": "call_id_not_found"}
            with pytest.raises(BadRequestError) as hung_up:
                await client.realtime.calls.hangup("rtc_nosuchcall")
            assert hung_up.value.code == "call_id_not_found"

    run(scenario())


def test_joining_needs_the_api_key_not_a_client_secret():
    async def scenario():
        async with serving_sandbox() as served, connected_call(served, relay_session=RELAYED) as call, \
                sdk(served.base, api_key="ek_not_the_api_key_0123") as client:
            with pytest.raises(websockets.InvalidStatus) as refused:
                async with client.realtime.connect(call_id=call_id_of(call)):
                    pass
            assert refused.value.response.status_code == 401
            assert json.loads(refused.value.response.body)["error"]["code"] == "invalid_api_key"

    run(scenario())


def test_two_sidebands_of_one_call_each_get_every_event():
    async def scenario():
        async with serving_sandbox() as served, connected_call(served, relay_session=RELAYED) as call, \
                sdk(served.base) as client:
            async with client.realtime.connect(call_id=call_id_of(call)) as one, \
                    client.realtime.connect(call_id=call_id_of(call)) as two:
                while len(served.state.peers[call_id_of(call)].sidebands) < 2:
                    await asyncio.sleep(0.01)
                await one.session.update(session={"type": "realtime", "instructions": "Be terse."})
                for connection in (one, two):
                    updated = await Sideband(connection).wait_for("session.updated")
                    assert updated.session.instructions == "Be terse."
                assert (await call.wait_for("session.updated"))["session"]["instructions"] == "Be terse."

    run(scenario())
