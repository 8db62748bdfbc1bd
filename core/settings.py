"""The settings the app runs with: one frozen group per concern, built once by core/config.py's load_settings.

The groups name and type the settings; their defaults live in one place, where core/config.py reads each variable
(the dataclasses have none, so no default is written twice)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class OpenAISettings:
    api_key: str | None
    base_url: str
    timeout_seconds: float
    sandbox: bool  # OPENAI_SANDBOX: the base URL is the local sandbox (make run)
    connect_timeout_seconds: float = 3.05  # not a variable: how long a TCP connect to OpenAI may take


@dataclass(frozen=True)
class RealtimeSettings:
    model: str
    voice: str
    output_modalities: tuple
    instructions: str | None
    transcription_model: str | None
    connect: str  # ephemeral or relay
    secret_ttl_seconds: int
    ice_servers: tuple
    max_session_minutes: int
    connect_timeout_seconds: float
    turn_detection: str  # semantic_vad or server_vad
    eagerness: str  # semantic_vad's: auto, low, medium or high
    noise_reduction: str | None  # near_field or far_field; None: off
    transcription_language: str | None  # the agent file's `language` (ISO-639-1)
    vocabulary: tuple  # the agent file's `vocabulary`: names transcription should spell as written
    # USD per million tokens, for the voice page's cost estimate (keys as the page's data-prices expects).
    # Empty when the catalog does not price the model: the page then shows "not priced" and counts tokens only.
    prices: dict


@dataclass(frozen=True)
class TurnSettings:
    shared_secret: str | None
    urls: tuple
    credential_ttl_seconds: int


@dataclass(frozen=True)
class ChatSettings:
    mode: str  # self-hosted, or hosted: an Agent Builder workflow
    ui: str  # CHAT_UI: auto (the widget, else the native view), native or chatkit
    agent_id: str | None
    model: str
    instructions: str | None
    domain_key: str | None
    script_url: str
    rate_limit: str  # POST /chatkit per admin
    transcript_rate_limit: str  # voice transcripts per admin
    max_streams_per_admin: int
    max_streams_per_worker: int
    retention_days: int
    max_turns: int  # model turns one chat message may take (CHAT_MAX_TURNS), tool calls between them


@dataclass(frozen=True)
class AuthSettings:
    secret_key: str | None
    admin_users_file: str
    mint_rate_limit: str
    login_rate_limit: str
    ratelimit_storage_uri: str
    login_user_rate_limit: str  # failed sign-ins per username, from any address
    session_lifetime_hours: float  # a session ends this long after sign-in, however active
    session_idle_minutes: float  # ... or this long after its last request
    tool_rate_limit: str  # the voice agent's tool calls (POST /api/v1/realtime/tool-calls), per admin


@dataclass(frozen=True)
class ToolSettings:
    """Limits on the agent's tool calls (agent/executor.py, agent/mcp_tools.py)."""

    max_response_bytes: int  # TOOL_MAX_RESPONSE_BYTES: the most of one answer a tool call reads
    proxy_url: str | None  # TOOL_PROXY_URL: the proxy tool calls go through; the environment's are ignored


@dataclass(frozen=True)
class ServerSettings:
    debug: bool
    force_https: bool
    database_url: str | None
    activity_retention_days: int
    trusted_proxies: int
    log_format: str
    # The direct peers (REMOTE_ADDR) whose X-Forwarded-* headers are believed.
    trusted_proxy_addresses: tuple


@dataclass(frozen=True)
class MetricsSettings:
    allow: tuple
    token: str | None
    multiproc_dir: str | None


@dataclass(frozen=True)
class Settings:
    openai: OpenAISettings
    realtime: RealtimeSettings
    chat: ChatSettings
    auth: AuthSettings
    server: ServerSettings
    turn: TurnSettings
    metrics: MetricsSettings
    # AGENT_FILE: tools and instructions for voice and chat (docs/agent.md), an agent.definition.AgentDefinition
    # loaded by the agent layer, or None. Typed loosely so core imports nothing above it.
    agent: object
    warnings: tuple
    tools: ToolSettings

    @property
    def realtime_calls_url(self):
        return f"{self.openai.base_url}/realtime/calls"

    def missing_for_voice(self):
        """The variables voice needs that are not set, as (variable, why) pairs."""
        return [("OPENAI_API_KEY", "the server needs it to mint Realtime secrets")] if not self.openai.api_key else []

    @property
    def loads_chatkit_script(self):
        """Whether the chat page may load OpenAI's ChatKit script (CHAT_UI=native never does; the CSP follows)."""
        return self.chat.ui != "native"

    def missing_for_chat(self):
        """The variables chat needs in its CHATKIT_MODE that are not set, as (variable, why) pairs."""
        missing = []
        if self.chat.mode == "self-hosted":
            if not self.openai.api_key:
                missing.append(("OPENAI_API_KEY", "the server needs it to call the chat model"))
            return missing
        if not self.openai.api_key:
            missing.append(("OPENAI_API_KEY", "the server needs it to create ChatKit sessions"))
        if not self.chat.agent_id:
            missing.append(("CHATKIT_AGENT_ID", "the ChatKit workflow id (wf_...) from Agent Builder"))
        return missing
