"""A stand-in for OpenAI's GA endpoints (client secrets, relayed calls, ChatKit sessions) with a fixed
latency and switchable faults, for the benchmark (bench/) and the fault-injection tests.

It answers like OpenAI's API reference says OpenAI does: the same paths, headers, status codes and
bodies, OpenAI's error envelope and an `x-request-id` on every answer. It is deliberately small and fast
(one aiohttp process) so that it is never what limits a benchmark.

    .venv/bin/python -m harness.standin --port 8765 --latency-ms 100

In tests, `StandIn()` runs it on a thread; set `standin.behaviour = Behaviour(fault="status", status=503)`.
"""

import argparse
import asyncio
import itertools
import json
import socket
import struct
from dataclasses import dataclass, field

from aiohttp import web

from core.background_loop import BackgroundLoop
from harness.payloads import (
    ANSWER_SDP,
    chatkit_session_response,
    client_secret_response,
    openai_error,
)
from harness.real_servers import free_port

FAULTS = ("none", "hang", "status", "reset", "not_json", "no_secret", "oversized")
OVERSIZED_BYTES = 1024 * 1024 + 4096  # just over the app's 1 MiB cap on upstream bodies
BETA_GONE = "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API."


@dataclass
class Behaviour:
    """What the stand-in does with the next requests. `latency_ms` delays every answer (the L of the benchmark)."""

    latency_ms: float = 0.0
    fault: str = "none"  # one of FAULTS
    status: int = 500  # for fault="status"
    retry_after: str | None = None  # Retry-After header sent with fault="status"
    hang_seconds: float = 30.0  # for fault="hang": longer than any timeout the app is given
    # POST /v1/responses with stream: true (self-hosted chat): the first text delta after latency_ms, then
    # `deltas` more, `delta_ms` apart, as a model streams its answer.
    deltas: int = 20
    delta_ms: float = 10.0


@dataclass
class Stats:
    requests: int = 0
    by_path: dict = field(default_factory=dict)
    authorizations: list = field(default_factory=list)

    def count(self, request):
        self.requests += 1
        self.by_path[request.path] = self.by_path.get(request.path, 0) + 1
        if len(self.authorizations) < 1000:
            self.authorizations.append(request.headers.get("Authorization", ""))


@web.middleware
async def quiet_when_client_left(request, handler):
    # A load generator that stops mid-request is normal at the end of every benchmark run, not an error.
    try:
        return await handler(request)
    except ConnectionResetError:
        return web.Response(status=499)


class StandInUpstream:
    """The aiohttp application; `behaviour` may be replaced at any time (also by POST /_standin/behaviour)."""

    def __init__(self, behaviour=None):
        self.behaviour = behaviour or Behaviour()
        self.stats = Stats()
        self._ids = itertools.count(1)
        self.app = web.Application(client_max_size=2 * 1024 * 1024, middlewares=[quiet_when_client_left])
        self.app.router.add_post("/v1/realtime/client_secrets", self.client_secrets)
        self.app.router.add_post("/v1/realtime/calls", self.calls)
        self.app.router.add_post("/v1/chatkit/sessions", self.chatkit_sessions)
        self.app.router.add_post("/v1/responses", self.responses)
        self.app.router.add_post("/_standin/behaviour", self.set_behaviour)

    # --- OpenAI's endpoints ----------------------------------------------------------------------

    async def client_secrets(self, request):
        refusal = await self._common(request)
        if refusal is not None:
            return refusal
        if request.headers.get("OpenAI-Beta", "").startswith("realtime"):
            return self._error(400, BETA_GONE, "beta_api_shape_disabled", param="")
        try:
            body = await request.json()
        except ValueError:
            return self._error(400, "We could not parse the JSON body of your request.", None)
        session = body.get("session") if isinstance(body, dict) else None
        if not isinstance(session, dict) or session.get("type") != "realtime":
            return self._error(400, "Missing required parameter: 'session.type'.", "missing_required_parameter",
                               param="session.type")
        if "workflow" in session:
            return self._error(400, "Unknown parameter: 'session.workflow'.", "unknown_parameter",
                               param="session.workflow")
        if self.behaviour.fault == "no_secret":
            payload = client_secret_response()
            del payload["value"]
            return self._json(payload)
        voice = (session.get("audio") or {}).get("output", {}).get("voice", "alloy")
        secret = f"ek_{next(self._ids):032x}"
        return self._json(client_secret_response(value=secret, voice=voice, model=session.get("model", "")))

    async def calls(self, request):
        refusal = await self._common(request)
        if refusal is not None:
            return refusal
        if request.content_type == "multipart/form-data":
            parts = {}
            reader = await request.multipart()
            async for part in reader:
                parts[part.name] = await part.text()
            if "sdp" not in parts:
                return self._error(400, "Missing required parameter: 'sdp'.", "missing_required_parameter", param="sdp")
            offer = parts["sdp"]
            try:
                session = json.loads(parts.get("session", "{}"))
            except ValueError:
                return self._error(400, "Invalid 'session': not JSON.", "invalid_value", param="session")
            if session and session.get("type") != "realtime":
                return self._error(400, "Missing required parameter: 'session.type'.", "missing_required_parameter",
                                   param="session.type")
        elif request.content_type == "application/sdp":
            offer = await request.text()
        else:
            return self._error(400, "Unsupported content type.", "invalid_value")
        if not offer.startswith("v=0"):
            return self._error(400, "Invalid SDP offer.", "invalid_offer", param="sdp")
        if self.behaviour.fault in ("not_json", "no_secret"):
            return web.Response(status=201, text="<html>not an answer</html>", content_type="text/html",
                                headers=self._headers())
        call_id = f"rtc_{next(self._ids):024x}"
        headers = self._headers()
        headers["Location"] = f"/v1/realtime/calls/{call_id}"
        return web.Response(status=201, text=ANSWER_SDP, content_type="application/sdp", headers=headers)

    async def chatkit_sessions(self, request):
        refusal = await self._common(request)
        if refusal is not None:
            return refusal
        if request.headers.get("OpenAI-Beta") != "chatkit_beta=v1":
            return self._error(400, "ChatKit requires the header OpenAI-Beta: chatkit_beta=v1.", "invalid_beta")
        try:
            body = await request.json()
        except ValueError:
            return self._error(400, "We could not parse the JSON body of your request.", None)
        workflow = body.get("workflow") if isinstance(body, dict) else None
        if not isinstance(workflow, dict) or not workflow.get("id"):
            return self._error(400, "Missing required parameter: 'workflow'.", "missing_required_parameter",
                               param="workflow")
        if not body.get("user"):
            return self._error(400, "Missing required parameter: 'user'.", "missing_required_parameter", param="user")
        if self.behaviour.fault == "no_secret":
            payload = chatkit_session_response()
            del payload["client_secret"]
            return self._json(payload)
        return self._json(chatkit_session_response(secret=f"cks_{next(self._ids):032x}", workflow_id=workflow["id"],
                                                   user=body["user"]))

    async def responses(self, request):
        """A streamed Responses API answer in OpenAI's event order; the first delta comes after latency_ms."""
        self.stats.count(request)
        body = await request.json()
        response_id, message_id = f"resp_{next(self._ids):032x}", f"msg_{next(self._ids):032x}"
        stream = web.StreamResponse(headers={"Content-Type": "text/event-stream", **self._headers()})
        await stream.prepare(request)
        sequence = itertools.count()
        where = {"item_id": message_id, "output_index": 0, "content_index": 0}
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        words = [f"word{index} " for index in range(self.behaviour.deltas + 1)]
        text = "".join(words)

        def response(status, output=(), usage=None):
            return {"id": response_id, "object": "response", "created_at": 0, "status": status,
                    "model": body.get("model", ""), "output": list(output), "error": None,
                    "incomplete_details": None, "instructions": None, "metadata": {}, "parallel_tool_calls": True,
                    "temperature": 1.0, "top_p": 1.0, "tool_choice": "auto", "tools": [], "usage": usage}

        def message(status, content=()):
            return {"id": message_id, "type": "message", "role": "assistant", "status": status, "content": list(content)}

        async def send(kind, **fields):
            event = {"type": kind, "sequence_number": next(sequence), **fields}
            await stream.write(f"event: {kind}\ndata: {json.dumps(event)}\n\n".encode())

        await send("response.created", response=response("in_progress"))
        await send("response.in_progress", response=response("in_progress"))
        await send("response.output_item.added", output_index=0, item=message("in_progress"))
        await send("response.content_part.added", part=part, **where)
        await asyncio.sleep(self.behaviour.latency_ms / 1000)
        for index, word in enumerate(words):
            if index:
                await asyncio.sleep(self.behaviour.delta_ms / 1000)
            await send("response.output_text.delta", delta=word, logprobs=[], **where)
        done_part = {**part, "text": text}
        await send("response.output_text.done", text=text, logprobs=[], **where)
        await send("response.content_part.done", part=done_part, **where)
        await send("response.output_item.done", output_index=0, item=message("completed", [done_part]))
        usage = {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": len(words),
                 "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 10 + len(words)}
        await send("response.completed", response=response("completed", [message("completed", [done_part])], usage))
        await stream.write_eof()
        return stream

    async def set_behaviour(self, request):
        self.behaviour = Behaviour(**await request.json())
        return web.json_response({"ok": True})

    # --- shared ----------------------------------------------------------------------------------

    async def _common(self, request):
        """Latency and the faults every endpoint shares; None means: answer normally."""
        self.stats.count(request)
        behaviour = self.behaviour
        if behaviour.latency_ms:
            await asyncio.sleep(behaviour.latency_ms / 1000)
        if behaviour.fault == "hang":
            await asyncio.sleep(behaviour.hang_seconds)
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return self._error(401, "You didn't provide an API key.", None, status_type="invalid_request_error")
        if behaviour.fault == "status":
            return self._status_fault(behaviour)
        if behaviour.fault == "reset":
            return await self._reset_mid_response(request)
        if behaviour.fault == "not_json":
            return web.Response(text="<html><body>502 Bad Gateway</body></html>", content_type="text/html",
                                headers=self._headers())
        if behaviour.fault == "oversized":
            return web.Response(body=b'{"value": "' + b"x" * OVERSIZED_BYTES + b'"}', content_type="application/json",
                                headers=self._headers())
        return None

    def _status_fault(self, behaviour):
        status = behaviour.status
        if status == 401:
            return self._error(401, "Incorrect API key provided: sk-test-***. You can find your API key at "
                                    "https://platform.openai.com/account/api-keys.", "invalid_api_key")
        if status == 429:
            response = self._error(429, "Rate limit reached for requests per min (RPM): Limit 10, Used 10.",
                                   "rate_limit_exceeded", status_type="requests")
        else:
            response = self._error(status, "The server had an error while processing your request. Sorry about that!",
                                   None, status_type="server_error")
        if behaviour.retry_after is not None:
            response.headers["Retry-After"] = behaviour.retry_after
        return response

    async def _reset_mid_response(self, request):
        """Starts a 200 with a promised length, sends part of it, then resets the connection (RST, not FIN)."""
        response = web.StreamResponse(status=200, headers={**self._headers(), "Content-Type": "application/json",
                                                          "Content-Length": "4096"})
        await response.prepare(request)
        await response.write(b'{"value": "ek_partial')
        transport = request.transport
        sock = transport.get_extra_info("socket") if transport else None
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        if transport is not None:
            transport.abort()
        return response

    def _headers(self):
        return {"x-request-id": f"req_{next(self._ids):032x}"}

    def _json(self, payload, status=200):
        return web.Response(status=status, text=json.dumps(payload), content_type="application/json",
                            headers=self._headers())

    def _error(self, status, message, code, *, param=None, status_type="invalid_request_error"):
        return self._json(openai_error(message, code=code, type_=status_type, param=param), status=status)


class StandIn:
    """Runs the stand-in on a background thread on 127.0.0.1 and a free port; use as a context manager."""

    def __init__(self, behaviour=None):
        self.upstream = StandInUpstream(behaviour)
        self._loop = BackgroundLoop(name="standin-upstream")
        self._runner = None
        self.port = None

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def behaviour(self):
        return self.upstream.behaviour

    @behaviour.setter
    def behaviour(self, value):
        self.upstream.behaviour = value

    @property
    def stats(self):
        return self.upstream.stats

    async def _start(self):
        runner = web.AppRunner(self.upstream.app, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, site._server.sockets[0].getsockname()[1]

    def __enter__(self):
        try:
            self._runner, self.port = self._loop.run(self._start(), timeout=30)
        except TimeoutError:
            self._loop.stop()
            raise RuntimeError("the stand-in upstream did not start within 30 s") from None
        return self

    def __exit__(self, *exc):
        self._loop.run(self._runner.cleanup(), timeout=30)
        self._loop.stop(timeout=30)


def closed_port():
    """A port on 127.0.0.1 that nothing listens on (connection refused): free a moment ago, and nobody started
    anything there."""
    return free_port()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency-ms", type=float, default=100.0, help="fixed delay before every answer")
    parser.add_argument("--fault", choices=FAULTS, default="none")
    parser.add_argument("--deltas", type=int, default=20, help="text deltas after the first, for /v1/responses")
    parser.add_argument("--delta-ms", type=float, default=10.0, help="time between /v1/responses text deltas")
    parser.add_argument("--backlog", type=int, default=4096)
    parser.add_argument("--tls-cert", help="serve HTTPS with this certificate (and --tls-key), like the real API")
    parser.add_argument("--tls-key")
    args = parser.parse_args()
    tls = None
    if args.tls_cert:
        import ssl

        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    upstream = StandInUpstream(Behaviour(latency_ms=args.latency_ms, fault=args.fault, deltas=args.deltas,
                                          delta_ms=args.delta_ms))
    print(f"stand-in upstream on http://{args.host}:{args.port}/v1 (latency {args.latency_ms:g} ms)", flush=True)
    web.run_app(upstream.app, host=args.host, port=args.port, access_log=None, print=None, backlog=args.backlog,
                shutdown_timeout=0.5, ssl_context=tls)


if __name__ == "__main__":
    main()
