"""The app's configuration: read from the environment and validated once at start-up into frozen settings groups.

Each group (openai, realtime, turn, chat, auth, server, metrics, tools) is built by one loader below from the variables
.env.example documents; a bad value stops start-up with a ConfigError naming the variable and what is allowed. The
agent file (AGENT_FILE) is the agent layer's to read (agent.definition.load_agent_file): core imports nothing above
it, so the caller loads the file and hands the definition in.
"""

import ipaddress
import json
import re
from urllib.parse import urlparse

from core.env import ConfigError, flag, model_name, number, rate_limit, text
from core.openai_catalog import (
    DEFAULT_BASE_URL,
    DEFAULT_CHAT_MODEL,
    DEFAULT_CHATKIT_SCRIPT_URL,
    DEFAULT_REALTIME_MODEL,
    DEFAULT_TRANSCRIPTION_MODEL,
    MAX_INSTRUCTIONS_CHARS,
    MAX_SESSION_MINUTES,
    NOISE_REDUCTION_TYPES,
    OUTPUT_MODALITIES,
    SECRET_TTL_RANGE,
    TURN_DETECTION_TYPES,
    VAD_EAGERNESS,
    chat_model_problem,
    realtime_model_problem,
    realtime_model_warning,
    realtime_prices,
    realtime_voice_problem,
    transcription_model_problem,
    transcription_vocabulary_field,
)
from core.settings import (
    AuthSettings,
    ChatSettings,
    MetricsSettings,
    OpenAISettings,
    RealtimeSettings,
    ServerSettings,
    Settings,
    ToolSettings,
    TurnSettings,
)

__all__ = ["ConfigError", "Settings", "load_settings", "tool_settings"]

CONNECT_MODES = ("ephemeral", "relay")
CHATKIT_MODES = ("hosted", "self-hosted")
CHAT_UIS = ("auto", "native", "chatkit")
REALTIME_PRICE_VARIABLES = {
    "audioIn": "REALTIME_PRICE_AUDIO_IN",
    "cachedIn": "REALTIME_PRICE_CACHED_IN",
    "audioOut": "REALTIME_PRICE_AUDIO_OUT",
    "textIn": "REALTIME_PRICE_TEXT_IN",
    "textOut": "REALTIME_PRICE_TEXT_OUT",
}


def load_settings(environ, *, today, agent=None):
    """Builds Settings from a mapping of environment variables, or raises ConfigError. `today` (YYYY-MM-DD, from the
    app's clock: core.clock) decides which models have shut down. `agent`: the agent file's definition, from
    agent.definition.load_agent_file(environ), or None; its instructions are the agents' unless a variable says
    otherwise."""
    if agent is None and text(environ, "AGENT_FILE") is not None:
        # Settings without the file's tools and instructions would look fine and be wrong: say so instead.
        raise TypeError("AGENT_FILE is set: hand load_settings its definition, agent=load_agent_file(environ)")
    debug = flag(environ, "FLASK_DEBUG", False)
    realtime = _realtime(environ, today, agent)
    warning = realtime_model_warning(realtime.model, today)
    return Settings(
        openai=_openai(environ),
        realtime=realtime,
        chat=_chat(environ, today, realtime.instructions, agent),
        auth=_auth(environ, debug),
        server=_server(environ, debug),
        turn=_turn(environ),
        metrics=_metrics(environ),
        agent=agent,
        warnings=(warning,) if warning else (),
        tools=tool_settings(environ),
    )


# --- openai --------------------------------------------------------------------------------------------------


def _openai(environ):
    return OpenAISettings(
        api_key=text(environ, "OPENAI_API_KEY"),
        base_url=_base_url(environ),
        timeout_seconds=number(environ, "OPENAI_TIMEOUT_SECONDS", 10.0, 0.1, 300),
        sandbox=flag(environ, "OPENAI_SANDBOX", False),
    )


def _base_url(environ):
    raw = text(environ, "OPENAI_BASE_URL", DEFAULT_BASE_URL)
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query or parsed.fragment:
        raise ConfigError("OPENAI_BASE_URL", raw, "an http(s) URL such as https://api.openai.com/v1")
    if "@" in parsed.netloc:
        # The base URL's origin goes into the CSP header and the browser's sdpUrl: a password there would leak.
        shown = f"{parsed.scheme}://***@{parsed.netloc.rsplit('@', 1)[1]}{parsed.path}"
        raise ConfigError("OPENAI_BASE_URL", shown,
                          "a URL without user:password@ (the browser sees this URL; OpenAI takes the key as a header)")
    return raw.rstrip("/")


# --- realtime ------------------------------------------------------------------------------------------------


def _realtime(environ, today, agent=None):
    connect = text(environ, "OPENAI_REALTIME_CONNECT", "ephemeral").lower()
    if connect not in CONNECT_MODES:
        raise ConfigError("OPENAI_REALTIME_CONNECT", connect, "ephemeral or relay")
    instructions = text(environ, "OPENAI_REALTIME_INSTRUCTIONS")
    if instructions is not None and len(instructions) > MAX_INSTRUCTIONS_CHARS:
        raise ConfigError("OPENAI_REALTIME_INSTRUCTIONS", instructions[:40] + "...",
                          f"at most {MAX_INSTRUCTIONS_CHARS:,} characters")
    if instructions is None and agent is not None:
        # The variable, when set, overrides the agent file: one quick way to try other words without editing it.
        instructions = agent.voice_prompt()
        if len(instructions) > MAX_INSTRUCTIONS_CHARS:
            raise ConfigError("AGENT_FILE", agent.path, f"instructions and voice_instructions together must be "
                              f"at most {MAX_INSTRUCTIONS_CHARS:,} characters (they are {len(instructions):,})")
    transcription = environ.get("OPENAI_REALTIME_TRANSCRIPTION_MODEL")
    voice = text(environ, "OPENAI_REALTIME_VOICE", "alloy").lower()
    problem = realtime_voice_problem(voice)
    if problem:
        raise ConfigError("OPENAI_REALTIME_VOICE", voice, problem)
    model = _realtime_model(environ, today)
    transcription_model = _transcription_model(transcription)
    turn_detection, eagerness = _turn_detection(environ)
    return RealtimeSettings(
        model=model,
        voice=voice,
        output_modalities=_output_modalities(environ),
        instructions=instructions,
        # Unset means the default model; set but empty means no user transcripts.
        transcription_model=transcription_model,
        turn_detection=turn_detection,
        eagerness=eagerness,
        noise_reduction=_noise_reduction(environ),
        transcription_language=agent.language if agent else None,
        vocabulary=_vocabulary(agent, transcription_model),
        connect=connect,
        secret_ttl_seconds=number(environ, "REALTIME_SECRET_TTL_SECONDS", 60, *SECRET_TTL_RANGE, kind=int),
        ice_servers=_ice_servers(environ),
        # OpenAI itself ends a Realtime session after MAX_SESSION_MINUTES, so a longer cap could never apply.
        max_session_minutes=number(environ, "VOICE_MAX_SESSION_MINUTES", 30, 1, MAX_SESSION_MINUTES, kind=int),
        connect_timeout_seconds=number(environ, "VOICE_CONNECT_TIMEOUT_SECONDS", 15.0, 1, 120),
        prices=_prices(environ, model),
    )


def _prices(environ, model):
    # The model's list prices, each replaceable by its REALTIME_PRICE_* variable.
    listed = realtime_prices(model)
    prices = {key: number(environ, variable, listed.get(key), 0, 10_000)
              for key, variable in REALTIME_PRICE_VARIABLES.items()}
    return {key: value for key, value in prices.items() if value is not None}


def _turn_detection(environ):
    detection = text(environ, "OPENAI_REALTIME_TURN_DETECTION", "semantic_vad").lower()
    if detection not in TURN_DETECTION_TYPES:
        raise ConfigError("OPENAI_REALTIME_TURN_DETECTION", detection, " or ".join(TURN_DETECTION_TYPES))
    eagerness = text(environ, "OPENAI_REALTIME_VAD_EAGERNESS")
    if eagerness is not None and detection != "semantic_vad":
        raise ConfigError("OPENAI_REALTIME_VAD_EAGERNESS", eagerness, "eagerness only applies to semantic_vad; "
                          "unset it, or set OPENAI_REALTIME_TURN_DETECTION=semantic_vad")
    eagerness = (eagerness or "auto").lower()
    if eagerness not in VAD_EAGERNESS:
        raise ConfigError("OPENAI_REALTIME_VAD_EAGERNESS", eagerness, ", ".join(VAD_EAGERNESS))
    return detection, eagerness


def _noise_reduction(environ):
    raw = text(environ, "OPENAI_REALTIME_NOISE_REDUCTION", "near_field").lower()
    if raw == "off":
        return None
    if raw not in NOISE_REDUCTION_TYPES:
        raise ConfigError("OPENAI_REALTIME_NOISE_REDUCTION", raw, f"{', '.join(NOISE_REDUCTION_TYPES)} or off")
    return raw


def _vocabulary(agent, transcription_model):
    """The agent file's vocabulary, when the transcription model can take it (no transcription: nothing to hint)."""
    if agent is None or not agent.vocabulary or not transcription_model:
        return ()
    if transcription_vocabulary_field(transcription_model) is None:
        raise ConfigError("AGENT_FILE", agent.path, f"its vocabulary cannot reach {transcription_model}, which "
                          "takes no prompt or keywords; set OPENAI_REALTIME_TRANSCRIPTION_MODEL to "
                          "gpt-4o-mini-transcribe (or another model that does), or remove vocabulary")
    return agent.vocabulary


def _transcription_model(raw):
    if raw is None:
        return DEFAULT_TRANSCRIPTION_MODEL
    model = raw.strip()
    if model:
        problem = transcription_model_problem(model)
        if problem:
            raise ConfigError("OPENAI_REALTIME_TRANSCRIPTION_MODEL", model, problem)
    return model or None


def _realtime_model(environ, today):
    model = text(environ, "OPENAI_REALTIME_MODEL", DEFAULT_REALTIME_MODEL)
    problem = realtime_model_problem(model, today)
    if problem:
        raise ConfigError("OPENAI_REALTIME_MODEL", model, problem)
    return model_name(environ, "OPENAI_REALTIME_MODEL", DEFAULT_REALTIME_MODEL)


def _output_modalities(environ):
    raw = text(environ, "OPENAI_REALTIME_MODALITIES", "audio")
    parts = [part.strip().lower() for part in raw.split(",")]
    if not parts or any(part not in OUTPUT_MODALITIES for part in parts):
        raise ConfigError("OPENAI_REALTIME_MODALITIES", raw, "a comma list of text and audio, e.g. audio or text")
    # GA accepts one modality: audio always comes with its transcript, so any list with audio means audio.
    return ("audio",) if "audio" in parts else ("text",)


def _ice_servers(environ):
    raw = text(environ, "ICE_SERVERS", "[]")
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


def _turn(environ):
    raw = text(environ, "TURN_URLS", "")
    urls = tuple(part.strip() for part in raw.split(",") if part.strip())
    if not all(re.match(r"^turns?:[^\s]+$", url) for url in urls):
        raise ConfigError("TURN_URLS", raw, "a comma list of turn: or turns: URLs, e.g. turn:turn.example.org:3478?transport=udp")
    secret = _turn_secret(environ)
    if secret and not urls:
        raise ConfigError("TURN_URLS", "", "set TURN_URLS too when TURN_SHARED_SECRET is set (the browser needs to know where the TURN server is)")
    return TurnSettings(
        shared_secret=secret,
        urls=urls,
        # Sessions last at most MAX_SESSION_MINUTES and TURN refreshes an allocation with the same credentials.
        credential_ttl_seconds=number(environ, "TURN_CREDENTIAL_TTL_SECONDS", 3900, 60, 86400, kind=int),
    )


# Values copied from examples: anyone who read the same example could mint TURN credentials.
PLACEHOLDER_SECRETS = {"change-me", "changeme", "change_me", "secret", "password", "example", "turn-secret", "xxx"}
MIN_TURN_SECRET_CHARS = 16


def _turn_secret(environ):
    secret = text(environ, "TURN_SHARED_SECRET")
    if secret is None:
        return None
    if secret.lower() in PLACEHOLDER_SECRETS or secret.lower().startswith(("change", "<")) or len(secret) < MIN_TURN_SECRET_CHARS:
        raise ConfigError(
            "TURN_SHARED_SECRET", "(hidden)",
            f"a random secret of at least {MIN_TURN_SECRET_CHARS} characters, not a placeholder; "
            "generate one with: openssl rand -hex 32 (and put the same value in coturn's static-auth-secret)",
        )
    return secret


# --- chat ----------------------------------------------------------------------------------------------------


def _chat(environ, today, realtime_instructions, agent=None):
    agent_id = text(environ, "CHATKIT_AGENT_ID")
    if agent_id is not None and not re.fullmatch(r"wf_[A-Za-z0-9_-]+", agent_id):
        raise ConfigError("CHATKIT_AGENT_ID", agent_id, "a ChatKit workflow id that starts with wf_")
    # Without a workflow there is nothing to host: self-hosted is the only mode that can work.
    mode = (text(environ, "CHATKIT_MODE") or ("hosted" if agent_id else "self-hosted")).lower()
    if mode not in CHATKIT_MODES:
        raise ConfigError("CHATKIT_MODE", mode, "hosted (an Agent Builder workflow, CHATKIT_AGENT_ID) or self-hosted")
    return ChatSettings(
        mode=mode,
        ui=_chat_ui(environ, mode),
        agent_id=agent_id,
        model=_chat_model(environ, today),
        # The chat agent speaks with the voice agent's voice unless told otherwise; with an agent file, its shared
        # instructions (without the voice-only ones) unless CHATKIT_INSTRUCTIONS is set.
        instructions=text(environ, "CHATKIT_INSTRUCTIONS") or (agent.instructions if agent else realtime_instructions),
        # Required outside localhost only, which depends on the request's host: the chat page checks it.
        domain_key=text(environ, "CHATKIT_DOMAIN_KEY"),
        script_url=_chatkit_script_url(environ),
        rate_limit=rate_limit(environ, "CHAT_RATE_LIMIT", "30 per minute"),
        transcript_rate_limit=rate_limit(environ, "TRANSCRIPT_RATE_LIMIT", "60 per minute"),
        max_streams_per_admin=number(environ, "CHAT_MAX_STREAMS_PER_ADMIN", 3, 1, 100, kind=int),
        max_streams_per_worker=number(environ, "CHAT_MAX_STREAMS_PER_WORKER", 32, 1, 10_000, kind=int),
        retention_days=number(environ, "CHAT_RETENTION_DAYS", 90, 1, 36500, kind=int),
        max_turns=number(environ, "CHAT_MAX_TURNS", 6, 1, 50, kind=int),
    )


def _chat_ui(environ, mode):
    ui = (text(environ, "CHAT_UI") or "auto").lower()
    if ui not in CHAT_UIS:
        raise ConfigError("CHAT_UI", ui, "auto (the ChatKit widget, or this server's own chat view when the widget "
                                         "cannot load), native (never load OpenAI's script) or chatkit (the widget only)")
    if ui == "native" and mode == "hosted":
        # Hosted threads live at OpenAI: only the widget can show them.
        raise ConfigError("CHAT_UI", ui, "auto or chatkit with CHATKIT_MODE=hosted (the native view shows "
                                         "self-hosted threads, which hosted mode does not have)")
    return ui


def _chat_model(environ, today):
    model = model_name(environ, "CHATKIT_MODEL", DEFAULT_CHAT_MODEL)
    problem = chat_model_problem(model, today)
    if problem:
        raise ConfigError("CHATKIT_MODEL", model, problem)
    return model


def _chatkit_script_url(environ):
    url = text(environ, "CHATKIT_SCRIPT_URL", DEFAULT_CHATKIT_SCRIPT_URL)
    parsed = urlparse(url)
    cdn_host = urlparse(DEFAULT_CHATKIT_SCRIPT_URL).netloc
    # The CSP (core/security.py) allows scripts from this site and OpenAI's CDN only.
    on_cdn = parsed.scheme == "https" and parsed.netloc == cdn_host
    if not on_cdn and not (url.startswith("/") and not url.startswith("//")):
        raise ConfigError(
            "CHATKIT_SCRIPT_URL", url,
            f"a URL on {cdn_host} (default {DEFAULT_CHATKIT_SCRIPT_URL}) or a path "
            "on this site such as /static/vendor/chatkit.js (the content security policy allows no other host)",
        )
    return url


def tool_settings(environ):
    """The limits every tool call keeps (TOOL_*); tool_settings({}) gives the defaults, for callers handed none."""
    proxy = text(environ, "TOOL_PROXY_URL")
    if proxy is not None:
        parsed = urlparse(proxy)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigError("TOOL_PROXY_URL", proxy, "an http(s) proxy URL such as http://proxy.internal:3128")
    return ToolSettings(
        max_response_bytes=number(environ, "TOOL_MAX_RESPONSE_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024, kind=int),
        proxy_url=proxy,
    )


# --- auth, server, metrics -----------------------------------------------------------------------------------


def _auth(environ, debug):
    secret_key = text(environ, "SECRET_KEY")
    if secret_key is None and not debug:
        raise ConfigError(
            "SECRET_KEY",
            "",
            "required outside debug; generate one with: python -c 'import secrets; print(secrets.token_hex(32))'",
        )
    storage = text(environ, "RATELIMIT_STORAGE_URI", "memory://")
    if not re.match(r"^(memory|redis|rediss|redis\+sentinel|redis\+cluster|memcached|mongodb)://", storage):
        raise ConfigError("RATELIMIT_STORAGE_URI", storage, "memory:// or a storage URL such as redis://host:6379")
    return AuthSettings(
        secret_key=secret_key,
        admin_users_file=text(environ, "ADMIN_USERS_FILE", "instance/admins.txt"),
        mint_rate_limit=rate_limit(environ, "MINT_RATE_LIMIT", "20 per minute"),
        login_rate_limit=rate_limit(environ, "LOGIN_RATE_LIMIT", "10 per minute"),
        ratelimit_storage_uri=storage,
        login_user_rate_limit=rate_limit(environ, "LOGIN_USER_RATE_LIMIT", "10 per 15 minutes"),
        session_lifetime_hours=number(environ, "SESSION_LIFETIME_HOURS", 12.0, 0.1, 24 * 30),
        session_idle_minutes=number(environ, "SESSION_IDLE_MINUTES", 60.0, 1, 24 * 60 * 30),
        tool_rate_limit=rate_limit(environ, "TOOL_RATE_LIMIT", "30 per minute"),
    )


def _server(environ, debug):
    database_url = text(environ, "DATABASE_URL")
    if database_url is not None and not re.match(r"^[a-z][a-z0-9+]*://", database_url):
        raise ConfigError("DATABASE_URL", database_url, "an SQLAlchemy URL such as postgresql+psycopg://user:pass@host/db")
    log_format = text(environ, "LOG_FORMAT", "text" if debug else "json").lower()
    if log_format not in ("json", "text"):
        raise ConfigError("LOG_FORMAT", log_format, "json (one JSON object per line) or text")
    return ServerSettings(
        debug=debug,
        force_https=flag(environ, "FORCE_HTTPS", not debug),
        database_url=database_url,
        activity_retention_days=number(environ, "ACTIVITY_RETENTION_DAYS", 30, 1, 3650, kind=int),
        trusted_proxies=number(environ, "TRUSTED_PROXIES", 0, 0, 5, kind=int),
        log_format=log_format,
        trusted_proxy_addresses=_networks(environ, "TRUSTED_PROXY_ADDRESSES", "127.0.0.1,::1"),
    )


def _networks(environ, name, default):
    raw = text(environ, name, default)
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip())
    except ValueError as error:
        raise ConfigError(name, raw, f"a comma list of addresses or networks, e.g. 127.0.0.1,10.0.0.0/8 ({error})") from None


def _metrics(environ):
    return MetricsSettings(
        allow=_networks(environ, "METRICS_ALLOW", "127.0.0.1,::1"),
        token=text(environ, "METRICS_TOKEN"),
        # Set by gunicorn.conf.py (or the operator) so every worker's metrics add up in one /metrics answer.
        multiproc_dir=text(environ, "PROMETHEUS_MULTIPROC_DIR"),
    )
