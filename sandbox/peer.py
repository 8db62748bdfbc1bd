"""The sandbox's WebRTC peer: answers a Realtime call, takes the page's client events, and listens for speech by
energy; how it talks back (responses, function calls, usage, cancellation) is sandbox/responding.py."""

import asyncio
import json
import logging
import time

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from sandbox.audio import AnswerAudioTrack, frame_level, frame_ms
from sandbox.conversation import ConversationRecord
from sandbox.item_order import ItemOrder
from sandbox.responding import DELTA_INTERVAL_S, INPUT_AUDIO_TOKENS_PER_S, Responding, text_tokens
from sandbox.session import apply_session_fields, new_id, request_violation
from sandbox.tools import call_arguments, matching_tools, preamble_for, short_output

log = logging.getLogger(__name__)

SPEECH_LEVEL = 0.02  # RMS above this (about -34 dBFS) counts as speech, whatever the session's VAD threshold
MIN_COMMIT_MS = 100  # OpenAI refuses to commit less audio than this
# Shorter bursts are not speech: Chromium's fake microphone beeps for 60 ms every 500 ms, and those beeps
# would otherwise keep a turn open forever (gaps under the 500 ms default silence) or end one every beep.
MIN_SPEECH_MS = 100
SEMANTIC_SILENCE_MS = {"low": 1000, "medium": 600, "auto": 600, "high": 300}
CONNECT_DEADLINE_S = 30


class RealtimePeer(Responding):
    """One call: an aiortc peer connection, its `oai-events` data channel and the conversation state."""

    def __init__(self, call_id, session, *, answer_audio_mode="auto", max_session_seconds=3600, on_closed=None,
                 on_session_update=None, next_response=None, next_transcript=None, function_call_pace=None,
                 record=None):
        self.call_id = call_id
        self.session = session
        self.created_at = time.time()
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no Google STUN: it stalls answers 5 s
        self.outbound = AnswerAudioTrack(on_playback_finished=self._playback_finished)
        self.channel = None
        self.events_sent = 0
        self.events_received = 0
        self._answer_audio_mode = answer_audio_mode
        self._max_session_seconds = max_session_seconds
        self._on_closed = on_closed
        self._on_session_update = on_session_update
        self._next_response = next_response or (lambda: None)  # the sandbox's next_response knob
        self._next_transcript = next_transcript or (lambda: None)  # the sandbox's next_transcript knob
        # Seconds between a function call's argument deltas (the function_call_delta_ms knob).
        self._function_call_pace = function_call_pace or (lambda: DELTA_INTERVAL_S / 3)
        self.record = record if record is not None else []  # every event both ways: {"from", "event"}
        self.item_order = ItemOrder()  # previous_item_id of each item
        self._tasks = set()
        self._closing = None
        # Earlier turns become input (partly cached) of later ones, as in OpenAI's billing.
        self._history_text_tokens = 0
        self._requests_used = 0
        self._tokens_used = 0
        self._history_audio_tokens = 0
        self._previous_input_tokens = 0
        # Input audio buffer and speech detection.
        self._buffer_ms = 0.0
        self._buffer_speech_ms = 0.0
        self._audio_ms = 0.0
        self._speaking = False
        self._silence_ms = 0.0
        self._voiced_run_ms = 0.0
        self._speech_item_id = None
        # The response being produced, if any.
        self._response = None
        self._response_task = None
        self._audio_response_id = None
        self._pending_turn = None  # what the next response.create answers
        self._pending_said = None  # the admin's words it answers: they may ask for one of the session's tools
        self._function_calls = {}  # call_id -> the tool's name, for the spoken answer to its output
        self.conversation = ConversationRecord()  # what conversation.item.retrieve answers
        self.sidebands = set()  # the server's WebSockets to this call (sandbox/sideband.py): each gets every event

    # --- signalling ------------------------------------------------------------------------------

    async def answer(self, offer_sdp):
        """Applies the browser's offer; returns the answer SDP, candidates included (aiortc gathers first)."""
        self.pc.on("track", self._on_track)
        self.pc.on("datachannel", self._on_datachannel)
        self.pc.on("connectionstatechange", self._on_connection_state)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        for transceiver in self.pc.getTransceivers():
            if transceiver.kind == "audio":  # the browser's mic m-line: answer on it, in both directions
                transceiver.sender.replaceTrack(self.outbound)
                transceiver.direction = "sendrecv"
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        self._spawn(self._expire_session())
        self._spawn(self._give_up_unless_connected())
        return self.pc.localDescription.sdp

    @property
    def connection_state(self):
        return self.pc.connectionState

    async def close(self):
        """Safe to call many times and from the peer's own tasks: every caller waits for the one real close."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close())
        await asyncio.shield(self._closing)

    async def _close(self):
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for sideband in list(self.sidebands):
            sideband.call_ended()
        self.outbound.stop()
        await self.pc.close()
        if self._on_closed:
            self._on_closed(self)

    def _spawn(self, coroutine):
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _on_connection_state(self):
        log.info("call %s: connection %s", self.call_id, self.pc.connectionState)
        if self.pc.connectionState in ("failed", "closed") and self._closing is None:
            self._spawn(self.close())

    async def _give_up_unless_connected(self):
        # A browser that took the answer and vanished would otherwise leave this peer open for good.
        await asyncio.sleep(CONNECT_DEADLINE_S)
        if self.pc.connectionState != "connected":
            self._spawn(self.close())

    async def _expire_session(self):
        await asyncio.sleep(self._max_session_seconds)
        self._send_error("session_expired", "Your session hit the maximum duration of 60 minutes.",
                         error_type="invalid_request_error")
        await asyncio.sleep(0.2)  # let the error leave before the channel closes
        self._spawn(self.close())

    # --- data channel ----------------------------------------------------------------------------

    def _on_datachannel(self, channel):
        if channel.label != "oai-events":
            return
        self.channel = channel
        channel.on("message", self._on_message)
        self.send({"type": "session.created", "session": self.session})

    def send(self, event):
        event = {"event_id": new_id("event_"), **event}
        self.conversation.observe(event)
        if self.channel is not None and self.channel.readyState == "open":
            self.channel.send(json.dumps(event))
            self.events_sent += 1
            self.record.append({"from": "server", "event": event})
        for sideband in list(self.sidebands):
            sideband.send(event)
        return event

    def _send_error(self, code, message, *, param=None, event_id=None, error_type="invalid_request_error"):
        self.send({"type": "error", "error": {"type": error_type, "code": code, "message": message, "param": param,
                                              "event_id": event_id}})

    def _on_message(self, message):
        self.events_received += 1
        try:
            event = json.loads(message)
        except (TypeError, ValueError):
            self._send_error("invalid_json", "The event is not valid JSON.")
            return
        self.record.append({"from": "client", "event": event})
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            self._send_error("missing_required_parameter", "Missing required parameter: 'type'.", param="type")
            return
        handler = self._client_events().get(event["type"])
        if handler is None:
            self._send_error("invalid_value", f"Invalid value: '{event['type']}'. Unknown client event type.",
                             param="type", event_id=event.get("event_id"))
            return
        try:
            handler(event)
        except Exception:  # a sandbox bug must show up as an event and a log line, not a silent channel
            log.exception("call %s: %s failed", self.call_id, event["type"])
            self._send_error(None, "The server had an error while processing your request.",
                             event_id=event.get("event_id"), error_type="server_error")

    def _client_events(self):
        return {
            "session.update": self._session_update,
            "conversation.item.create": self._conversation_item_create,
            "conversation.item.retrieve": lambda event: self.send(self.conversation.retrieved(event)),
            "response.create": self._response_create,
            "response.cancel": self._response_cancel,
            "input_audio_buffer.commit": self._input_audio_buffer_commit,
            "input_audio_buffer.clear": self._input_audio_buffer_clear,
            "output_audio_buffer.clear": self._output_audio_buffer_clear,
        }

    # --- client events ---------------------------------------------------------------------------

    def _session_update(self, event):
        violation = request_violation("RealtimeClientEventSessionUpdate", event)
        if violation:
            code, param, message = violation
            self._send_error(code, message, param=param, event_id=event.get("event_id"))
            return  # GA applies nothing when any field is refused
        changes = {k: v for k, v in event["session"].items() if k != "type"}
        if "model" in changes and changes["model"] != self.session.get("model"):
            self._send_error("invalid_value", "Cannot update a session's model.", param="session.model",
                             event_id=event.get("event_id"))
            return
        self.session = apply_session_fields(self.session, changes)
        if self._on_session_update:
            self._on_session_update(self, event["session"])
        self.send({"type": "session.updated", "session": self.session})

    def _conversation_item_create(self, event):
        item = event.get("item")
        if not isinstance(item, dict):
            self._send_error("missing_required_parameter", "Missing required parameter: 'item'.", param="item",
                             event_id=event.get("event_id"))
            return
        violation = request_violation("RealtimeClientEventConversationItemCreate", event)
        if violation:
            code, param, message = violation
            self._send_error(code, message, param=param, event_id=event.get("event_id"))
            return
        item = {"id": item.get("id") or new_id("item_"), "object": "realtime.item", "status": "completed", **item}
        said = " ".join(part.get("text", "") for part in item.get("content", []) if isinstance(part, dict)).strip()
        self._history_text_tokens += text_tokens(said)
        if item.get("role") == "user" and said:
            self._pending_turn = f"You said: {said}"
            self._pending_said = said
        if item.get("type") == "function_call_output":
            output = str(item.get("output", ""))
            self._history_text_tokens += text_tokens(output)
            name = self._function_calls.get(item.get("call_id"), "The tool")
            self._pending_turn = f"{name} returned: {short_output(output)}"
            self._pending_said = None
        previous = self.item_order.add(item["id"])
        self.send({"type": "conversation.item.added", "previous_item_id": previous, "item": item})
        self.send({"type": "conversation.item.done", "previous_item_id": previous, "item": item})

    def _response_create(self, event):
        if self._response is not None:
            self._send_error(
                "conversation_already_has_active_response",
                f"Conversation already has an active response in progress: {self._response['id']}. "
                "Wait until the response is finished before creating a new one.",
                event_id=event.get("event_id"),
            )
            return
        said, self._pending_said = self._pending_said, None
        tools = matching_tools(self.session, said)
        if tools:  # the words ask for tools: function calls, as the model would (side by side, said first)
            self._pending_turn = None
            calls = [(tool["name"], call_arguments(tool, said)) for tool in tools]
            self._start_function_calls(calls, preamble_for(tools) if len(tools) > 1 else None)
            return
        reply = self._pending_turn or "Sandbox here. Say something, or type a message."
        self._pending_turn = None
        self._start_response(reply)

    def _response_cancel(self, event):
        if self._response is None:
            self._send_error("response_cancel_not_active", "Cancellation failed: no active response found.",
                             event_id=event.get("event_id"))
            return
        self._cancel_response("client_cancelled")

    def _input_audio_buffer_commit(self, event):
        if self._buffer_ms < MIN_COMMIT_MS:
            self._send_error(
                "input_audio_buffer_commit_empty",
                "Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, "
                f"but buffer only has {self._buffer_ms:.2f}ms of audio.",
                event_id=event.get("event_id"),
            )
            return
        self._commit(new_id("item_"), create_response=False)

    def _input_audio_buffer_clear(self, event):
        self._buffer_ms = self._buffer_speech_ms = 0.0
        self.send({"type": "input_audio_buffer.cleared"})

    def _output_audio_buffer_clear(self, event):
        self._clear_output_audio(always_confirm=True)

    # --- microphone audio and turn detection -----------------------------------------------------

    def _on_track(self, track):
        if track.kind == "audio":
            self._spawn(self._listen(track))

    async def _listen(self, track):
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self._hear(frame_ms(frame), frame_level(frame) >= SPEECH_LEVEL)

    def _turn_detection(self):
        return (self.session.get("audio") or {}).get("input", {}).get("turn_detection")

    def _hear(self, duration_ms, voiced):
        self._audio_ms += duration_ms
        self._buffer_ms += duration_ms
        if voiced:
            self._buffer_speech_ms += duration_ms
        detection = self._turn_detection()
        if not detection or self.channel is None:
            return  # push-to-talk: the client commits the buffer itself
        if voiced:
            self._silence_ms = 0.0
            self._voiced_run_ms += duration_ms
            if not self._speaking and self._voiced_run_ms >= MIN_SPEECH_MS:
                self._speech_begins(detection)
            return
        self._voiced_run_ms = 0.0
        if self._speaking:
            self._silence_ms += duration_ms
            if self._silence_ms >= self._silence_limit_ms(detection):
                self._speech_ends(detection)

    def _silence_limit_ms(self, detection):
        if detection.get("type") == "semantic_vad":
            return SEMANTIC_SILENCE_MS.get(detection.get("eagerness", "auto"), 600)
        return detection.get("silence_duration_ms", 500)

    def _speech_begins(self, detection):
        self._speaking = True
        self._speech_item_id = new_id("item_")
        padding = detection.get("prefix_padding_ms", 300)
        begun_ms = self._audio_ms - self._voiced_run_ms
        self.send({"type": "input_audio_buffer.speech_started",
                   "audio_start_ms": int(max(0, begun_ms - padding)), "item_id": self._speech_item_id})
        if detection.get("interrupt_response", True):
            if self._response is not None:
                self._cancel_response("turn_detected")
            else:
                self._clear_output_audio()  # the answer is complete but still playing: stop talking over the user

    def _speech_ends(self, detection):
        self._speaking = False
        self.send({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": int(self._audio_ms),
                   "item_id": self._speech_item_id})
        self._commit(self._speech_item_id, create_response=detection.get("create_response", True))

    def _commit(self, item_id, *, create_response):
        heard_ms = self._buffer_speech_ms
        self._buffer_ms = self._buffer_speech_ms = 0.0
        item = {"id": item_id, "type": "message", "object": "realtime.item", "status": "completed", "role": "user",
                "content": [{"type": "input_audio"}]}  # transcript arrives in its own event
        previous = self.item_order.add(item["id"])
        self.send({"type": "input_audio_buffer.committed", "previous_item_id": previous, "item_id": item_id})
        self.send({"type": "conversation.item.added", "previous_item_id": previous, "item": item})
        self.send({"type": "conversation.item.done", "previous_item_id": previous, "item": item})
        said = self._next_transcript()  # the next_transcript knob: what the admin "said" this time
        transcript = said or f"(sandbox heard {heard_ms / 1000:.1f} s of speech)"
        if (self.session.get("audio") or {}).get("input", {}).get("transcription"):
            # The transcript streams in word by word, then arrives whole, as gpt-4o-transcribe's does.
            for index, word in enumerate(transcript.split(" ")):
                self.send({"type": "conversation.item.input_audio_transcription.delta", "item_id": item_id,
                           "content_index": 0, "delta": word if index == 0 else " " + word})
            self.send({"type": "conversation.item.input_audio_transcription.completed", "item_id": item_id,
                       "content_index": 0, "transcript": transcript,
                       "usage": {"type": "duration", "seconds": round(heard_ms / 1000, 1)}})
        self._history_audio_tokens += int(heard_ms / 1000 * INPUT_AUDIO_TOKENS_PER_S)
        self._pending_turn = (f"You said: {said}" if said else f"Sandbox here: I heard {heard_ms / 1000:.1f} "
                              "seconds of audio. This answer is generated locally.")
        if said:  # words nobody set leave a typed question pending: the next response still acts on it
            self._pending_said = said
        if create_response and self._response is None:
            self._response_create({})
