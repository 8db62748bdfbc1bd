"""OpenAI's official Python SDK talks to the sandbox as it would to api.openai.com: same shapes, same typed errors."""

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from openai import BadRequestError, NotFoundError, OpenAI

ROOT = Path(__file__).resolve().parent.parent

# Every GA session field, with null where OpenAI's docs say null turns a feature off.
FULL_SESSION = {
    "type": "realtime",
    "model": "gpt-realtime-2.1",
    "instructions": "Answer briefly.",
    "output_modalities": ["audio"],
    "max_output_tokens": 1024,
    "tool_choice": "auto",
    "tools": [],
    "tracing": None,
    "truncation": "auto",
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "noise_reduction": None,
            "transcription": None,
            "turn_detection": None,
        },
        "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin", "speed": 1.0},
    },
}


@pytest.fixture(scope="module")
def client():
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", "0",
                                "--loopback-ice", "--answer-audio", "tone"], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("sandbox listening on "), line
        yield OpenAI(base_url=line.split("listening on ", 1)[1].strip(), api_key="sk-sandbox", max_retries=0)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_sdk_mints_a_secret_for_a_full_ga_session_with_its_documented_nulls(client):
    secret = client.realtime.client_secrets.create(session=FULL_SESSION,
                                                   expires_after={"anchor": "created_at", "seconds": 60})
    assert secret.value.startswith("ek_")
    assert secret.session.model == "gpt-realtime-2.1" and secret.session.audio.output.voice == "marin"


async def _browser_like_offer():
    # harness/payloads.py's OFFER_SDP has no ICE credentials (it only feeds mocks); a real peer's offer has them.
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("audio")
    pc.createDataChannel("oai-events")
    await pc.setLocalDescription(await pc.createOffer())
    offer = pc.localDescription.sdp
    await pc.close()
    return offer


def test_the_sdk_relays_an_offer_and_gets_an_answer(client):
    answer = client.realtime.calls.create(sdp=asyncio.run(_browser_like_offer()),
                                          session={"type": "realtime", "model": "gpt-realtime-2.1"})
    assert answer.text.startswith("v=0") and "a=ice-ufrag:" in answer.text


def test_a_text_to_speech_voice_raises_the_sdks_bad_request_error(client):
    with pytest.raises(BadRequestError) as raised:
        client.realtime.client_secrets.create(session={"type": "realtime", "audio": {"output": {"voice": "nova"}}})
    assert raised.value.code == "invalid_value" and raised.value.param == "session.audio.output.voice"


def test_a_retired_model_raises_the_sdks_not_found_error(client):
    with pytest.raises(NotFoundError) as raised:
        client.realtime.client_secrets.create(session={"type": "realtime", "model": "gpt-4o-realtime-preview"})
    assert raised.value.code == "model_not_found" and raised.value.param == "session.model"


@pytest.mark.parametrize("env", [
    {},  # semantic_vad at auto eagerness, near-field noise reduction
    {"OPENAI_REALTIME_TURN_DETECTION": "server_vad", "OPENAI_REALTIME_NOISE_REDUCTION": "off",
     "OPENAI_REALTIME_TRANSCRIPTION_MODEL": "gpt-transcribe"},
    {"OPENAI_REALTIME_VAD_EAGERNESS": "high", "OPENAI_REALTIME_NOISE_REDUCTION": "far_field",
     "OPENAI_REALTIME_TRANSCRIPTION_MODEL": "whisper-1"},
])
def test_the_sdk_mints_and_relays_the_session_this_console_configures(client, tmp_path, env):
    from agent.definition import load_agent_file
    from core.config import load_settings
    from realtime.session_config import realtime_session_config
    from tests.support import TODAY

    agent = tmp_path / "agent.toml"
    agent.write_text('instructions = "Help."\nlanguage = "en"\nvocabulary = ["orders_daily", "events_rollup"]\n')
    environ = {"SECRET_KEY": "k", "AGENT_FILE": str(agent), **env}
    settings = load_settings(environ, today=TODAY, agent=load_agent_file(environ))
    session = realtime_session_config(settings)
    effective = client.realtime.client_secrets.create(session=session).session.to_dict()
    assert effective["audio"]["input"]["turn_detection"]["type"] == settings.realtime.turn_detection
    assert effective["audio"]["input"].get("noise_reduction") == session["audio"]["input"]["noise_reduction"]
    assert effective["audio"]["input"]["transcription"] == session["audio"]["input"]["transcription"]
    answer = client.realtime.calls.create(sdp=asyncio.run(_browser_like_offer()), session=session)
    assert answer.text.startswith("v=0")


@pytest.mark.parametrize("audio_input, param", [
    ({"noise_reduction": {"type": "studio"}}, "session.audio.input.noise_reduction.type"),
    ({"turn_detection": {"type": "semantic_vad", "eagerness": "eager"}}, "session.audio.input.turn_detection"),
])
def test_a_turn_detection_or_noise_reduction_openai_does_not_offer_is_refused(client, audio_input, param):
    with pytest.raises(BadRequestError) as raised:
        client.realtime.client_secrets.create(session={"type": "realtime", "audio": {"input": audio_input}})
    assert raised.value.code == "invalid_value" and raised.value.param.startswith(param)
