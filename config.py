"""Reads and validates the app's configuration from the environment, once, at start-up."""

import ipaddress
import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlparse

from openai_catalog import (
    CURRENT_REALTIME_MODELS,
    DEFAULT_CHAT_MODEL,
    OUTPUT_MODALITIES,
    REALTIME_VOICES,
    TTS_ONLY_VOICES,
    chat_model_problem,
    deprecation_of,
    retirement_of,
)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_REALTIME_MODEL = "gpt-realtime-2.1"
DEFAULT_TRANSCRIPTION_MODEL = "gpt-4o-mini-transcribe"
CONNECT_MODES = ("ephemeral", "relay")
SECRET_TTL_RANGE = (10, 7200)  # what OpenAI accepts for expires_after.seconds
CHATKIT_MODES = ("hosted", "self-hosted")
DEFAULT_CHATKIT_SCRIPT_URL = "https://cdn.platform.openai.com/deployments/chatkit/chatkit.js"
# gpt-realtime list prices, USD per million tokens (cached input is billed at one rate for text and audio).
DEFAULT_REALTIME_PRICES = {"audioIn": 32.0, "cachedIn": 0.40, "audioOut": 64.0, "textIn": 4.0, "textOut": 16.0}
REALTIME_PRICE_VARIABLES = {
    "audioIn": "REALTIME_PRICE_AUDIO_IN",
    "cachedIn": "REALTIME_PRICE_CACHED_IN",
    "audioOut": "REALTIME_PRICE_AUDIO_OUT",
    "textIn": "REALTIME_PRICE_TEXT_IN",
    "textOut": "REALTIME_PRICE_TEXT_OUT",
}
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
    activity_retention_days: int
    sandbox: bool
    debug: bool
    warnings: tuple = field(default=())
    # Production (deploy/, README "Deployment").
    trusted_proxies: int = 0
    metrics_allow: tuple = ()
    metrics_token: str | None = None
    prometheus_multiproc_dir: str | None = None
    turn_shared_secret: str | None = None
    turn_urls: tuple = ()
    turn_credential_ttl_seconds: int = 3900
    log_format: str = "text"
    voice_max_session_minutes: int = 30
    voice_connect_timeout_seconds: float = 15.0
    # USD per million tokens, for the voice page's cost estimate (keys as the page's data-prices expects).
    realtime_prices: dict = field(default_factory=lambda: dict(DEFAULT_REALTIME_PRICES))
    # Chat (README "Chat"): hosted ChatKit workflow, or our own /chatkit server with the Agents SDK.
    chatkit_mode: str = "self-hosted"
    chatkit_model: str = DEFAULT_CHAT_MODEL
    chatkit_instructions: str | None = None
    chatkit_domain_key: str | None = None
    chatkit_script_url: str = DEFAULT_CHATKIT_SCRIPT_URL

    @property
    def realtime_calls_url(self):
        return f"{self.openai_base_url}/realtime/calls"

    def missing_for_voice(self):
        """The variables voice needs that are not set, as (variable, why) pairs."""
        return [("OPENAI_API_KEY", "the server needs it to mint Realtime secrets")] if not self.openai_api_key else []

    def missing_for_chat(self):
        """The variables chat needs in its CHATKIT_MODE that are not set, as (variable, why) pairs."""
        missing = []
        if self.chatkit_mode == "self-hosted":
            if not self.openai_api_key:
                missing.append(("OPENAI_API_KEY", "the server needs it to call the chat model"))
            return missing
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


def _log_format(environ, debug):
    value = _text(environ, "LOG_FORMAT", "text" if debug else "json").lower()
    if value not in ("json", "text"):
        raise ConfigError("LOG_FORMAT", value, "json (one JSON object per line) or text")
    return value


def _metrics_allow(environ):
    raw = _text(environ, "METRICS_ALLOW", "127.0.0.1,::1")
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip())
    except ValueError as error:
        raise ConfigError("METRICS_ALLOW", raw, f"a comma list of addresses or networks, e.g. 127.0.0.1,10.0.0.0/8 ({error})") from None


def _turn_urls(environ):
    raw = _text(environ, "TURN_URLS", "")
    urls = tuple(part.strip() for part in raw.split(",") if part.strip())
    if not all(re.match(r"^turns?:[^\s]+$", url) for url in urls):
        raise ConfigError("TURN_URLS", raw, "a comma list of turn: or turns: URLs, e.g. turn:turn.example.org:3478?transport=udp")
    return urls


def _turn_secret(environ, urls):
    secret = _text(environ, "TURN_SHARED_SECRET")
    if secret and not urls:
        raise ConfigError("TURN_URLS", "", "set TURN_URLS too when TURN_SHARED_SECRET is set (the browser needs to know where the TURN server is)")
    return secret


def _chatkit_mode(environ, agent_id):
    # Without a workflow there is nothing to host: self-hosted is the only mode that can work.
    mode = (_text(environ, "CHATKIT_MODE") or ("hosted" if agent_id else "self-hosted")).lower()
    if mode not in CHATKIT_MODES:
        raise ConfigError("CHATKIT_MODE", mode, "hosted (an Agent Builder workflow, CHATKIT_AGENT_ID) or self-hosted")
    return mode


def _chatkit_model(environ):
    model = _text(environ, "CHATKIT_MODEL", DEFAULT_CHAT_MODEL)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:-]*", model):
        raise ConfigError("CHATKIT_MODEL", model, f"a model name such as {DEFAULT_CHAT_MODEL}")
    problem = chat_model_problem(model)
    if problem:
        raise ConfigError("CHATKIT_MODEL", model, problem)
    return model


def _chatkit_script_url(environ):
    url = _text(environ, "CHATKIT_SCRIPT_URL", DEFAULT_CHATKIT_SCRIPT_URL)
    parsed = urlparse(url)
    # The CSP (security.py) allows scripts from this site and OpenAI's CDN only.
    on_cdn = parsed.scheme == "https" and parsed.netloc == urlparse(DEFAULT_CHATKIT_SCRIPT_URL).netloc
    if not on_cdn and not (url.startswith("/") and not url.startswith("//")):
        raise ConfigError(
            "CHATKIT_SCRIPT_URL", url,
            f"a URL on {urlparse(DEFAULT_CHATKIT_SCRIPT_URL).netloc} (default {DEFAULT_CHATKIT_SCRIPT_URL}) or a path "
            "on this site such as /static/vendor/chatkit.js (the content security policy allows no other host)",
        )
    return url


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
    chatkit_agent_id = _chatkit_agent_id(environ)
    chatkit_mode = _chatkit_mode(environ, chatkit_agent_id)
    # Required outside localhost only, which depends on the request's host: the chat page checks it.
    chatkit_domain_key = _text(environ, "CHATKIT_DOMAIN_KEY")
    turn_urls = _turn_urls(environ)
    return Settings(
        openai_api_key=_text(environ, "OPENAI_API_KEY"),
        openai_base_url=_base_url(environ),
        openai_timeout_seconds=_number(environ, "OPENAI_TIMEOUT_SECONDS", 10.0, 0.1, 300),
        openai_connect_timeout_seconds=3.05,
        chatkit_agent_id=chatkit_agent_id,
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
        activity_retention_days=_number(environ, "ACTIVITY_RETENTION_DAYS", 30, 1, 3650, kind=int),
        sandbox=_flag(environ, "OPENAI_SANDBOX", False),
        trusted_proxies=_number(environ, "TRUSTED_PROXIES", 0, 0, 5, kind=int),
        metrics_allow=_metrics_allow(environ),
        metrics_token=_text(environ, "METRICS_TOKEN"),
        # Set by gunicorn.conf.py (or the operator) so every worker's metrics add up in one /metrics answer.
        prometheus_multiproc_dir=_text(environ, "PROMETHEUS_MULTIPROC_DIR"),
        turn_shared_secret=_turn_secret(environ, turn_urls),
        turn_urls=turn_urls,
        # Sessions last at most 60 minutes and TURN refreshes an allocation with the same credentials.
        turn_credential_ttl_seconds=_number(environ, "TURN_CREDENTIAL_TTL_SECONDS", 3900, 60, 86400, kind=int),
        log_format=_log_format(environ, debug),
        debug=debug,
        warnings=warnings,
        # OpenAI itself ends a Realtime session after 60 minutes, so a longer cap could never apply.
        voice_max_session_minutes=_number(environ, "VOICE_MAX_SESSION_MINUTES", 30, 1, 60, kind=int),
        voice_connect_timeout_seconds=_number(environ, "VOICE_CONNECT_TIMEOUT_SECONDS", 15.0, 1, 120),
        realtime_prices={
            key: _number(environ, variable, DEFAULT_REALTIME_PRICES[key], 0, 10_000)
            for key, variable in REALTIME_PRICE_VARIABLES.items()
        },
        chatkit_mode=chatkit_mode,
        chatkit_model=_chatkit_model(environ),
        # The chat agent speaks with the voice agent's voice unless told otherwise.
        chatkit_instructions=_text(environ, "CHATKIT_INSTRUCTIONS") or instructions,
        chatkit_domain_key=chatkit_domain_key,
        chatkit_script_url=_chatkit_script_url(environ),
    )
