"""conversation.item.retrieve: the sandbox answers with the item as its server keeps it, as OpenAI does (the
browser Agents SDK sends one after every input transcription), and with OpenAI's error for an unknown id."""

import pytest

from harness.sandbox_call import connected_call, run, serving_sandbox, user_text
from sandbox.loopback_ice import offer_loopback_candidates

SPOKEN = {"type": "realtime", "model": "gpt-realtime-2.1", "audio": {"input": {
    "transcription": {"model": "gpt-4o-mini-transcribe"},
    "turn_detection": {"type": "server_vad", "silence_duration_ms": 200}}}}


@pytest.fixture(scope="module", autouse=True)
def loopback_ice():
    import aioice.ice

    original = aioice.ice.get_host_addresses
    offer_loopback_candidates()
    yield
    aioice.ice.get_host_addresses = original


def test_a_spoken_item_is_retrieved_with_its_transcript():
    async def scenario():
        async with serving_sandbox() as served, connected_call(served, relay_session=SPOKEN) as call:
            served.state.knobs.next_transcript = "Did orders_daily fail?"
            call.microphone.speak(0.6)
            heard = await call.wait_for("conversation.item.input_audio_transcription.completed")
            call.send({"type": "conversation.item.retrieve", "event_id": "evt_get_1", "item_id": heard["item_id"]})
            retrieved = await call.wait_for("conversation.item.retrieved")
            item = retrieved["item"]
            assert (item["id"], item["type"], item["role"], item["status"]) == (heard["item_id"], "message", "user",
                                                                                "completed")
            assert item["content"] == [{"type": "input_audio", "transcript": "Did orders_daily fail?"}]

    run(scenario())


def test_a_typed_item_and_an_answer_are_retrieved_as_they_were_done():
    async def scenario():
        async with serving_sandbox() as served, connected_call(served, relay_session=SPOKEN) as call:
            call.send(user_text("hello there"))
            typed = (await call.wait_for("conversation.item.done"))["item"]
            call.send({"type": "response.create"})
            answer = (await call.wait_for("response.output_item.done"))["item"]
            for wanted in (typed, answer):
                call.send({"type": "conversation.item.retrieve", "item_id": wanted["id"]})
                assert (await call.wait_for("conversation.item.retrieved"))["item"] == wanted

    run(scenario())


def test_an_unknown_item_is_openais_invalid_item_id_error_and_a_missing_one_is_named():
    async def scenario():
        async with serving_sandbox() as served, connected_call(served, relay_session=SPOKEN) as call:
            call.send({"type": "conversation.item.retrieve", "event_id": "evt_get_2", "item_id": "item_nosuch"})
            error = (await call.wait_for("error"))["error"]
            assert error == {"type": "invalid_request_error", "code": "item_retrieve_invalid_item_id",
                             "message": "Error retrieving item: the item with id 'item_nosuch' does not exist.",
                             "param": None, "event_id": "evt_get_2"}
            call.send({"type": "conversation.item.retrieve"})
            error = (await call.wait_for("error"))["error"]
            assert (error["code"], error["param"]) == ("missing_required_parameter", "item_id")

    run(scenario())
