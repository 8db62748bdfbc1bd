"""Reads and validates the app's configuration from the environment, once, at start-up."""

import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlparse

from openai_catalog import (
    CURRENT_REALTIME_MODELS,
    OUTPUT_MODALITIES,
    REALTIME_VOICES,
    TTS_ONLY_VOICES,
    deprecation_of,
    retirement_of,
)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_REALTIME_MODEL = "gpt-realtime-2.1"
DEFAULT_TRANSCRIPTION_MODEL = "gpt-4o-mini-transcribe"
CONNECT_MODES = ("ephemeral", "relay")
SECRET_TTL_RANGE = (10, 7200)  # what OpenAI accepts for expires_after.seconds
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_RATE_LIMIT = re.compile(r"^\s*\d+\s*(/|per)\s*(\d+\s*)?(second|minute|hour|day|month|year)s?\s*$", re.IGNORECASE)


class ConfigError(ValueError):
    """A setting that stops start-up; its message is one line naming the variable, the value and what is allowed."""

    def __init__(self, variable, value, allowed):
        self.variable = variable
        shown = "(empty)" if value == "" else repr(value)
        super().__init__(f"{variable}={shown} is not allowed: {allowed}")


@dataclass(frozen=True)
class Settings:
    openai_api_key: str | None
    openai_base_url: str
    openai_timeout_seconds: float
    openai_connect_timeout_seconds: float
    chatkit_agent_id: str | None
    realtime_model: str
    realtime_voice: str
    realtime_output_modalities: tuple
    realtime_instructions: str | None
    realtime_transcription_model: str | None
    realtime_connect: str
    realtime_secret_ttl_seconds: int
    ice_servers: tuple
    secret_key: str | None
    admin_users_file: str
    force_https: bool
    mint_rate_limit: str
    login_rate_limit: str
    ratelimit_storage_uri: str
    database_url: str | None
    sandbox: bool
    debug: bool
    warnings: tuple = field(default=())

    @property
    def realtime_calls_url(self):
        return f"{self.openai_base_url}/realtime/calls"

    def missing_for_voice(self):
        """The variables voice needs that are not set, as (variable, why) pairs."""
        return [("OPENAI_API_KEY", "the server needs it to mint Realtime secrets")] if not self.openai_api_key else []

    def missing_for_chat(self):
        missing = []
        if not self.openai_api_key:
            missing.append(("OPENAI_API_KEY", "the server needs it to create ChatKit sessions"))
        if not self.chatkit_agent_id:
            missing.append(("CHATKIT_AGENT_ID", "the ChatKit workflow id (wf_...) from Agent Builder"))
        return missing


def _text(environ, name, default=None):
    value = environ.get(name)
    if value is None:
        return default
    value = value.strip()
    return value if value else default


def _flag(environ, name, default):
    value = _text(environ, name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ConfigError(name, value, "use 1 or 0 (true/false, yes/no, on/off)")


def _number(environ, name, default, low, high, kind=float):
    value = _text(environ, name)
    if value is None:
        return default
    try:
        number = kind(value)
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise ConfigError(name, value, f"a {'whole ' if kind is int else ''}number from {low} to {high}")
    return number


def check_realtime_voice(voice, variable="OPENAI_REALTIME_VOICE"):
    """Returns the voice, or raises ConfigError saying why Realtime would refuse it."""
    if voice in TTS_ONLY_VOICES:
        raise ConfigError(
            variable,
            voice,
            f"'{voice}' is a text-to-speech voice that Realtime does not offer; "
            f"use one of the realtime voices: {', '.join(REALTIME_VOICES)}",
        )
    if voice not in REALTIME_VOICES:
        raise ConfigError(variable, voice, f"use one of the realtime voices: {', '.join(REALTIME_VOICES)}")
    return voice


def _realtime_model(environ):
    model = _text(environ, "OPENAI_REALTIME_MODEL", DEFAULT_REALTIME_MODEL)
    retired = retirement_of(model)
    if retired:
        shutdown, replacement = retired
        raise ConfigError(
            "OPENAI_REALTIME_MODEL",
            model,
            f"this model was shut down on {shutdown}; use {replacement} "
            f"(current models: {', '.join(CURRENT_REALTIME_MODELS)})",
        )
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:-]*", model):
        raise ConfigError("OPENAI_REALTIME_MODEL", model, f"a model name such as {DEFAULT_REALTIME_MODEL}")
    return model


def _output_modalities(environ):
    raw = _text(environ, "OPENAI_REALTIME_MODALITIES", "audio")
    parts = [part.strip().lower() for part in raw.split(",")]
    if not parts or any(part not in OUTPUT_MODALITIES for part in parts):
        raise ConfigError("OPENAI_REALTIME_MODALITIES", raw, "a comma list of text and audio, e.g. audio or text")
    # GA accepts one modality: audio always comes with its transcript, so any list with audio means audio.
    return ("audio",) if "audio" in parts else ("text",)


def _base_url(environ):
    raw = _text(environ, "OPENAI_BASE_URL", DEFAULT_BASE_URL)
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query or parsed.fragment:
        raise ConfigError("OPENAI_BASE_URL", raw, "an http(s) URL such as https://api.openai.com/v1")
    return raw.rstrip("/")


def _chatkit_agent_id(environ):
    value = _text(environ, "CHATKIT_AGENT_ID")
    if value is not None and not re.fullmatch(r"wf_[A-Za-z0-9_-]+", value):
        raise ConfigError("CHATKIT_AGENT_ID", value, "a ChatKit workflow id that starts with wf_")
    return value


def _ice_servers(environ):
    raw = _text(environ, "ICE_SERVERS", "[]")
    allowed = 'a JSON list of RTCIceServer objects, e.g. [{"urls": "stun:stun.example.org:3478"}]'
    try:
        servers = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigError("ICE_SERVERS", raw, f"{allowed} ({error.msg} at character {error.pos})") from None
    if not isinstance(servers, list):
        raise ConfigError("ICE_SERVERS", raw, allowed)
    for server in servers:
        urls = server.get("urls") if isinstance(server, dict) else None
        url_list = [urls] if isinstance(urls, str) else urls
        if not url_list or not all(isinstance(u, str) and re.match(r"^(stuns?|turns?):", u) for u in url_list):
            raise ConfigError("ICE_SERVERS", raw, f"{allowed}; every entry needs urls starting with stun: or turn:")
    return tuple(servers)


def _rate_limit(environ, name, default):
    value = _text(environ, name, default)
    if not all(_RATE_LIMIT.match(part) for part in value.split(";")):
        raise ConfigError(name, value, "a Flask-Limiter limit such as '20 per minute' or '100/hour'")
    return value


def _database_url(environ):
    value = _text(environ, "DATABASE_URL")
    if value is not None and not re.match(r"^[a-z][a-z0-9+]*://", value):
        raise ConfigError("DATABASE_URL", value, "an SQLAlchemy URL such as postgresql+psycopg://user:pass@host/db")
    return value


def load_settings(environ):
    """Builds Settings from a mapping of environment variables, or raises ConfigError."""
    debug = _flag(environ, "FLASK_DEBUG", False)
    secret_key = _text(environ, "SECRET_KEY")
    if secret_key is None and not debug:
        raise ConfigError(
            "SECRET_KEY",
            "",
            "required outside debug; generate one with: python -c 'import secrets; print(secrets.token_hex(32))'",
        )
    connect = _text(environ, "OPENAI_REALTIME_CONNECT", "ephemeral").lower()
    if connect not in CONNECT_MODES:
        raise ConfigError("OPENAI_REALTIME_CONNECT", connect, "ephemeral or relay")
    storage = _text(environ, "RATELIMIT_STORAGE_URI", "memory://")
    if not re.match(r"^(memory|redis|rediss|redis\+sentinel|redis\+cluster|memcached|mongodb)://", storage):
        raise ConfigError("RATELIMIT_STORAGE_URI", storage, "memory:// or a storage URL such as redis://host:6379")
    transcription = environ.get("OPENAI_REALTIME_TRANSCRIPTION_MODEL")
    model = _realtime_model(environ)
    deprecation = deprecation_of(model)
    warnings = ()
    if deprecation:
        warnings = (f"OPENAI_REALTIME_MODEL={model} shuts down on {deprecation[0]}; move to {deprecation[1]}",)
    instructions = _text(environ, "OPENAI_REALTIME_INSTRUCTIONS")
    if instructions is not None and len(instructions) > 10_000:
        raise ConfigError("OPENAI_REALTIME_INSTRUCTIONS", instructions[:40] + "...", "at most 10,000 characters")
    return Settings(
        openai_api_key=_text(environ, "OPENAI_API_KEY"),
        openai_base_url=_base_url(environ),
        openai_timeout_seconds=_number(environ, "OPENAI_TIMEOUT_SECONDS", 10.0, 0.1, 300),
        openai_connect_timeout_seconds=3.05,
        chatkit_agent_id=_chatkit_agent_id(environ),
        realtime_model=model,
        realtime_voice=check_realtime_voice(_text(environ, "OPENAI_REALTIME_VOICE", "alloy").lower()),
        realtime_output_modalities=_output_modalities(environ),
        realtime_instructions=instructions,
        # Unset means the default model; set but empty means no user transcripts.
        realtime_transcription_model=(
            DEFAULT_TRANSCRIPTION_MODEL if transcription is None else (transcription.strip() or None)
        ),
        realtime_connect=connect,
        realtime_secret_ttl_seconds=_number(environ, "REALTIME_SECRET_TTL_SECONDS", 60, *SECRET_TTL_RANGE, kind=int),
        ice_servers=_ice_servers(environ),
        secret_key=secret_key,
        admin_users_file=_text(environ, "ADMIN_USERS_FILE", "instance/admins.txt"),
        force_https=_flag(environ, "FORCE_HTTPS", not debug),
        mint_rate_limit=_rate_limit(environ, "MINT_RATE_LIMIT", "20 per minute"),
        login_rate_limit=_rate_limit(environ, "LOGIN_RATE_LIMIT", "10 per minute"),
        ratelimit_storage_uri=storage,
        database_url=_database_url(environ),
        sandbox=_flag(environ, "OPENAI_SANDBOX", False),
        debug=debug,
        warnings=warnings,
    )
