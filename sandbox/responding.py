"""How the sandbox's peer talks back: responses in GA event order (spoken or text), function calls, failed and
cut-short answers, usage as OpenAI bills it, rate_limits.updated, and cancellation.

A mixin of RealtimePeer (sandbox/peer.py): it uses the peer's `send`, `session`, `outbound` track, `_spawn` and
conversation counters, and keeps the response that runs in `_response` / `_response_task`.
"""

import asyncio

from sandbox.audio import answer_audio
from sandbox.session import new_id

DELTA_INTERVAL_S = 0.03  # pace of transcript deltas: fast enough for tests, visibly streamed in a browser
# Tokens per second of audio, as OpenAI bills them (input audio 1 per 100 ms, output audio 1 per 50 ms).
INPUT_AUDIO_TOKENS_PER_S = 10
OUTPUT_AUDIO_TOKENS_PER_S = 20
# The budget rate_limits.updated reports (a tier-1 organisation's Realtime limits, per minute).
RATE_LIMIT_REQUESTS = 1000
RATE_LIMIT_TOKENS = 40_000


def text_tokens(text):
    return max(1, len(text) // 4) if text else 0


def _without_nulls(response):
    # OpenAI sends status_details and usage as null while a response runs; its published schema has no null there.
    return {key: value for key, value in response.items() if value is not None}


class Responding:
    def _new_response(self):
        return {
            "object": "realtime.response", "id": new_id("resp_"), "status": "in_progress", "status_details": None,
            "output": [], "conversation_id": "conv_" + self.call_id[4:], "output_modalities":
            list(self.session.get("output_modalities", ["audio"])), "max_output_tokens":
            self.session.get("max_output_tokens", "inf"),
            "audio": {"output": {k: v for k, v in self.session["audio"]["output"].items() if k in ("format", "voice")}},
        }

    def _start_response(self, reply_text):
        self._response = self._new_response()
        outcome = self._next_response()
        if outcome and outcome["status"] == "failed":
            self._response_task = self._spawn(self._fail(self._response, outcome["status_details"]))
            return
        if outcome:
            self._response["status_details"] = outcome["status_details"]
        self._response_task = self._spawn(self._respond(self._response, reply_text))

    def _start_function_call(self, tool, arguments):
        self._response = self._new_response()
        self._response_task = self._spawn(self._call_function(self._response, tool["name"], arguments))

    async def _call_function(self, response, name, arguments):
        # GA order: the function_call item is added, its arguments stream in, then the item and response are done.
        item_id, call_id = new_id("item_"), new_id("call_")
        self._function_calls[call_id] = name
        item = {"id": item_id, "type": "function_call", "object": "realtime.item", "status": "in_progress",
                "name": name, "call_id": call_id, "arguments": ""}
        where = {"response_id": response["id"], "item_id": item_id, "output_index": 0, "call_id": call_id}
        self.send({"type": "response.created", "response": _without_nulls(response)})
        self.send({"type": "response.output_item.added", "response_id": response["id"], "output_index": 0,
                   "item": item})
        self.send({"type": "conversation.item.added", "previous_item_id": None, "item": item})
        for start in range(0, len(arguments), 24):
            await asyncio.sleep(DELTA_INTERVAL_S / 3)
            self.send({"type": "response.function_call_arguments.delta", **where, "delta": arguments[start:start + 24]})
        self.send({"type": "response.function_call_arguments.done", **where, "name": name, "arguments": arguments})
        item = {**item, "status": "completed", "arguments": arguments}
        self.send({"type": "response.output_item.done", "response_id": response["id"], "output_index": 0,
                   "item": item})
        self.send({"type": "conversation.item.done", "previous_item_id": None, "item": item})
        self._finish_response(response, "completed", [item], self._usage(arguments, 0.0))

    async def _fail(self, response, status_details):
        # A failed response (e.g. insufficient_quota) produces no output; only response.done says why.
        self.send({"type": "response.created", "response": _without_nulls(response)})
        response["status_details"] = status_details
        self._finish_response(response, "failed", [], self._usage("", 0.0))

    async def _respond(self, response, reply_text):
        audio = "audio" in response["output_modalities"]
        words = reply_text.split(" ")
        limit = response["max_output_tokens"]
        if isinstance(limit, int) and limit < len(words):
            words = words[:limit]  # one word is one token here
            response["status_details"] = {"type": "incomplete", "reason": "max_output_tokens"}
        elif response["status_details"]:  # the next_response knob cut this one off
            words = words[:max(1, len(words) // 2)]
        text = " ".join(words)
        item_id = new_id("item_")
        # The content_part events name the part "audio"/"text"; the item's content says "output_audio"/"output_text".
        part = {"type": "audio", "transcript": ""} if audio else {"type": "text", "text": ""}
        item = {"id": item_id, "type": "message", "object": "realtime.item", "status": "in_progress",
                "role": "assistant", "content": []}
        where = {"response_id": response["id"], "item_id": item_id, "output_index": 0, "content_index": 0}
        self.send({"type": "response.created", "response": _without_nulls(response)})
        self.send({"type": "response.output_item.added", "response_id": response["id"], "output_index": 0,
                   "item": item})
        self.send({"type": "conversation.item.added", "previous_item_id": None, "item": item})
        self.send({"type": "response.content_part.added", **where, "part": part})
        samples = None
        if audio:
            samples = await answer_audio(text, self._answer_audio_mode)
            self._audio_response_id = response["id"]
            self.outbound.play(samples)
            self.send({"type": "output_audio_buffer.started", "response_id": response["id"]})
        kind = "output_audio_transcript" if audio else "output_text"
        for index, word in enumerate(words):
            await asyncio.sleep(DELTA_INTERVAL_S)
            self.send({"type": f"response.{kind}.delta", **where, "delta": word if index == 0 else " " + word})
        done_field = "transcript" if audio else "text"
        self.send({"type": f"response.{kind}.done", **where, done_field: text})
        self.send({"type": "response.content_part.done", **where, "part": {**part, done_field: text}})
        content = {"type": f"output_{part['type']}", done_field: text}
        item = {**item, "status": "completed" if not response["status_details"] else "incomplete", "content": [content]}
        self.send({"type": "response.output_item.done", "response_id": response["id"], "output_index": 0,
                   "item": item})
        self.send({"type": "conversation.item.done", "previous_item_id": None, "item": item})
        output_audio_s = samples.size / 48000 if samples is not None else 0.0
        self._finish_response(response, "incomplete" if response["status_details"] else "completed", [item],
                              self._usage(text, output_audio_s))

    def _usage(self, text, output_audio_s):
        """Usage like OpenAI bills it: every response reads the whole conversation so far as its input."""
        input_text = text_tokens(self.session.get("instructions", "")) + self._history_text_tokens
        input_audio = self._history_audio_tokens
        # OpenAI caches a repeated prompt prefix in 64-token blocks (from 1,024 tokens; the sandbox from the
        # start, so that cost estimates have a discount to show): here, the previous response's input.
        cached = min(self._previous_input_tokens // 64 * 64, input_text + input_audio)
        cached_text = min(cached, input_text)
        output_text = text_tokens(text)
        output_audio = int(output_audio_s * OUTPUT_AUDIO_TOKENS_PER_S)
        self._previous_input_tokens = input_text + input_audio
        self._history_text_tokens += output_text
        self._history_audio_tokens += output_audio
        input_total, output_total = input_text + input_audio, output_text + output_audio
        return {
            "total_tokens": input_total + output_total, "input_tokens": input_total, "output_tokens": output_total,
            "input_token_details": {
                "text_tokens": input_text, "audio_tokens": input_audio, "image_tokens": 0, "cached_tokens": cached,
                "cached_tokens_details": {"text_tokens": cached_text, "audio_tokens": cached - cached_text,
                                          "image_tokens": 0},
            },
            "output_token_details": {"text_tokens": output_text, "audio_tokens": output_audio},
        }

    def _finish_response(self, response, status, output, usage):
        response.update(status=status, output=output, usage=usage)
        self.send({"type": "response.done", "response": _without_nulls(response)})
        self._send_rate_limits(usage)
        self._response = None
        self._response_task = None

    def _send_rate_limits(self, usage):
        # OpenAI follows every response.done with the organisation's remaining request and token budget.
        self._requests_used += 1
        self._tokens_used += usage["total_tokens"]
        self.send({"type": "rate_limits.updated", "rate_limits": [
            {"name": "requests", "limit": RATE_LIMIT_REQUESTS, "remaining": RATE_LIMIT_REQUESTS - self._requests_used,
             "reset_seconds": 60.0},
            {"name": "tokens", "limit": RATE_LIMIT_TOKENS, "remaining": max(0, RATE_LIMIT_TOKENS - self._tokens_used),
             "reset_seconds": 60.0},
        ]})

    def _cancel_response(self, reason):
        response, task = self._response, self._response_task
        if response is None:
            return
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        response["status_details"] = {"type": "cancelled", "reason": reason}
        self._finish_response(response, "cancelled", [], self._usage("", 0.0))
        if reason == "turn_detected":
            self._clear_output_audio()  # a client's response.cancel leaves queued audio to output_audio_buffer.clear

    def _clear_output_audio(self, always_confirm=False):
        if self.outbound.clear() or always_confirm:
            self.send({"type": "output_audio_buffer.cleared", "response_id": self._audio_response_id})

    def _playback_finished(self):
        self.send({"type": "output_audio_buffer.stopped", "response_id": self._audio_response_id})
