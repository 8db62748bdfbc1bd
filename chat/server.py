"""The self-hosted ChatKit server: ChatKitServer over our database store, answering with the Agents SDK, and the
voice transcripts written into the admin's current thread."""

import asyncio
import logging
import re
import uuid
from datetime import datetime

import openai
from agents import Runner
from agents.exceptions import MaxTurnsExceeded, ModelBehaviorError
from chatkit.agents import AgentContext, simple_to_agent_input, stream_agent_response
from chatkit.errors import CustomStreamError
from chatkit.server import ChatKitServer, NonStreamingResult, StreamingResult
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    ChatKitReq,
    InferenceOptions,
    ThreadItemDoneEvent,
    ThreadMetadata,
    UserMessageItem,
    UserMessageTextContent,
    WidgetItem,
    is_streaming_req,
)
from pydantic import TypeAdapter

from chat import stream_events
from chat.agent import HISTORY_ITEMS, RUN_CONFIG, build_agent
from chat.approval_cards import (
    APPROVE,
    DENY,
    MAX_APPROVAL_ARGUMENT_CHARS,
    approval_card,
    decided_card,
    refused_card,
)
from chat.store import ChatContext
from chat.transcripts import VOICE_MARK

log = logging.getLogger(__name__)
stream_events.install()

VOICE_THREAD_TITLE = "Voice conversation"


# Built once. ChatKitServer.process (openai-chatkit 1.6.5) builds a TypeAdapter for the request union on every
# request: 5-10 ms of CPU, a tenth of a chat turn's, spent before the model is even asked (docs/performance.md).
_CHATKIT_REQUEST = TypeAdapter(ChatKitReq)


class ConsoleChatKitServer(ChatKitServer[ChatContext]):
    """Answers each user message with one streamed Agents SDK run over the thread's recent history."""

    def __init__(self, store, settings, model, tools=(), record_tool_call=None, placeholders_of=None):
        super().__init__(store)
        self.settings = settings
        self.model = model  # an agents Model; tests put a scripted one here
        # The agent file's tools as FunctionTools (agent.sdk_tools), or none; or a function giving those an admin's
        # roles allow for each run (it may list MCP servers again, so it runs in a worker thread, never on the loop).
        self._tools_now = tools if callable(tools) else (lambda roles=(), fixed=tuple(tools): fixed)
        # record_tool_call(context, name, ms, call_id, error_code): the activity record, for calls the SDK held back
        self.record_tool_call = record_tool_call
        # placeholders_of(tool name) -> the {arg}s of its URL, which the approval card shows first
        self.placeholders_of = placeholders_of or (lambda _name: ())

    async def process(self, request, context):
        """ChatKitServer.process with the request parsed by the adapter built once (see _CHATKIT_REQUEST)."""
        parsed = _CHATKIT_REQUEST.validate_json(request)
        if is_streaming_req(parsed):
            return StreamingResult(self._process_streaming(parsed, context))
        return NonStreamingResult(await self._process_non_streaming(parsed, context))

    async def respond(self, thread, input_user_message, context):
        if not thread.title and input_user_message is not None:
            # ChatKit saves the changed thread and tells the widget (thread.updated): both views list it by name.
            thread.title = thread_title(input_user_message)
        # Newest first, then reversed: the model sees the latest HISTORY_ITEMS items in order, never the oldest.
        page = await self.store.load_thread_items(thread.id, None, HISTORY_ITEMS, "desc", context)
        history = await simple_to_agent_input(list(reversed(page.data)))
        agent_context = AgentContext(thread=thread, store=self.store, request_context=context)
        result = Runner.run_streamed(await self._agent(context), history, context=agent_context, run_config=RUN_CONFIG,
                                     max_turns=self.settings.chat.max_turns)
        async for event in self._stream(thread, agent_context, result, context):
            yield event

    async def _agent(self, context):
        """The agent for one request, with the tools its admin's roles allow."""
        return build_agent(self.settings, self.model, await asyncio.to_thread(self._tools_now, context.roles))

    async def _stream(self, thread, agent_context, result, context):
        """The run's events for the widget, then an approval card for each call it holds back."""
        try:
            async for event in stream_agent_response(agent_context, result):
                yield event
            if result.interruptions:
                async for event in self._ask_approval(thread, agent_context, result, context):
                    yield event
        except asyncio.CancelledError:
            # The client went away: stop the model run too (its tasks would otherwise run on, unobserved).
            result.cancel()
            raise
        except ModelBehaviorError as error:
            # The model named a tool this admin's agent does not have (their roles leave it out): nothing ran.
            missing = re.match(r"Tool (\S+) not found", str(error))
            if missing is None:
                raise
            raise CustomStreamError(f"The agent asked for a tool it does not have for you ({missing.group(1)}): "
                                    "nothing was run.", allow_retry=False) from error
        except MaxTurnsExceeded as error:
            # CHAT_MAX_TURNS bounds how many model turns (and so rounds of tool calls) one message may cost.
            raise CustomStreamError(
                f"The agent stopped after {self.settings.chat.max_turns} steps without an answer (CHAT_MAX_TURNS): "
                "ask a narrower question, or ask it to go on.", allow_retry=False) from error
        except openai.APIStatusError as error:
            raise CustomStreamError(_model_refusal(error, self.settings), allow_retry=error.status_code >= 500) from error
        except (openai.APIConnectionError, openai.APITimeoutError) as error:
            raise CustomStreamError(
                f"Could not reach the chat model at {self.settings.openai.base_url} ({type(error).__name__}). "
                "Try again; if it keeps happening, check the server's network and OPENAI_BASE_URL.",
                allow_retry=True,
            ) from error


    # --- Approve / Deny for confirm tools ---------------------------------------------------------------------

    async def _ask_approval(self, thread, agent_context, result, context):
        """The run stopped at confirm tools (the SDK's needs_approval): keeps the run's state on the server and shows
        one card per call with Approve and Deny; a call already waiting gets the newer state and no second card.
        A call whose arguments are too long for a card to show is refused at once and the model told."""
        run_state = result.to_state()
        waiting = []
        for approval in result.interruptions:
            name, arguments = approval.name or "unknown", approval.arguments or "{}"
            if len(arguments) <= MAX_APPROVAL_ARGUMENT_CHARS:
                waiting.append(approval)
                continue
            run_state.reject(approval, rejection_message=(
                f"This call of {name} was not run: its arguments are {len(arguments):,} characters, more than the "
                f"{MAX_APPROVAL_ARGUMENT_CHARS:,} an admin can review. Tell the admin; ask before trying shorter ones."))
            if self.record_tool_call is not None:
                self.record_tool_call(context, name, None, approval.call_id, "approval_too_large")
            yield ThreadItemDoneEvent(item=WidgetItem(
                id=self.store.generate_item_id("message", thread, context), thread_id=thread.id,
                created_at=datetime.now(), widget=refused_card(name, len(arguments)),
                copy_text=f"{name} was refused: its arguments are too long to review"))
        if not waiting:  # nothing left to ask about: the run goes on with the refusals
            resumed = Runner.run_streamed(result.last_agent, run_state, run_config=RUN_CONFIG,
                                          max_turns=self.settings.chat.max_turns)
            async for event in self._stream(thread, agent_context, resumed, context):
                yield event
            return
        state = run_state.to_string(context_serializer=_no_context)
        for approval in waiting:
            name, arguments = approval.name or "unknown", approval.arguments or "{}"
            item_id = self.store.generate_item_id("message", thread, context)
            is_new = await asyncio.to_thread(self.store.save_pending_approval_sync, context.admin, thread.id,
                                             approval.call_id, item_id, name, arguments, state)
            if is_new:
                yield ThreadItemDoneEvent(item=WidgetItem(
                    id=item_id, thread_id=thread.id, created_at=datetime.now(),
                    widget=approval_card(name, arguments, approval.call_id, self.placeholders_of(name)),
                    copy_text=f"{name} waits for an admin's approval",
                ))

    async def action(self, thread, action, sender, context):
        """Approve / Deny clicked on an approval card: the first decision resumes the held run; any later click on
        the same card (or another admin's, whose thread is not found before this runs) changes nothing."""
        decision = {APPROVE: "approved", DENY: "denied"}.get(action.type)
        call_id = (action.payload or {}).get("call_id") if isinstance(action.payload, dict) else None
        if decision is None or not isinstance(call_id, str):
            return
        row = await asyncio.to_thread(self.store.decide_approval_sync, context.admin, thread.id, call_id, decision)
        if row is None:
            return
        async for event in self._resume(thread, row, decision == "approved", context):
            yield event

    async def _resume(self, thread, row, approved, context):
        from agents import RunState

        from agent.sdk_tools import CALL_OUTCOMES

        agent = await self._agent(context)
        agent_context = AgentContext(thread=thread, store=self.store, request_context=context)
        card = await self.store.load_item(thread.id, row.item_id, context)
        if approved and row.tool not in {tool.name for tool in agent.tools}:
            # Held while the admin had other roles: the admin deciding now may not run it.
            if self.record_tool_call is not None:
                self.record_tool_call(context, row.tool, None, row.call_id, "tool_not_allowed")
            yield _replaced(card, decided_card(row.tool, f"Not run: your roles do not allow {row.tool}.", "danger"))
            return
        state = await RunState.from_string(agent, row.state, context_override=agent_context)
        interruption = next((item for item in state.get_interruptions() if item.call_id == row.call_id), None)
        if interruption is None:  # cannot happen with a state we kept; say so rather than hang
            yield _replaced(card, decided_card(row.tool, "The held call could not be found: nothing was run.", "danger"))
            return
        if approved:
            state.approve(interruption)
            yield _replaced(card, decided_card(row.tool, f"Approved: running {row.tool}…", "secondary"))
        else:
            state.reject(interruption, rejection_message=(
                f"The admin declined this call of {row.tool}: it was not run. Tell the admin it was not done."))
            if self.record_tool_call is not None:
                self.record_tool_call(context, row.tool, None, row.call_id, "approval_denied")
            yield _replaced(card, decided_card(row.tool, f"Denied: {row.tool} was not run.", "danger"))
        outcomes = {}
        token = CALL_OUTCOMES.set(outcomes)
        try:
            result = Runner.run_streamed(agent, state, run_config=RUN_CONFIG, max_turns=self.settings.chat.max_turns)
            async for event in self._stream(thread, agent_context, result, context):
                yield event
        finally:
            CALL_OUTCOMES.reset(token)
        if approved:
            ms, error_code = outcomes.get(row.call_id, (None, None))
            if row.call_id not in outcomes:
                text, color = f"Approved: {row.tool} did not run.", "danger"
            elif error_code:
                text, color = f"Approved: {row.tool} failed ({error_code}).", "danger"
            else:
                text, color = f"Approved: {row.tool} ran in {ms:.0f} ms.", "success"
            yield _replaced(card, decided_card(row.tool, text, color))


TITLE_CHARS = 60


def thread_title(user_message):
    """A new thread's title: the start of its first message, on one line."""
    text = " ".join("".join(getattr(part, "text", "") for part in user_message.content).split())
    text = text.removeprefix(VOICE_MARK.strip()).strip()
    return text if len(text) <= TITLE_CHARS else text[:TITLE_CHARS - 1].rstrip() + "…"


def _no_context(_context):
    # The run's context (ChatKit's AgentContext: thread, store, request) is rebuilt for the resumed run, not stored.
    return {}


def _replaced(card, widget):
    from chatkit.types import ThreadItemReplacedEvent

    return ThreadItemReplacedEvent(item=card.model_copy(update={"widget": widget}))


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
