"""The sideband of a WebRTC call: the server's own WebSocket to a call it created, as OpenAI serves it for
server-controlled calls (`GET /v1/realtime?call_id=rtc_...` with the API key).

A joined socket receives every server event of the call, as the browser's data channel does, and may send client
events, which the call handles as if they came over the data channel (their answers go to both). Joining sends no
`session.created` (the call already has its session), and the socket closes when the call ends.

An unknown or ended call is what the real API was observed to answer: HTTP 404 `call_id_not_found` ("No session
found for the provided call_id") before the upgrade; hanging one up is a 400 with the same code, which is what
clients that hang up from the server (pydantic-ai-go) treat as "already ended".
"""

import asyncio
import json
import logging

from aiohttp import WSMsgType, web

from sandbox.errors import OpenAIError

log = logging.getLogger(__name__)

NO_SESSION = "No session found for the provided call_id"
MAX_QUEUED_EVENTS = 10_000  # a reader that stops reading is dropped rather than kept in memory


def call_not_found(status=404):
    return OpenAIError(status, NO_SESSION, "call_id_not_found", param="")


class Sideband:
    """One WebSocket joined to a call: events are queued in order and written by one task."""

    def __init__(self, socket):
        self.socket = socket
        self._outbox = asyncio.Queue(MAX_QUEUED_EVENTS)
        self._writer = asyncio.ensure_future(self._write())

    def send(self, event):
        try:
            self._outbox.put_nowait(json.dumps(event))
        except asyncio.QueueFull:
            log.warning("sideband reader fell %d events behind: closing it", MAX_QUEUED_EVENTS)
            self.call_ended()

    def call_ended(self):
        """The call is over (or this reader gave up): the socket closes once what is queued has been written."""
        if self._outbox.full():
            self._writer.cancel()  # its `finally` still closes the socket
        else:
            self._outbox.put_nowait(None)

    async def _write(self):
        try:
            while (text := await self._outbox.get()) is not None:
                await self.socket.send_str(text)
        except (ConnectionResetError, RuntimeError):
            pass  # the server went away first
        finally:
            await self.socket.close()

    async def stopped(self):
        self._writer.cancel()
        await asyncio.gather(self._writer, return_exceptions=True)


def routes(sandbox):
    """The sideband's routes for Sandbox.routes(): [(method, path, handler)]."""

    async def join_call(request):
        sandbox.require_api_key(request)
        call_id = request.query.get("call_id")
        if not call_id:
            raise OpenAIError(400, "The sandbox serves only the sideband of a WebRTC call: connect with "
                                   "?call_id=rtc_... (WebSocket sessions with ?model= are not emulated).",
                              "missing_required_parameter", param="call_id")
        peer = sandbox.peers.get(call_id)
        if peer is None:
            raise call_not_found()
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        sideband = Sideband(socket)
        peer.sidebands.add(sideband)
        sandbox.counts["sideband_joins"] += 1
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    peer._on_message(message.data)  # exactly as if it had come over the data channel
        finally:
            peer.sidebands.discard(sideband)
            await sideband.stopped()
        return socket

    return [("GET", "/v1/realtime", join_call)]
