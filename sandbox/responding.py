"""How the sandbox's peer talks back: responses in GA event order (spoken or text), function calls (one, or a
preamble and parallel calls), failed and cut-short answers, usage as OpenAI bills it, rate_limits.updated, and
cancellation that closes what was in progress.

A mixin of RealtimePeer (sandbox/peer.py): it uses the peer's `send`, `session`, `outbound` track, `_spawn`,
`item_order` and counters, and keeps the response that runs in `_response` / `_response_task`, the items it
produced in `_output` and the one it is producing in `_open_item`.
"""

import asyncio

from sandbox.audio import answer_audio
from sandbox.session import new_id

DELTA_INTERVAL_S = 0.03  # pace of transcript deltas: fast enough for tests, visibly streamed in a browser
ARGUMENTS_CHUNK = 24  # characters of a function call's arguments per delta
# Tokens per second of audio, as OpenAI bills them (input audio 1 per 100 ms, output audio 1 per 50 ms).
INPUT_AUDIO_TOKENS_PER_S = 10
OUTPUT_AUDIO_TOKENS_PER_S = 20
# The budget rate_limits.updated reports (a tier-1 organisation's Realtime limits, per minute).
RATE_LIMIT_REQUESTS = 1000
RATE_LIMIT_TOKENS = 40_000
RESERVED_OUTPUT_TOKENS = 4096  # what a response with max_output_tokens "inf" holds back while it runs


def text_tokens(text):
    return max(1, len(text) // 4) if text else 0


def _without_nulls(response):
    # OpenAI sends status_details and usage as null while a response runs; its published schema has no null there.
    return {key: value for key, value in response.items() if value is not None}


class _OpenItem:
    """The output item being produced: enough to close it, incomplete, if the response is cancelled meanwhile."""

    def __init__(self, item, where, part=None):
        self.item, self.where, self.part = item, where, part  # part: the message's content part, else None
        self.so_far = ""  # the transcript, text or arguments streamed so far


class Responding:
    def _new_response(self):
        self._output, self._open_item, self._spoken_s = [], None, 0.0
        return {
            "object": "realtime.response", "id": new_id("resp_"), "status": "in_progress", "status_details": None,
            "output": [], "conversation_id": "conv_" + self.call_id[4:], "output_modalities":
            list(self.session.get("output_modalities", ["audio"])), "max_output_tokens":
            self.session.get("max_output_tokens", "inf"),
            "audio": {"output": {k: v for k, v in self.session["audio"]["output"].items() if k in ("format", "voice")}},
        }

    def _start_response(self, reply_text):
        response = self._response = self._new_response()
        outcome = self._next_response()
        if outcome and outcome["status"] == "failed":
            # A failed response (e.g. insufficient_quota) produces no output; only response.done says why.
            self._begin(response)
            response["status_details"] = outcome["status_details"]
            self._finish_response(response, "failed", self._usage("", 0.0))
            return
        if outcome:
            response["status_details"] = outcome["status_details"]
        words = reply_text.split(" ")
        limit = response["max_output_tokens"]
        if isinstance(limit, int) and limit < len(words):
            words = words[:limit]  # one word is one token here
            response["status_details"] = {"type": "incomplete", "reason": "max_output_tokens"}
        elif response["status_details"]:  # the next_response knob cut this one off
            words = words[:max(1, len(words) // 2)]
        self._begin(response)
        self._response_task = self._spawn(self._respond(response, words))

    def _start_function_calls(self, calls, preamble=None):
        """calls: [(tool name, arguments JSON)], made side by side in one response, after a spoken preamble if any."""
        response = self._response = self._new_response()
        self._begin(response)
        self._response_task = self._spawn(self._call_functions(response, calls, preamble))

    def _begin(self, response):
        # Sent at once, not from the response's task: a cancel that comes first still finds a response begun.
        self.send({"type": "response.created", "response": _without_nulls(response)})
        self._send_rate_limits(response)

    async def _call_functions(self, response, calls, preamble):
        if preamble:
            await self._say(response, preamble.split(" "))
        for name, arguments in calls:
            await self._write_call(response, name, arguments)
        written = (preamble or "") + "".join(arguments for _, arguments in calls)
        self._finish_response(response, "completed", self._usage(written, self._spoken_s))

    async def _respond(self, response, words):
        cut_short = bool(response["status_details"])
        await self._say(response, words, cut_short=cut_short)
        self._finish_response(response, "incomplete" if cut_short else "completed",
                              self._usage(" ".join(words), self._spoken_s))

    # --- output items ----------------------------------------------------------------------------

    def _add_output_item(self, response, item):
        index = len(self._output)
        self._output.append(item)
        self.send({"type": "response.output_item.added", "response_id": response["id"], "output_index": index,
                   "item": item})
        self.send({"type": "conversation.item.added", "previous_item_id": self.item_order.add(item["id"]), "item": item})
        return {"response_id": response["id"], "item_id": item["id"], "output_index": index}

    def _output_item_done(self, where, item):
        self._output[where["output_index"]] = item
        self.send({"type": "response.output_item.done", "response_id": where["response_id"],
                   "output_index": where["output_index"], "item": item})
        self.send({"type": "conversation.item.done", "previous_item_id": self.item_order.previous_id(item["id"]),
                   "item": item})

    async def _say(self, response, words, cut_short=False):
        """One assistant message: spoken (audio and its transcript) or written, word by word."""
        audio = "audio" in response["output_modalities"]
        text = " ".join(words)
        # The content_part events name the part "audio"/"text"; the item's content says "output_audio"/"output_text".
        part = {"type": "audio", "transcript": ""} if audio else {"type": "text", "text": ""}
        item = {"id": new_id("item_"), "type": "message", "object": "realtime.item", "status": "in_progress",
                "role": "assistant", "content": []}
        where = {**self._add_output_item(response, item), "content_index": 0}
        self._open_item = _OpenItem(item, where, part)
        self.send({"type": "response.content_part.added", **where, "part": part})
        if audio:
            samples = await answer_audio(text, self._answer_audio_mode)
            self._spoken_s += samples.size / 48000
            self._audio_response_id = response["id"]
            self.outbound.play(samples)
            self.send({"type": "output_audio_buffer.started", "response_id": response["id"]})
        kind = "output_audio_transcript" if audio else "output_text"
        for index, word in enumerate(words):
            await asyncio.sleep(DELTA_INTERVAL_S)
            delta = word if index == 0 else " " + word
            self._open_item.so_far += delta
            self.send({"type": f"response.{kind}.delta", **where, "delta": delta})
        self._close_message(self._open_item, text, "incomplete" if cut_short else "completed")

    def _close_message(self, open_item, text, status):
        part, where = open_item.part, open_item.where
        done_field = "transcript" if part["type"] == "audio" else "text"
        kind = "output_audio_transcript" if part["type"] == "audio" else "output_text"
        self.send({"type": f"response.{kind}.done", **where, done_field: text})
        self.send({"type": "response.content_part.done", **where, "part": {**part, done_field: text}})
        content = {"type": f"output_{part['type']}", done_field: text}
        self._output_item_done(where, {**open_item.item, "status": status, "content": [content]})
        self._open_item = None

    async def _write_call(self, response, name, arguments):
        """One function call: the item is added, its arguments stream in, then it is done."""
        call_id = new_id("call_")
        self._function_calls[call_id] = name
        item = {"id": new_id("item_"), "type": "function_call", "object": "realtime.item", "status": "in_progress",
                "name": name, "call_id": call_id, "arguments": ""}
        where = {**self._add_output_item(response, item), "call_id": call_id}
        self._open_item = _OpenItem(item, where)
        for start in range(0, len(arguments), ARGUMENTS_CHUNK):
            await asyncio.sleep(self._function_call_pace())
            delta = arguments[start:start + ARGUMENTS_CHUNK]
            self._open_item.so_far += delta
            self.send({"type": "response.function_call_arguments.delta", **where, "delta": delta})
        self._close_call(self._open_item, arguments, "completed")

    def _close_call(self, open_item, arguments, status):
        # Also sent when a response is interrupted, cancelled or cut short (the spec says so): clients must look at
        # the item's status in response.output_item.done before they run anything.
        self.send({"type": "response.function_call_arguments.done", **open_item.where, "name": open_item.item["name"],
                   "arguments": arguments})
        self._output_item_done(open_item.where, {**open_item.item, "status": status, "arguments": arguments})
        self._open_item = None

    # --- usage, rate limits, the end of a response -----------------------------------------------

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

    def _finish_response(self, response, status, usage):
        response.update(status=status, output=list(self._output), usage=usage)
        self._tokens_used += usage["total_tokens"]
        self.send({"type": "response.done", "response": _without_nulls(response)})
        self._response = None
        self._response_task = None

    def _send_rate_limits(self, response):
        # OpenAI sends the organisation's remaining budget as a response starts, its output tokens held back.
        self._requests_used += 1
        limit = response["max_output_tokens"]
        reserved = limit if isinstance(limit, int) else RESERVED_OUTPUT_TOKENS
        self.send({"type": "rate_limits.updated", "rate_limits": [
            {"name": "requests", "limit": RATE_LIMIT_REQUESTS, "remaining": RATE_LIMIT_REQUESTS - self._requests_used,
             "reset_seconds": 60.0},
            {"name": "tokens", "limit": RATE_LIMIT_TOKENS,
             "remaining": max(0, RATE_LIMIT_TOKENS - self._tokens_used - reserved), "reset_seconds": 60.0},
        ]})

    def _cancel_response(self, reason):
        """Stops the response at once: the item in progress is closed as incomplete, and response.done carries
        every item so far, as OpenAI does."""
        response, task, open_item = self._response, self._response_task, self._open_item
        if response is None:
            return
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        if open_item is not None and open_item.part is None:
            self._close_call(open_item, open_item.so_far, "incomplete")
        elif open_item is not None:
            self._close_message(open_item, open_item.so_far, "incomplete")
        response["status_details"] = {"type": "cancelled", "reason": reason}
        self._finish_response(response, "cancelled", self._usage("", 0.0))
        if reason == "turn_detected":
            self._clear_output_audio()  # a client's response.cancel leaves queued audio to output_audio_buffer.clear

    def _clear_output_audio(self, always_confirm=False):
        if self.outbound.clear() or always_confirm:
            self.send({"type": "output_audio_buffer.cleared", "response_id": self._audio_response_id})

    def _playback_finished(self):
        self.send({"type": "output_audio_buffer.stopped", "response_id": self._audio_response_id})
