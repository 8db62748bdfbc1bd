"""The GA Realtime session object this console asks for, and the overrides an admin may add to it."""

from core.body_schema import BodySchema
from core.env import ConfigError
from core.errors import bad_request
from core.openai_catalog import MAX_INSTRUCTIONS_CHARS, realtime_voice_problem

# {"prepare": true} is not an override: it marks a secret the voice page mints ahead of the Start click (docs/api.md).
SESSION_REQUEST = BodySchema({
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "prepare": {"type": ["boolean", "null"], "message": "prepare must be true or false."},
        "voice": {"type": ["string", "null"], "message": 'voice must be a string such as "marin".'},
        "instructions": {"type": ["string", "null"], "maxLength": MAX_INSTRUCTIONS_CHARS, "message": {
            "type": "instructions must be a string.",
            "maxLength": f"instructions are {{length}} characters; at most {MAX_INSTRUCTIONS_CHARS:,} are allowed.",
        }},
    },
    "message": {
        "type": 'The body must be a JSON object such as {"voice": "marin"}.',
        "additionalProperties": "Unknown field '{field}': a session request may carry only voice, instructions and prepare.",
    },
})


def realtime_session_config(settings, *, voice=None, instructions=None, tools=None):
    """The GA session object for a client secret or a relayed call (never a `workflow`: Realtime rejects it).

    `tools`: the agent's Realtime function tools (AgentTools.function_tools(): name, description and parameters
    only, never a URL or header, so no credential reaches the browser); the page runs each call the model makes
    through POST /api/v1/realtime/tool-calls."""
    session = {
        "type": "realtime",
        "model": settings.realtime.model,
        "output_modalities": list(settings.realtime.output_modalities),
        "audio": {"output": {"voice": voice or settings.realtime.voice}},
    }
    chosen_instructions = settings.realtime.instructions if instructions is None else instructions
    if chosen_instructions:
        session["instructions"] = chosen_instructions
    if tools:
        session["tools"] = [dict(tool) for tool in tools]
        session["tool_choice"] = "auto"
    if settings.realtime.transcription_model:
        session["audio"]["input"] = {"transcription": {"model": settings.realtime.transcription_model}}
    return session


def parse_session_overrides(body):
    """The admin's optional voice/instructions overrides, checked by the same rules as the configuration."""
    if body is None:
        return {}
    SESSION_REQUEST.check(body)
    overrides = {}
    if body.get("voice") is not None:
        voice = body["voice"].strip().lower()
        problem = realtime_voice_problem(voice)
        if problem:
            raise bad_request(str(ConfigError("voice", voice, problem)))
        overrides["voice"] = voice
    if body.get("instructions") is not None:
        overrides["instructions"] = body["instructions"]
    return overrides


def is_prepare_request(body):
    """True for {"prepare": true}: a secret minted before the admin's click, which may never be used.
    Call after parse_session_overrides has checked the body."""
    return isinstance(body, dict) and body.get("prepare") is True
