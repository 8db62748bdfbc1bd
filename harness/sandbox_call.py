"""A WebRTC client of the sandbox for tests: a fake microphone, and the oai-events channel with every server event
checked against OpenAI's schema as it arrives (sandbox/openai_spec.py)."""

import asyncio
import fractions
import json
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from types import SimpleNamespace

import aiohttp
import numpy as np
from aiohttp.test_utils import TestServer
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame

from sandbox.openai_spec import SPEC_PATH, check
from sandbox.server import SANDBOX, create_sandbox_app

KEY = {"Authorization": "Bearer sk-sandbox"}
EVENT_TIMEOUT_S = 5


def _server_event_schemas():
    schemas = json.loads(SPEC_PATH.read_text())["components"]["schemas"]
    by_type = {}
    for name, schema in schemas.items():
        if name.startswith("RealtimeServerEvent") and "type" in schema.get("properties", {}):
            for event_type in schema["properties"]["type"].get("enum", []):
                by_type[event_type] = name
    return by_type


SERVER_EVENT_SCHEMAS = _server_event_schemas()


class Microphone(MediaStreamTrack):
    """A fake microphone: silence, or a loud 300 Hz tone while `speak()` asks for it."""

    kind = "audio"

    def __init__(self):
        super().__init__()
        self._sent = 0
        self._loud_until = 0
        self._start = None

    def speak(self, seconds):
        self._loud_until = self._sent + int(seconds * 48000)

    async def recv(self):
        if self._start is None:
            self._start = time.time()
        else:
            self._sent += 960
            await asyncio.sleep(max(0.0, self._start + self._sent / 48000 - time.time()))
        samples = np.zeros(960, dtype=np.int16)
        if self._sent < self._loud_until:
            t = (np.arange(960) + self._sent) / 48000
            samples = (np.sin(2 * np.pi * 300 * t) * 0.3 * 32767).astype(np.int16)
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 48000, self._sent, fractions.Fraction(1, 48000)
        return frame


class Call:
    """The test's side of a call: events are checked against OpenAI's schema as they arrive."""

    def __init__(self, pc, channel, microphone):
        self.pc, self.channel, self.microphone = pc, channel, microphone
        self.events = asyncio.Queue()
        self.seen = []
        self.loudest_received = 0.0
        channel.on("message", lambda message: self.events.put_nowait(json.loads(message)))

    def send(self, event):
        self.channel.send(json.dumps(event))

    async def next_event(self):
        event = await asyncio.wait_for(self.events.get(), EVENT_TIMEOUT_S)
        assert event["event_id"].startswith("event_")
        schema = SERVER_EVENT_SCHEMAS.get(event["type"])
        assert schema, f"not a GA server event: {event['type']}"
        assert check(schema, event) == [], event
        self.seen.append(event)
        return event

    async def wait_for(self, event_type):
        while True:
            event = await self.next_event()
            if event["type"] == event_type:
                return event

    async def listen(self, track):
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            samples = frame.to_ndarray().astype(np.float32) / 32768
            self.loudest_received = max(self.loudest_received, float(np.sqrt(np.mean(samples * samples))))


@asynccontextmanager
async def connected_call(sandbox, *, relay_session=None, secret=None):
    """Offer -> answer like the browser (posted right after setLocalDescription) and wait for session.created."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    microphone = Microphone()
    pc.addTrack(microphone)
    call = Call(pc, pc.createDataChannel("oai-events"), microphone)
    listeners = []
    pc.on("track", lambda track: listeners.append(asyncio.ensure_future(call.listen(track))))
    try:
        await pc.setLocalDescription(await pc.createOffer())
        async with aiohttp.ClientSession() as http:
            if relay_session is not None:
                form = aiohttp.FormData()
                form.add_field("sdp", pc.localDescription.sdp, content_type="application/sdp")
                form.add_field("session", json.dumps(relay_session), content_type="application/json")
                answer = await http.post(sandbox.base + "/realtime/calls", headers=KEY, data=form)
            else:
                answer = await http.post(sandbox.base + "/realtime/calls", data=pc.localDescription.sdp, headers={
                    "Authorization": f"Bearer {secret}", "Content-Type": "application/sdp"})
            assert answer.status == 201, await answer.text()
            assert answer.content_type == "application/sdp"
            assert answer.headers["Location"].startswith("/v1/realtime/calls/rtc_")
            call.location = answer.headers["Location"]
            await pc.setRemoteDescription(RTCSessionDescription(await answer.text(), "answer"))
        call.session = (await call.wait_for("session.created"))["session"]
        yield call
    finally:
        await pc.close()
        for listener in listeners:
            listener.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)


def user_text(text):
    return {"type": "conversation.item.create",
            "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}}


def run(scenario):
    """Runs a coroutine on a fresh loop in its own thread: immune to a loop another test left running here."""
    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(asyncio.run, asyncio.wait_for(scenario, 15)).result()


@asynccontextmanager
async def serving_sandbox():
    """The sandbox in this event loop, on 127.0.0.1: `.base` (its /v1 URL, for connected_call) and `.state` (the
    Sandbox object: peers, counts, knobs)."""
    app = create_sandbox_app(answer_audio="tone")
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield SimpleNamespace(base=str(server.make_url("/v1")), state=app[SANDBOX])
    finally:
        await server.close()
