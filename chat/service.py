"""Self-hosted chat for one app, behind one object: the ChatKit server (built on first use) and the background loop it
runs on, the agent's tools for each run, stream slots, pruning and the voice transcripts. The blueprint calls only this.

openai-chatkit and openai-agents take about a second to import, so they load on the first chat request (or in a
start-up thread), not when this module is imported (docs/performance.md, start-up time).
"""

import functools
import gc
import json
import threading
from dataclasses import dataclass

from flask import current_app

import activity
from chat.retention import prune_threads_now_and_then
from chat.streams import stream_slots
from chat.tables import approvals_table, current_thread_id, items_table, threads_table
from core.background_loop import BackgroundLoop
from core.database import create_tables
from core.errors import ApiError, bad_request
from core.extensions import TOOL_SCOPE, check_admin_limit

# One per worker process, shared by every app the process builds (tests build many).
background_loop = BackgroundLoop(name="chatkit-loop")
# Written into an answer's stream while the model pauses (an SSE comment, which ChatKit's parser skips), so a client
# that left is noticed within a second (BackgroundLoop.stream's idle_chunk) and proxies see the stream alive.
SSE_KEEPALIVE = b": keep-alive\n\n"


def _nothing_to_release():
    pass


@dataclass(frozen=True)
class ChatAnswer:
    """One /chatkit answer: `json` bytes, or `stream`, a generator of SSE bytes that gives its stream slot back when
    it ends; `release` gives it back too, for a stream the server closes before reading it (safe to call twice)."""

    json: bytes | None = None
    stream: object = None
    release: object = _nothing_to_release


class ChatService:
    """The app's self-hosted chat. `model` replaces the agent's model (tests: a scripted one); `agent_tools` (an
    agent.mcp_tools.AgentTools, or None) gives the agent its tools, each run only those its admin's roles allow;
    `record_tool_call(admin, channel, name, ms, call_id, error_code, roles)` writes each chat tool call to the
    activity record; `count_tool_call(admin)` counts one against TOOL_RATE_LIMIT (raises the 429 ApiError)."""

    def __init__(self, settings, engine, *, model=None, agent_tools=None, record_tool_call=None,
                 count_tool_call=None, logger=None):
        self.settings, self.engine, self.model = settings, engine, model
        self.agent_tools = agent_tools
        self._record_tool_call = record_tool_call
        self._count_tool_call = count_tool_call
        self.logger = logger
        self._server = None
        self._build_lock = threading.Lock()
        self._tools_version, self._tools = None, ()

    # --- the ChatKit server -------------------------------------------------------------------------------------

    def server(self):
        """The ChatKit server, built on first use (the first import of the chat libraries happens here)."""
        with self._build_lock:
            if self._server is None:
                from chat.agent import build_model
                from chat.server import ConsoleChatKitServer
                from chat.store import DatabaseStore

                model = self.model or build_model(self.settings)
                tools = self._current_tools if self.agent_tools is not None else ()
                self._server = ConsoleChatKitServer(DatabaseStore(self.engine), self.settings, model, tools,
                                                    self._record_for_admin, self._placeholders_of)
            return self._server

    def import_libraries_in_background(self):
        """Imports the chat libraries in a thread, so the first message does not wait for them."""
        threading.Thread(target=_import_chat_libraries, name="chatkit-import", daemon=True).start()

    def _current_tools(self, roles=()):
        """The agent file's tools as FunctionTools for the next run of an admin with `roles`, only those they may
        use: AgentTools refreshes itself when an MCP server was missing (agent.mcp_tools), and the FunctionTools are
        rebuilt when its tools changed."""
        from agent.sdk_tools import sdk_function_tools

        self.agent_tools.refresh_if_due()
        version = self.agent_tools.version
        if self._tools_version != version:
            built = sdk_function_tools(self.agent_tools, record=self._record, admit=self._admit)
            self._tools, self._tools_version = tuple(built), version
        return tuple(tool for tool in self._tools if self.agent_tools.may_run(tool.name, roles))

    def _placeholders_of(self, name):
        """The {arg}s of a tool's URL, which its approval card shows first."""
        return getattr(self.agent_tools.get(name), "placeholders", ()) if self.agent_tools is not None else ()

    def _admit(self, run_context, name):
        """Before each chat tool call: counts it against the admin's TOOL_RATE_LIMIT (the voice page's calls use the
        same budget) and answers the roles it runs with; raises the 429 ApiError when the budget is used up."""
        request_context = _request_context(run_context)
        if self._count_tool_call is not None:
            self._count_tool_call(getattr(request_context, "shown_name", None) or "unknown")
        return getattr(request_context, "roles", ())

    def _record(self, run_context, name, ms, call_id, error_code):
        """Records one chat tool call for the admin whose request ran it (the ChatKit AgentContext's ChatContext)."""
        request_context = _request_context(run_context)
        admin = getattr(request_context, "shown_name", None) or "unknown"
        self._record_as(admin, getattr(request_context, "roles", ()), name, ms, call_id, error_code)

    def _record_for_admin(self, context, name, ms, call_id, error_code):
        """Records a call the server decided itself (denied, refused, not allowed) for the request's ChatContext."""
        self._record_as(context.shown_name, context.roles, name, ms, call_id, error_code)

    def _record_as(self, admin, roles, name, ms, call_id, error_code):
        if self._record_tool_call is not None:
            self._record_tool_call(admin, "chat", name, ms, call_id, error_code, roles)

    # --- what the blueprint asks ---------------------------------------------------------------------------------

    def answer(self, body, admin, name, roles=()):
        """Runs one ChatKit request for `admin` (the admin's id; `name` is what the activity record shows and what
        stream slots count by; `roles` decide which of the agent's tools the run gets). A request that starts a model run holds a slot until its answer has streamed (429
        too_many_streams over a cap); listing threads needs none. The stream's first chunk is already computed, so a
        bad thread id raises here (as ApiError) rather than mid-stream."""
        chat = self.settings.chat
        release = (stream_slots.take(name, chat.max_streams_per_admin, chat.max_streams_per_worker)
                   if starts_a_stream(body) else _nothing_to_release)
        try:
            kind, payload = self._process(body, admin, name, tuple(roles))
        except BaseException:
            release()
            raise
        self.prune_now_and_then()
        if kind == "json":
            release()
            return ChatAnswer(json=payload)
        return ChatAnswer(stream=_releasing(payload, release), release=release)

    def _process(self, body, admin, name, roles):
        from chatkit.store import NotFoundError
        from pydantic import ValidationError

        from chat.server import is_streaming
        from chat.store import ChatContext

        server = self.server()
        try:
            result = background_loop.run(server.process(body, ChatContext(admin, name, roles)))
            if not is_streaming(result):
                return "json", result.json
            chunks = background_loop.stream(result, idle_chunk=SSE_KEEPALIVE)
            try:
                first = next(chunks)
            except StopIteration:
                return "stream", iter(())
        except ValidationError as error:
            raise bad_request(f"Not a ChatKit request: {error.errors()[0].get('msg', 'invalid body')}.") from None
        except NotFoundError as error:
            raise not_found(str(error).removesuffix(" not found")) from None
        return "stream", _prepend(first, chunks)

    def add_transcripts(self, admin, entries, thread_id=None):
        """Writes voice transcript entries into the admin's thread (chat.server.add_voice_transcripts); returns
        (thread_id, number written)."""
        from chatkit.store import NotFoundError

        from chat.server import add_voice_transcripts

        try:
            written = add_voice_transcripts(self.server().store, admin, entries, thread_id)
        except NotFoundError:
            raise not_found(f"Thread {thread_id}") from None
        self.prune_now_and_then()
        return written

    def current_thread(self, admin):
        """The admin's most recently active self-hosted thread id, or None (no ChatKit import needed)."""
        return current_thread_id(self.engine, admin)

    def export_hosted_threads(self, openai_client, admin, user):
        """Copies the hosted ChatKit threads of ChatKit user `user` into `admin`'s self-hosted threads."""
        from chat.export import export_hosted_threads

        return export_hosted_threads(openai_client, self.server().store, admin, user)

    def prune_now_and_then(self):
        prune_threads_now_and_then(self.engine, self.settings.chat.retention_days, self.logger)


def init_chat(app, settings, engine):
    """Creates the store's tables and the app's ChatService; the ChatKit server itself is built on first use. The
    Flask config key CHATKIT_AGENT_MODEL (an agents Model) replaces the real model: tests plug in a scripted one,
    never the network."""
    create_tables(engine, tables=[threads_table, items_table, approvals_table])
    service = ChatService(
        settings, engine, model=app.config.get("CHATKIT_AGENT_MODEL"), agent_tools=app.extensions.get("agent_tools"),
        record_tool_call=functools.partial(activity.record_tool_call, app),
        count_tool_call=functools.partial(_count_tool_call, app, settings.auth.tool_rate_limit), logger=app.logger,
    )
    app.extensions["chat"] = service
    if settings.chat.mode == "self-hosted" and not app.testing:
        service.import_libraries_in_background()
    return service


def chat_service():
    """The current app's ChatService."""
    return current_app.extensions["chat"]


def _count_tool_call(app, limit_text, admin):
    """Counts one chat tool call of `admin` under the voice page's tool scope and key (core.extensions TOOL_SCOPE),
    so both channels share one TOOL_RATE_LIMIT budget. Runs in the tools' pool, outside any request: hence `app`."""
    with app.app_context():
        check_admin_limit(TOOL_SCOPE, limit_text, key=admin)


def _request_context(run_context):
    """The ChatContext of the request whose run calls a tool (the ChatKit AgentContext's request_context)."""
    return getattr(getattr(run_context, "context", None), "request_context", None)


def _import_chat_libraries():
    import chat.server  # noqa: F401

    # The chat libraries add a few hundred thousand objects that live as long as the process. Frozen, the garbage
    # collector stops scanning them: a full collection took 85-156 ms in a worker (gc.callbacks), on some mint.
    gc.freeze()


@functools.cache
def _streaming_types():
    from typing import get_args

    from chatkit.types import StreamingReq

    return frozenset(request.model_fields["type"].default for request in get_args(StreamingReq))


def starts_a_stream(body):
    """Whether a ChatKit request body asks for a streamed answer (a model run), as ChatKit's own StreamingReq says;
    listing or loading threads does not. An unreadable body is refused later as not a ChatKit request."""
    try:
        kind = json.loads(body).get("type")
    except (ValueError, AttributeError):
        return False
    return kind in _streaming_types()


def not_found(what):
    return ApiError(404, "not_found", f"{what} does not exist or belongs to another admin.")


def _prepend(first, rest):
    try:
        yield first
        yield from rest
    finally:
        rest.close()  # a closed response (client gone) cancels the run on the loop


def _releasing(chunks, release):
    """The stream, giving its slot back when it ends or the client goes away (the server closes it)."""
    try:
        yield from chunks
    finally:
        release()
