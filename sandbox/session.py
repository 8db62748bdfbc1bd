"""The sandbox's model of a Realtime session: OpenAI-style ids, the effective session object, and request checks."""

import copy
import secrets
import string

from core.openai_catalog import (
    DEFAULT_REALTIME_MODEL,
    REALTIME_VOICES,
    served_realtime_model,
)
from sandbox.openai_spec import check

_ID_ALPHABET = string.ascii_letters + string.digits
DEFAULT_INSTRUCTIONS = (
    "You are the Voice console's local sandbox. You are not a language model: you answer every turn with a "
    "tone or synthetic speech and a fixed transcript."
)
# What OpenAI fills in when a session.update switches turn detection to another type.
TURN_DETECTION_DEFAULTS = {
    "server_vad": {
        "type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 500,
        "idle_timeout_ms": None, "create_response": True, "interrupt_response": True,
    },
    "semantic_vad": {"type": "semantic_vad", "eagerness": "auto", "create_response": True, "interrupt_response": True},
}


_LEFT_OUT_WHEN_OFF = ("transcription", "noise_reduction", "include")


def new_id(prefix, length=21):
    """An id shaped like OpenAI's, e.g. event_C9CiUVUzUzYIssh3ELY1d."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def default_session(model=DEFAULT_REALTIME_MODEL):
    """The full session OpenAI reports when nothing was asked for (shape of RealtimeSessionCreateResponseGA).

    Fields that are off are left out rather than null (OpenAI sends null for transcription, noise_reduction and
    include, but its published schema does not allow it, and clients must cope with both).
    """
    pcm = {"type": "audio/pcm", "rate": 24000}
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": new_id("sess_"),
        "model": model,
        "output_modalities": ["audio"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "expires_at": 0,
        "audio": {
            "input": {
                "format": dict(pcm),
                "turn_detection": dict(TURN_DETECTION_DEFAULTS["server_vad"]),
            },
            "output": {"format": dict(pcm), "voice": "alloy", "speed": 1.0},
        },
    }


def apply_session_fields(session, requested):
    """Returns a copy of `session` with the requested fields applied, the way session.update merges them."""
    merged = copy.deepcopy(session)
    _merge(merged, copy.deepcopy(requested), path=())
    return merged


def _merge(target, changes, path):
    for key, value in changes.items():
        here = (*path, key)
        if value is None and key in _LEFT_OUT_WHEN_OFF:
            target.pop(key, None)
        elif here == ("audio", "input", "turn_detection") and isinstance(value, dict):
            # A new type replaces the old settings; unspecified ones take that type's defaults.
            value = {**TURN_DETECTION_DEFAULTS.get(value.get("type"), {}), **value}
            target[key] = value
        elif isinstance(value, dict) and isinstance(target.get(key), dict) and here[:1] == ("audio",):
            _merge(target[key], value, here)
        else:
            target[key] = value


def request_violation(schema_name, body, prefix=""):
    """The one error OpenAI would answer for this body, as (code, param, message), or None when it is accepted.

    The published schema lists the text-to-speech voices too, so they are refused here by name, as the live
    API does. `prefix` names where the body sits in the request (e.g. "session." for a multipart part).
    """
    voice = _voice_of(body, prefix)
    if isinstance(voice, str) and voice not in REALTIME_VOICES:
        supported = ", ".join(f"'{name}'" for name in REALTIME_VOICES[:-1]) + f", and '{REALTIME_VOICES[-1]}'"
        return ("invalid_value", "session.audio.output.voice",
                f"Invalid value: '{voice}'. Supported values are: {supported}.")
    violations = check(schema_name, body)
    if not violations:
        return None
    first = violations[0]
    param = f"{prefix}{first.param}" if first.param else prefix.rstrip(".")
    required = " is a required property"
    if first.code == "invalid_value" and required in first.message:
        missing = first.message.split("': ", 1)[-1].split(required)[0].strip("'")
        param = f"{param}.{missing}" if param else missing
        return ("missing_required_parameter", param, f"Missing required parameter: '{param}'.")
    if first.code == "unknown_parameter":
        return ("unknown_parameter", param, f"Unknown parameter: '{param}'.")
    detail = first.message.split("': ", 1)[-1]
    return ("invalid_value", param, f"Invalid value for '{param or 'body'}': {detail}.")


def _voice_of(body, prefix):
    session = body if prefix else body.get("session") if isinstance(body, dict) else None
    if isinstance(body, dict) and body.get("type") == "session.update":
        session = body.get("session")
    try:
        return session["audio"]["output"]["voice"]
    except (KeyError, TypeError):
        return None


def model_refusal(model, today, param="session.model"):
    """OpenAI's 404 for a model Realtime does not serve on `today` (retired, unknown, or not a realtime model), or
    None."""
    if not isinstance(model, str) or served_realtime_model(model, today):
        return None
    return ("model_not_found", param, f"The model `{model}` does not exist or you do not have access to it.")
