"""Every fact about OpenAI that the app and the sandbox rely on: endpoints, models and their dates, voices, limits,
prices and ChatKit's CDN, each defined once (as OpenAI's API reference and deprecations page give them)."""

import re
from datetime import timedelta

DEFAULT_BASE_URL = "https://api.openai.com/v1"

DEFAULT_REALTIME_MODEL = "gpt-realtime-2.1"
DEFAULT_TRANSCRIPTION_MODEL = "gpt-4o-mini-transcribe"

# Voices the Realtime API accepts (marin and cedar are the recommended ones).
REALTIME_VOICES = ("alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar")

# Voices of the text-to-speech endpoint that Realtime rejects with 400 invalid_value.
TTS_ONLY_VOICES = ("fable", "onyx", "nova")


def realtime_voice_problem(voice):
    """Why Realtime would refuse `voice`, in words, or None when it accepts it."""
    if voice in TTS_ONLY_VOICES:
        return (f"'{voice}' is a text-to-speech voice that Realtime does not offer; "
                f"use one of the realtime voices: {', '.join(REALTIME_VOICES)}")
    if voice not in REALTIME_VOICES:
        return f"use one of the realtime voices: {', '.join(REALTIME_VOICES)}"
    return None

CURRENT_REALTIME_MODELS = (DEFAULT_REALTIME_MODEL, "gpt-realtime-2.1-mini", "gpt-realtime-2", "gpt-realtime-1.5")

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
MAX_SESSION = timedelta(minutes=MAX_SESSION_MINUTES)

# Longest `instructions` this console sends (session config, overrides, settings form, transcripts).
MAX_INSTRUCTIONS_CHARS = 10_000

# What client_secrets accepts for expires_after.seconds.
SECRET_TTL_RANGE = (10, 7200)

# List prices per Realtime model, USD per million tokens, each with the OpenAI page it comes from and the day this
# catalog read it there. The models pages were read from stored copies (these machines cannot reach openai.com).
# gpt-realtime and gpt-realtime-mini keep the figures this catalog has carried since the day each was published
# (OpenAI's pricing page; no stored copy was found to read again on 2026-12-03, but the gpt-realtime-2.1-mini
# page's comparison still lists gpt-realtime-mini at the same $0.60 text input). The voice page's
# estimate has one cached-input rate: the cached *audio* rate, as audio dominates a voice session's input (the
# minis cache text at $0.06). A model not listed here, such as a new family, is "not priced" on the voice page
# until it is added; REALTIME_PRICE_* override any of these.
MODELS_PAGE = "https://developers.openai.com/api/docs/models/"
PRICING_PAGE = "https://developers.openai.com/api/docs/pricing"
REALTIME_PRICES = {
    "gpt-realtime-2.1": {"page": MODELS_PAGE + "gpt-realtime-2.1", "read_on": "2026-12-03", "prices": {
        "audioIn": 32.0, "cachedIn": 0.40, "audioOut": 64.0, "textIn": 4.0, "textOut": 24.0}},
    "gpt-realtime-2.1-mini": {"page": MODELS_PAGE + "gpt-realtime-2.1-mini", "read_on": "2026-12-03", "prices": {
        "audioIn": 10.0, "cachedIn": 0.30, "audioOut": 20.0, "textIn": 0.60, "textOut": 2.40}},
    "gpt-realtime-2": {"page": MODELS_PAGE + "gpt-realtime-2", "read_on": "2026-12-03", "prices": {
        "audioIn": 32.0, "cachedIn": 0.40, "audioOut": 64.0, "textIn": 4.0, "textOut": 24.0}},
    "gpt-realtime-1.5": {"page": MODELS_PAGE + "gpt-realtime-1.5", "read_on": "2026-12-03", "prices": {
        "audioIn": 32.0, "cachedIn": 0.40, "audioOut": 64.0, "textIn": 4.0, "textOut": 16.0}},
    "gpt-realtime": {"page": PRICING_PAGE, "read_on": "2025-08-28", "prices": {
        "audioIn": 32.0, "cachedIn": 0.40, "audioOut": 64.0, "textIn": 4.0, "textOut": 16.0}},
    "gpt-realtime-mini": {"page": PRICING_PAGE, "read_on": "2025-10-06", "prices": {
        "audioIn": 10.0, "cachedIn": 0.30, "audioOut": 20.0, "textIn": 0.60, "textOut": 2.40}},
}


def _priced_model_of(model):
    """The REALTIME_PRICES entry `model` is (itself or one of its dated snapshots), or None."""
    for name in REALTIME_PRICES:
        if model == name or (model.startswith(name) and _SNAPSHOT_SUFFIX.fullmatch(model[len(name):])):
            return name
    return None


def realtime_prices(model):
    """USD per million tokens for `model` (keys as the voice page's data-prices), or {} when it is not priced."""
    name = _priced_model_of(model)
    return dict(REALTIME_PRICES[name]["prices"]) if name else {}


def realtime_price_source(model):
    """{"model", "page", "read_on"}: where `model`'s list prices come from, or None when it is not priced."""
    name = _priced_model_of(model)
    if name is None:
        return None
    return {"model": name, "page": REALTIME_PRICES[name]["page"], "read_on": REALTIME_PRICES[name]["read_on"]}


_SNAPSHOT_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2}")


def retirement_of(model):
    """(shutdown date, replacement) when the model is shut down, else None."""
    # Every gpt-4o-*realtime-preview* name is retired, whatever its suffix.
    for prefix, shutdown, replacement in RETIRED_REALTIME_MODELS:
        if model.startswith(prefix):
            return shutdown, replacement
    return None


def served_realtime_model(model, today):
    """True when Realtime serves `model` on `today` (YYYY-MM-DD): a current model, a deprecated one before its
    shutdown day, or one of their dated snapshots."""
    deprecation = deprecation_of(model)
    if deprecation:
        return today < deprecation[0]
    return any(model == name or (model.startswith(name) and _SNAPSHOT_SUFFIX.fullmatch(model[len(name):]))
               for name in CURRENT_REALTIME_MODELS)


# Models that transcribe a Realtime session's input audio (audio.input.transcription.model in OpenAI's schema).
TRANSCRIPTION_MODELS = ("gpt-4o-mini-transcribe", "gpt-4o-transcribe", "whisper-1", "gpt-transcribe",
                        "gpt-live-transcribe", "gpt-4o-transcribe-diarize", "gpt-realtime-whisper")


# How a transcription model takes the agent file's vocabulary (AudioTranscription in OpenAI's schema): "prompt", free
# text (gpt-4o-transcribe models); "keyword_prompt", a prompt that is a list of keywords (whisper-1); "keywords", a
# list (gpt-transcribe, gpt-live-transcribe); None, not at all (gpt-4o-transcribe-diarize and gpt-realtime-whisper
# take no prompt in GA Realtime sessions).
TRANSCRIPTION_VOCABULARY = {
    "gpt-4o-mini-transcribe": "prompt", "gpt-4o-transcribe": "prompt", "whisper-1": "keyword_prompt",
    "gpt-transcribe": "keywords", "gpt-live-transcribe": "keywords",
    "gpt-4o-transcribe-diarize": None, "gpt-realtime-whisper": None,
}


def transcription_vocabulary_field(model):
    """How `model` (or its dated snapshot) takes a vocabulary: "prompt", "keyword_prompt", "keywords" or None."""
    for name in TRANSCRIPTION_VOCABULARY:
        if model == name or (model.startswith(name) and _SNAPSHOT_SUFFIX.fullmatch(model[len(name):])):
            return TRANSCRIPTION_VOCABULARY[name]
    return None


# Turn detection (audio.input.turn_detection.type): semantic_vad, the Agents SDKs' default, ends a turn when the
# words sound finished; server_vad after a fixed pause. Eagerness is semantic_vad's only knob ("auto" = "medium").
TURN_DETECTION_TYPES = ("semantic_vad", "server_vad")
VAD_EAGERNESS = ("auto", "low", "medium", "high")
# audio.input.noise_reduction.type: near_field for headsets and close microphones, far_field for laptop and room
# microphones; OpenAI's voice agent guide recommends turning it on.
NOISE_REDUCTION_TYPES = ("near_field", "far_field")


def transcription_model_problem(model):
    """Why Realtime would not transcribe with `model`, in words, or None (a listed model or its dated snapshot)."""
    for name in TRANSCRIPTION_MODELS:
        if model == name or (model.startswith(name) and _SNAPSHOT_SUFFIX.fullmatch(model[len(name):])):
            return None
    return f"not a transcription model; use one of {', '.join(TRANSCRIPTION_MODELS)} (or a dated snapshot of one)"


def realtime_model_problem(model, today):
    """Why OPENAI_REALTIME_MODEL cannot be `model` on `today` (YYYY-MM-DD), in words, or None. Unknown names with
    "realtime" pass (new models appear before this catalog knows them); the sandbox is stricter and refuses them as
    OpenAI would. A deprecated model passes until its shutdown day (start-up warns: realtime_model_warning)."""
    retired = retirement_of(model)
    deprecated = deprecation_of(model)
    if not retired and deprecated and deprecated[0] <= today:
        retired = deprecated
    if retired:
        return (f"this model was shut down on {retired[0]}; use {retired[1]} "
                f"(current models: {', '.join(CURRENT_REALTIME_MODELS)})")
    if "realtime" not in model and not served_realtime_model(model, today):
        return (f"not a Realtime model (the Realtime API only runs realtime models); "
                f"use one of {', '.join(CURRENT_REALTIME_MODELS)}")
    return None


def realtime_model_warning(model, today):
    """The start-up warning for a model that is still served on `today` but has a shutdown day, or None."""
    deprecated = deprecation_of(model)
    if deprecated is None or deprecated[0] <= today:
        return None
    return f"OPENAI_REALTIME_MODEL={model} shuts down on {deprecated[0]}; move to {deprecated[1]}"


def deprecation_of(model):
    """(shutdown date, replacement) when the model is still served but scheduled to shut down, else None."""
    for name, shutdown, replacement in DEPRECATED_REALTIME_MODELS:
        # The name itself or one of its dated snapshots, but not a newer family such as gpt-realtime-2.1.
        if model == name or (model.startswith(name) and _SNAPSHOT_SUFFIX.fullmatch(model[len(name):])):
            return shutdown, replacement
    return None


# --- Chat (self-hosted ChatKit, Agents SDK over the Responses API) -------------------------------------------

# The ChatKit widget's script is served from OpenAI's CDN (the content security policy allows that host).
CHATKIT_CDN = "https://cdn.platform.openai.com"
DEFAULT_CHATKIT_SCRIPT_URL = f"{CHATKIT_CDN}/deployments/chatkit/chatkit.js"

# Agent Builder, which runs hosted ChatKit workflows (wf_...), and stored prompts shut down on this day.
AGENT_BUILDER_SHUTDOWN = "2026-11-30"


# The Agents SDK's own default (openai-agents 0.24), a current Responses model.
DEFAULT_CHAT_MODEL = "gpt-5.6-luna"

# Chat models on OpenAI's deprecations page (as of 2026-11): name -> (shutdown date, replacement). A name
# matches itself and its dated snapshots only, so "gpt-4" does not catch "gpt-4o" nor "gpt-5" "gpt-5.5".
# Shut-down and merely deprecated models are both refused: a new deployment should not start on either.
DEPRECATED_CHAT_MODELS = (
    ("gpt-4.5-preview", "2025-07-14", "gpt-5.5"),
    ("o1-preview", "2025-07-28", "gpt-5.5"),
    ("o1-mini", "2025-10-27", "gpt-5.5"),
    ("codex-mini-latest", "2026-01-16", "gpt-5.5"),
    ("chatgpt-4o-latest", "2026-02-17", "gpt-5.5"),
    ("gpt-5-chat-latest", "2026-07-23", "gpt-5.5"),
    ("gpt-5.1-chat-latest", "2026-07-23", "gpt-5.5"),
    ("gpt-5.2-chat-latest", "2026-08-10", "gpt-5.5"),
    ("gpt-5.3-chat-latest", "2026-08-10", "gpt-5.5"),
    ("gpt-3.5-turbo", "2026-10-23", DEFAULT_CHAT_MODEL),
    ("gpt-4", "2026-10-23", DEFAULT_CHAT_MODEL),
    ("gpt-4-turbo", "2026-10-23", DEFAULT_CHAT_MODEL),
    ("gpt-4.1-nano", "2026-10-23", DEFAULT_CHAT_MODEL),
    ("o1", "2026-10-23", DEFAULT_CHAT_MODEL),
    ("o1-pro", "2026-10-23", DEFAULT_CHAT_MODEL),
    ("o3-mini", "2026-10-23", DEFAULT_CHAT_MODEL),
    ("o4-mini", "2026-10-23", DEFAULT_CHAT_MODEL),
    ("gpt-5", "2026-12-11", DEFAULT_CHAT_MODEL),
    ("gpt-5-mini", "2026-12-11", DEFAULT_CHAT_MODEL),
    ("gpt-5-nano", "2026-12-11", DEFAULT_CHAT_MODEL),
    ("o3", "2026-12-11", DEFAULT_CHAT_MODEL),
    ("gpt-4o", "2027-01-14", DEFAULT_CHAT_MODEL),
    ("gpt-4o-mini", "2027-01-14", DEFAULT_CHAT_MODEL),
    ("gpt-4.1", "2027-01-14", DEFAULT_CHAT_MODEL),
    ("gpt-4.1-mini", "2027-01-14", DEFAULT_CHAT_MODEL),
    ("gpt-5.1", "2027-04-01", DEFAULT_CHAT_MODEL),
)


_CHAT_SNAPSHOT_SUFFIX = re.compile(r"-\d{4}(-\d{2}-\d{2})?(-preview)?")  # -2024-08-06, -0613, -1106-preview


def chat_model_problem(model, today):
    """Why `model` cannot answer a ChatKit thread through the Responses API on `today` (YYYY-MM-DD), or None."""
    for name, shutdown, replacement in DEPRECATED_CHAT_MODELS:
        if model == name or (model.startswith(name) and _CHAT_SNAPSHOT_SUFFIX.fullmatch(model[len(name):])):
            when = f"was shut down on {shutdown}" if shutdown <= today else f"shuts down on {shutdown}"
            return f"this model {when} (OpenAI's deprecations page); use {replacement}"
    if retirement_of(model) or deprecation_of(model) or "realtime" in model or "transcribe" in model or "tts" in model:
        return f"a speech model cannot answer text chat; use a text model such as {DEFAULT_CHAT_MODEL}"
    return None


def catalog_dates():
    """Every day in this catalog on which something changes (a shutdown), sorted: tests walk each one."""
    days = {AGENT_BUILDER_SHUTDOWN}
    days.update(day for _, day, _ in RETIRED_REALTIME_MODELS + DEPRECATED_REALTIME_MODELS + DEPRECATED_CHAT_MODELS)
    return sorted(days)
