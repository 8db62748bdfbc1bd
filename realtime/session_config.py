"""The GA Realtime session object this console asks for, and the overrides an admin may add to it."""

from core.body_schema import BodySchema
from core.env import ConfigError
from core.errors import bad_request
from core.openai_catalog import MAX_INSTRUCTIONS_CHARS, realtime_voice_problem, transcription_vocabulary_field

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
    session["audio"]["input"] = input_audio_config(settings.realtime)
    return session


def input_audio_config(realtime):
    """audio.input: turn detection, noise reduction (null: off) and transcription with the agent file's hints."""
    detection = {"type": realtime.turn_detection}
    if realtime.turn_detection == "semantic_vad":
        detection["eagerness"] = realtime.eagerness
    noise = {"type": realtime.noise_reduction} if realtime.noise_reduction else None
    audio_input = {"turn_detection": detection, "noise_reduction": noise}
    if realtime.transcription_model:
        audio_input["transcription"] = transcription_config(realtime)
    return audio_input


def transcription_config(realtime):
    """audio.input.transcription: the model, and the agent file's language and vocabulary in the form it takes."""
    transcription = {"model": realtime.transcription_model}
    if realtime.transcription_language:
        transcription["language"] = realtime.transcription_language
    names = list(realtime.vocabulary)
    field = transcription_vocabulary_field(realtime.transcription_model) if names else None
    if field == "keywords":
        transcription["keywords"] = names
    elif field == "keyword_prompt":
        transcription["prompt"] = ", ".join(names)
    elif field == "prompt":
        transcription["prompt"] = f"The speaker may say these names; write them exactly like this: {', '.join(names)}."
    return transcription


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
