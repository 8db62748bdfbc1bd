"""The self-hosted ChatKit server: ChatKitServer over our database store, answering with the Agents SDK, and the
voice transcripts written into the admin's current thread."""

import asyncio
import logging
import uuid
from datetime import datetime

import openai
from agents import Runner
from chatkit.agents import AgentContext, simple_to_agent_input, stream_agent_response
from chatkit.errors import CustomStreamError
from chatkit.server import ChatKitServer, StreamingResult
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    InferenceOptions,
    ThreadItemDoneEvent,
    ThreadMetadata,
    UserMessageItem,
    UserMessageTextContent,
)

from chat.agent import HISTORY_ITEMS, RUN_CONFIG, build_agent
from chat.store import ChatContext

log = logging.getLogger(__name__)

# Shown before every message that came from a voice session, in the widget and in what the model reads.
VOICE_MARK = "[voice] "
VOICE_THREAD_TITLE = "Voice conversation"


class ConsoleChatKitServer(ChatKitServer[ChatContext]):
    """Answers each user message with one streamed Agents SDK run over the thread's recent history."""

    def __init__(self, store, settings, model, tools=(), record_tool_call=None):
        super().__init__(store)
        self.settings = settings
        self.model = model  # an agents Model; tests put a scripted one here
        self.tools = tuple(tools)  # the agent file's tools as FunctionTools (agent.sdk_tools), or none
        # record_tool_call(admin, name, ms, call_id, error_code): the activity record, for calls the SDK held back
        self.record_tool_call = record_tool_call

    async def respond(self, thread, input_user_message, context):
        # Newest first, then reversed: the model sees the latest HISTORY_ITEMS items in order, never the oldest.
        page = await self.store.load_thread_items(thread.id, None, HISTORY_ITEMS, "desc", context)
        history = await simple_to_agent_input(list(reversed(page.data)))
        agent_context = AgentContext(thread=thread, store=self.store, request_context=context)
        result = Runner.run_streamed(
            build_agent(self.settings, self.model, self.tools), history, context=agent_context, run_config=RUN_CONFIG
        )
        try:
            async for event in stream_agent_response(agent_context, result):
                yield event
            if result.interruptions:
                yield self._approval_notice(thread, result.interruptions, context)
        except asyncio.CancelledError:
            # The client went away: stop the model run too (its tasks would otherwise run on, unobserved).
            result.cancel()
            raise
        except openai.APIStatusError as error:
            raise CustomStreamError(_model_refusal(error, self.settings), allow_retry=error.status_code >= 500) from error
        except (openai.APIConnectionError, openai.APITimeoutError) as error:
            raise CustomStreamError(
                f"Could not reach the chat model at {self.settings.openai.base_url} ({type(error).__name__}). "
                "Try again; if it keeps happening, check the server's network and OPENAI_BASE_URL.",
                allow_retry=True,
            ) from error


    def _approval_notice(self, thread, interruptions, context):
        """The run stopped at confirm tools (the SDK's needs_approval): say so instead of ending in silence.
        Approving a call from the chat widget is not built yet; the voice agent asks and runs it."""
        names = sorted({approval.name or "a tool" for approval in interruptions})
        for approval in interruptions:
            if self.record_tool_call is not None:
                self.record_tool_call(context.username or context.admin, approval.name or "unknown", None, approval.call_id,
                                      "approval_required")
        text = (f"{', '.join(names)} changes the platform, so an admin has to approve each call, and approving "
                "from chat is not available yet: nothing was changed. Ask the voice agent (it asks you to approve) "
                "or make the change on the platform yourself.")
        item = AssistantMessageItem(
            id=self.store.generate_item_id("message", thread, context), thread_id=thread.id,
            created_at=datetime.now(), content=[AssistantMessageContent(text=text)],
        )
        return ThreadItemDoneEvent(item=item)


def _model_refusal(error, settings):
    message = error.message
    if isinstance(error.body, dict) and isinstance(error.body.get("message"), str):
        message = error.body["message"]
    hint = ""
    if error.status_code == 401:
        hint = " Check OPENAI_API_KEY."
    elif error.status_code == 404:
        hint = f" Check CHATKIT_MODEL={settings.chat.model}: the key's project may not have access to it."
    request_id = f" (request id {error.request_id})" if error.request_id else ""
    return f"The chat model refused: {message}{request_id}.{hint}"


# --- voice transcripts -----------------------------------------------------------------------------------


def transcript_item(entry, thread_id):
    """A thread item for one voice transcript line, its id marked as voice (msg_voice_...) and its text too."""
    item_id = f"msg_voice_{entry.entry_id}" if entry.entry_id else f"msg_voice_{uuid.uuid4().hex[:12]}"
    text = VOICE_MARK + entry.text
    now = datetime.now()
    if entry.role == "user":
        return UserMessageItem(
            id=item_id, thread_id=thread_id, created_at=now,
            content=[UserMessageTextContent(text=text)], inference_options=InferenceOptions(),
        )
    return AssistantMessageItem(
        id=item_id, thread_id=thread_id, created_at=now, content=[AssistantMessageContent(text=text)]
    )


def add_voice_transcripts(store, admin, entries, thread_id=None):
    """Writes TranscriptEntry lines into `thread_id` (default: the admin's most recently active thread, or a new
    one) without starting a model turn. Returns (thread_id, number of entries written). Raises chatkit's
    NotFoundError when `thread_id` is not one of the admin's threads."""
    context = ChatContext(admin)
    thread_id = thread_id or store.current_thread_id_sync(admin)
    if thread_id:
        thread = store.load_thread_sync(thread_id, admin)
    else:
        thread = ThreadMetadata(id=store.generate_thread_id(context), created_at=datetime.now(), title=VOICE_THREAD_TITLE)
        store.save_thread_sync(thread, admin)
    for entry in entries:
        store.save_item_sync(thread.id, transcript_item(entry, thread.id), admin)
    store.save_thread_sync(thread, admin)  # marks the thread as the admin's current one
    return thread.id, len(entries)


def is_streaming(result):
    return isinstance(result, StreamingResult)
