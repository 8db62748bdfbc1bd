"""The settings the app runs with: one frozen group per concern, built once by core/config.py's load_settings."""

from dataclasses import dataclass, field

from agent.definition import AgentDefinition
from core.openai_catalog import DEFAULT_CHAT_MODEL, DEFAULT_CHATKIT_SCRIPT_URL, DEFAULT_REALTIME_MODEL, realtime_prices


@dataclass(frozen=True)
class OpenAISettings:
    api_key: str | None
    base_url: str
    timeout_seconds: float
    connect_timeout_seconds: float = 3.05
    sandbox: bool = False  # OPENAI_SANDBOX: the base URL is the local sandbox (make run)


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
    max_session_minutes: int = 30
    connect_timeout_seconds: float = 15.0
    # USD per million tokens, for the voice page's cost estimate (keys as the page's data-prices expects).
    # Empty when the model's family has no known prices: the page then counts tokens without a cost.
    prices: dict = field(default_factory=lambda: realtime_prices(DEFAULT_REALTIME_MODEL))


@dataclass(frozen=True)
class TurnSettings:
    shared_secret: str | None = None
    urls: tuple = ()
    credential_ttl_seconds: int = 3900


@dataclass(frozen=True)
class ChatSettings:
    mode: str = "self-hosted"  # or hosted: an Agent Builder workflow
    agent_id: str | None = None
    model: str = DEFAULT_CHAT_MODEL
    instructions: str | None = None
    domain_key: str | None = None
    script_url: str = DEFAULT_CHATKIT_SCRIPT_URL
    rate_limit: str = "30 per minute"  # POST /chatkit per admin
    transcript_rate_limit: str = "60 per minute"  # voice transcripts per admin
    max_streams_per_admin: int = 3
    max_streams_per_worker: int = 32
    retention_days: int = 90
    max_turns: int = 6  # model turns one chat message may take (CHAT_MAX_TURNS), tool calls between them


@dataclass(frozen=True)
class AuthSettings:
    secret_key: str | None
    admin_users_file: str
    mint_rate_limit: str
    login_rate_limit: str
    ratelimit_storage_uri: str
    login_user_rate_limit: str = "10 per 15 minutes"  # failed sign-ins per username, from any address
    session_lifetime_hours: float = 12.0  # a session ends this long after sign-in, however active
    session_idle_minutes: float = 60.0  # ... or this long after its last request
    tool_rate_limit: str = "30 per minute"  # the voice agent's tool calls (POST /api/v1/realtime/tool-calls), per admin


@dataclass(frozen=True)
class ToolSettings:
    """Limits on the agent's tool calls (agent/executor.py, agent/mcp_tools.py)."""

    max_response_bytes: int = 1024 * 1024  # TOOL_MAX_RESPONSE_BYTES: the most of one answer a tool call reads
    proxy_url: str | None = None  # TOOL_PROXY_URL: the proxy tool calls go through; the environment's are ignored


@dataclass(frozen=True)
class ServerSettings:
    debug: bool
    force_https: bool
    database_url: str | None
    activity_retention_days: int
    trusted_proxies: int = 0
    log_format: str = "text"
    # The direct peers (REMOTE_ADDR) whose X-Forwarded-* headers are believed; loopback by default.
    trusted_proxy_addresses: tuple = ()


@dataclass(frozen=True)
class MetricsSettings:
    allow: tuple = ()
    token: str | None = None
    multiproc_dir: str | None = None


@dataclass(frozen=True)
class Settings:
    openai: OpenAISettings
    realtime: RealtimeSettings
    chat: ChatSettings
    auth: AuthSettings
    server: ServerSettings
    turn: TurnSettings = TurnSettings()
    metrics: MetricsSettings = MetricsSettings()
    agent: AgentDefinition | None = None  # AGENT_FILE: tools and instructions for voice and chat (docs/agent.md)
    warnings: tuple = ()
    tools: ToolSettings = ToolSettings()

    @property
    def realtime_calls_url(self):
        return f"{self.openai.base_url}/realtime/calls"

    def missing_for_voice(self):
        """The variables voice needs that are not set, as (variable, why) pairs."""
        return [("OPENAI_API_KEY", "the server needs it to mint Realtime secrets")] if not self.openai.api_key else []

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
