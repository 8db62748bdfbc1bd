"""Facts about OpenAI's Realtime API and chat models that the app and the sandbox rely on (see ../shared/openai-api.md)."""

import re

# Voices the Realtime API accepts (marin and cedar are the recommended ones).
REALTIME_VOICES = ("alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar")

# Voices of the text-to-speech endpoint that Realtime rejects with 400 invalid_value.
TTS_ONLY_VOICES = ("fable", "onyx", "nova")

CURRENT_REALTIME_MODELS = ("gpt-realtime-2.1", "gpt-realtime-2.1-mini", "gpt-realtime-2", "gpt-realtime-1.5")

# Model name prefix -> (shutdown date, replacement). Longest prefix first, so the most specific wins.
RETIRED_REALTIME_MODELS = (
    ("gpt-4o-realtime-preview-2024-10-01", "2025-10-10", "gpt-realtime-2.1"),
    ("gpt-4o-mini-realtime-preview", "2026-05-07", "gpt-realtime-2.1-mini"),
    ("gpt-4o-realtime-preview", "2026-05-07", "gpt-realtime-2.1"),
)

# Still served, but with a published shutdown date: start-up warns instead of stopping.
DEPRECATED_REALTIME_MODELS = (
    ("gpt-realtime-mini", "2027-01-20", "gpt-realtime-2.1-mini"),
    ("gpt-realtime", "2027-01-20", "gpt-realtime-2.1"),
)

OUTPUT_MODALITIES = ("text", "audio")

# A session lasts at most this long on OpenAI's side; then it sends an error with code session_expired.
MAX_SESSION_MINUTES = 60

MAX_INSTRUCTIONS_CHARS = 10_000


_SNAPSHOT_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2}")


def retirement_of(model):
    """(shutdown date, replacement) when the model is shut down, else None."""
    # Every gpt-4o-*realtime-preview* name is retired, whatever its suffix.
    for prefix, shutdown, replacement in RETIRED_REALTIME_MODELS:
        if model.startswith(prefix):
            return shutdown, replacement
    return None


def deprecation_of(model):
    """(shutdown date, replacement) when the model is still served but scheduled to shut down, else None."""
    for name, shutdown, replacement in DEPRECATED_REALTIME_MODELS:
        # The name itself or one of its dated snapshots, but not a newer family such as gpt-realtime-2.1.
        if model == name or (model.startswith(name) and _SNAPSHOT_SUFFIX.fullmatch(model[len(name):])):
            return shutdown, replacement
    return None


# --- Chat (self-hosted ChatKit, Agents SDK over the Responses API) -------------------------------------------

# The Agents SDK's own default (openai-agents 0.24), a current Responses model.
DEFAULT_CHAT_MODEL = "gpt-5.6-luna"

# Chat models OpenAI has shut down (deprecations page): name prefix -> (shutdown date, replacement).
RETIRED_CHAT_MODELS = (
    ("gpt-4.5-preview", "2025-07-14", "gpt-5.5"),
    ("o1-preview", "2025-07-28", "gpt-5.5"),
    ("o1-mini", "2025-10-27", "gpt-5.4-mini"),
    ("codex-mini-latest", "2026-01-16", "gpt-5.5"),
    ("chatgpt-4o-latest", "2026-02-17", "gpt-5.3-chat-latest"),
)


def chat_model_problem(model):
    """Why `model` cannot answer a ChatKit thread through the Responses API, or None when it can."""
    for prefix, shutdown, replacement in RETIRED_CHAT_MODELS:
        if model.startswith(prefix):
            return f"this model was shut down on {shutdown}; use {replacement} (default {DEFAULT_CHAT_MODEL})"
    if retirement_of(model) or deprecation_of(model) or "realtime" in model or "transcribe" in model or "tts" in model:
        return f"a speech model cannot answer text chat; use a text model such as {DEFAULT_CHAT_MODEL}"
    return None
