"""The chat agent: an Agents SDK Agent with the configured model and instructions, speaking the Responses API."""

from agents import Agent, OpenAIResponsesModel, RunConfig
from openai import AsyncOpenAI

DEFAULT_INSTRUCTIONS = (
    "You help the admins of our data platform. Answer briefly and precisely. Some messages in the thread came "
    "from a voice conversation with the voice agent; they start with [voice]."
)

# Newest items of a thread the model sees; older ones are left out rather than the newest.
HISTORY_ITEMS = 40


def build_openai_client(settings):
    """The async client of every chat model call. It is created once and used only on the background loop, where
    its connection pool lives (core/background_loop.py, kept by chat/service.py)."""
    return AsyncOpenAI(
        api_key=settings.openai.api_key or "missing",
        base_url=settings.openai.base_url,
        timeout=settings.openai.timeout_seconds,
        max_retries=2,
    )


def build_model(settings):
    return OpenAIResponsesModel(model=settings.chat.model, openai_client=build_openai_client(settings))


def build_agent(settings, model, tools=()):
    """`tools`: the agent file's tools as Agents SDK FunctionTools (agent.sdk_tools), run on the server."""
    return Agent(name="Chat agent", instructions=settings.chat.instructions or DEFAULT_INSTRUCTIONS, model=model,
                 tools=list(tools))


# Tracing would upload every conversation to OpenAI's trace store with the process's own key; we keep it off.
RUN_CONFIG = RunConfig(tracing_disabled=True)
