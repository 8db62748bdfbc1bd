"""Self-hosted ChatKit (CHATKIT_MODE=self-hosted): our own /chatkit endpoint built with openai-chatkit and the
OpenAI Agents SDK, its store in the project's database, and one background event loop per worker process.

openai-chatkit and openai-agents take about a second to import, so they load on the first chat request, not at
start-up (docs/performance.md, start-up time); only the tables are defined up front.
"""

import functools
import gc
import json
import threading

from flask import current_app

from chat.loop import BackgroundLoop
from chat.tables import approvals_table, current_thread_id, items_table, threads_table
from core.errors import ApiError, bad_request

# One per worker process, shared by every app the process builds (tests build many).
background_loop = BackgroundLoop()
_build_lock = threading.Lock()


class ChatServerSlot:
    """Builds the ChatKit server on first use. `model` replaces the agent's model (tests: a scripted one);
    `app` and its agent_tools (or None) give the agent its tools, recorded in the app's activity record."""

    def __init__(self, settings, engine, model=None, app=None):
        self.settings, self.engine, self.model, self.app = settings, engine, model, app
        self._server = None

    def get(self):
        with _build_lock:
            if self._server is None:
                from chat.agent import build_model
                from chat.server import ConsoleChatKitServer
                from chat.store import DatabaseStore

                model = self.model or build_model(self.settings)
                self._server = ConsoleChatKitServer(DatabaseStore(self.engine), self.settings, model, self._tools(),
                                                    self._record_for_admin if self.app is not None else None,
                                                    self._placeholders_of)
            return self._server

    def _tools(self):
        """A function giving the agent file's tools as FunctionTools for the next run of an admin with `roles` (only
        those they may use): AgentTools refreshes itself when an MCP server was missing (agent.mcp_tools), and the
        FunctionTools are rebuilt when its tools changed."""
        agent_tools = self.app.extensions.get("agent_tools") if self.app is not None else None
        if agent_tools is None:
            return ()
        from agent.sdk_tools import sdk_function_tools

        built = {"version": None, "tools": ()}

        def current(roles=()):
            agent_tools.refresh_if_due()
            version = agent_tools.version
            if built["version"] != version:
                built["tools"] = tuple(sdk_function_tools(agent_tools, record=self._record, admit=self._admit))
                built["version"] = version
            return tuple(tool for tool in built["tools"] if agent_tools.may_run(tool.name, roles))

        return current

    def _placeholders_of(self, name):
        agent_tools = self.app.extensions.get("agent_tools") if self.app is not None else None
        return getattr(agent_tools.get(name), "placeholders", ()) if agent_tools is not None else ()

    def _admit(self, run_context, name):
        """Before each chat tool call: counts it against the admin's TOOL_RATE_LIMIT (the voice page's calls use the
        same budget) and answers the roles it runs with; raises the 429 ApiError when the budget is used up."""
        from core.extensions import TOOL_SCOPE, check_admin_limit

        request_context = _request_context(run_context)
        with self.app.app_context():
            check_admin_limit(TOOL_SCOPE, self.settings.auth.tool_rate_limit,
                              key=getattr(request_context, "shown_name", None) or "unknown")
        return getattr(request_context, "roles", ())

    def _record(self, run_context, name, ms, call_id, error_code):
        """Records one chat tool call for the admin whose request ran it (the ChatKit AgentContext's ChatContext)."""
        import activity

        request_context = _request_context(run_context)
        admin = getattr(request_context, "shown_name", None) or "unknown"
        activity.record_tool_call(self.app, admin, "chat", name, ms, call_id, error_code,
                                  getattr(request_context, "roles", ()))

    def _record_for_admin(self, context, name, ms, call_id, error_code):
        import activity

        activity.record_tool_call(self.app, context.shown_name, "chat", name, ms, call_id, error_code, context.roles)


def _request_context(run_context):
    return getattr(getattr(run_context, "context", None), "request_context", None)


def init_chat_server(app, settings, engine):
    """Creates the store's tables; the server itself is built on first use. The Flask config key
    CHATKIT_AGENT_MODEL (an agents Model) replaces the real model: tests plug in a scripted one, never the network."""
    from core.database import create_tables

    create_tables(engine, tables=[threads_table, items_table, approvals_table])
    app.extensions["chatkit_server"] = ChatServerSlot(settings, engine, app.config.get("CHATKIT_AGENT_MODEL"), app)
    if settings.chat.mode == "self-hosted" and not app.testing:
        # Import the libraries in the background, so the first message does not wait for them.
        threading.Thread(target=_import_chat_libraries, name="chatkit-import", daemon=True).start()


def _import_chat_libraries():
    import chat.server  # noqa: F401

    # The chat libraries add a few hundred thousand objects that live as long as the process. Frozen, the garbage
    # collector stops scanning them: a full collection took 85-156 ms in a worker (gc.callbacks), on some mint.
    gc.freeze()


def chat_server():
    return current_app.extensions["chatkit_server"].get()


def current_chat_thread(admin):
    """The admin's most recently active self-hosted thread id, or None (no ChatKit import needed)."""
    return current_thread_id(current_app.extensions["chatkit_server"].engine, admin)


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


def process_chatkit_request(body, admin, name=None, roles=()):
    """Runs one ChatKit request for `admin` (the admin's id; `name` is what the activity record shows; `roles` decide
    the agent's tools). Returns ("json", bytes) or ("stream", generator of SSE bytes); the
    stream's first chunk is already computed, so a bad thread id raises here (as ApiError) rather than mid-stream."""
    from chatkit.store import NotFoundError
    from pydantic import ValidationError

    from chat.server import is_streaming
    from chat.store import ChatContext

    server = chat_server()
    try:
        result = background_loop.run(server.process(body, ChatContext(admin, name, tuple(roles))))
        if not is_streaming(result):
            return "json", result.json
        chunks = background_loop.stream(result)
        try:
            first = next(chunks)
        except StopIteration:
            return "stream", iter(())
    except ValidationError as error:
        raise bad_request(f"Not a ChatKit request: {error.errors()[0].get('msg', 'invalid body')}.") from None
    except NotFoundError as error:
        raise not_found(str(error).removesuffix(" not found")) from None
    return "stream", _prepend(first, chunks)


def add_transcripts(admin, entries, thread_id=None):
    """Writes voice transcript entries into the admin's thread (chat.server.add_voice_transcripts)."""
    from chatkit.store import NotFoundError

    from chat.server import add_voice_transcripts

    try:
        return add_voice_transcripts(chat_server().store, admin, entries, thread_id)
    except NotFoundError:
        raise not_found(f"Thread {thread_id}") from None


def _prepend(first, rest):
    try:
        yield first
        yield from rest
    finally:
        rest.close()  # a closed response (client gone) cancels the run on the loop
