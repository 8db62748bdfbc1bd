"""The agent's tools in one registry: the agent file's HTTP tools plus the tools its MCP servers list (Streamable HTTP).

API (build one per app at start-up; it is safe to share between threads):

    tools = AgentTools(definition, limits=settings.tools)   # lists every [[mcp_servers]]'s tools now; an unreachable
                                             # server is logged as a warning and its tools are missing until refresh()
    tools.function_tools(roles=None) -> list[dict]   # [{"type": "function", "name", "description", "parameters"}, ...]:
                                             # Realtime session "tools"; also the Responses API / Agents SDK shape.
                                             # `roles` (an admin's, a tuple): only the tools they may use; None: all
    tools.get(name) -> HttpTool | McpTool | None
    tools.needs_approval(name) -> bool       # confirm: ask the admin, then run(..., approved=True)
    tools.may_run(name, roles) -> bool
    tools.run(name, arguments_json, approved=False, roles=None) -> ToolResult(output, ms)   # errors: ToolError;
                                             # tool_not_allowed (403) when `roles` may not run it
    tools.refresh() -> dict[label, message]  # lists the MCP servers' tools again; returns the unreachable ones
    tools.problems                           # the same dict, from the last listing
    tools.refresh_if_due() -> bool           # refresh() when a server had a problem and the last listing is at least
                                             # SELF_REFRESH_SECONDS old; function_tools() and a call to a missing
                                             # tool do it, so a server that came back joins without a restart
    tools.version                            # changes whenever a refresh changes the tools (chat rebuilds its own)
    tools.listed(roles=None) -> list[dict]   # name, description, confirm and source ("http" or the MCP label), no refresh

An MCP tool asks for the admin's approval unless it declares itself read-only (readOnlyHint, and not destructiveHint)
or its server's no_confirm names it; `confirm = true` on the server makes every tool of it ask. Its results are
bounded as an HTTP tool's are: at most ToolSettings.max_response_bytes per answer (more fails the call: a cut JSON-RPC
message cannot be read), timeout_seconds for the whole call, no redirects, no proxy from the environment.

Lower level: list_tools(server) -> list[McpTool] and call_tool(server, name, arguments) -> str, both synchronous
(they run the mcp client on a background asyncio loop, so they work from Flask views and from async code's threads),
both raising McpUnreachable(message) when the server cannot be reached or refuses the call (McpTimeout, a subclass,
when it does not answer within its timeout_seconds); each call opens and closes its own MCP session.
An HTTP tool's name wins over an MCP tool of the same name (the MCP one is skipped with a warning).
"""

import errno
import json
import logging
import threading
import time
from dataclasses import dataclass

import anyio
import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from agent.definition import NAME, McpServer, may_use, redact
from agent.executor import (
    DEFAULT_LIMITS,
    ToolFailed,
    ToolNotAllowed,
    ToolResult,
    ToolTimeout,
    UnknownTool,
    check_approval,
    clip,
    parse_arguments,
    run_http,
)
from core.background_loop import BackgroundLoop

log = logging.getLogger(__name__)
_loop = BackgroundLoop(name="agent-mcp")

# With a server missing, the tools are listed again when next asked for, at most this often. `clock` is a module
# global so tests can move time.
SELF_REFRESH_SECONDS = 30
clock = time.monotonic


class McpUnreachable(Exception):
    """An MCP server that could not be reached or refused: the message names the server, its URL and why."""


class McpTimeout(McpUnreachable):
    """An MCP server that did not answer within its timeout_seconds."""


class McpTooLarge(Exception):
    """An MCP server's answer that was longer than ToolSettings.max_response_bytes."""


@dataclass(frozen=True)
class McpTool:
    server: McpServer
    name: str
    description: str
    parameters: dict
    read_only: bool = False  # annotated readOnlyHint and not destructiveHint
    extra_arguments: bool = False  # its schema lets the model send keys beyond `properties`

    @property
    def confirm(self):
        if self.server.confirm:
            return True
        return self.name not in self.server.no_confirm and not self.read_only

    @property
    def roles(self):
        return self.server.roles


def _is_read_only(annotations):
    # MCP's defaults: readOnlyHint false, destructiveHint true. Both are hints from the server, so only a tool that
    # says it reads and does not say it destroys runs without asking.
    if annotations is None:
        return False
    return getattr(annotations, "read_only_hint", None) is True and getattr(annotations, "destructive_hint", None) is not True


def list_tools(server, limits=DEFAULT_LIMITS):
    """The tools `server` lists, filtered by its allowed_tools; raises McpUnreachable."""
    result = _call(server, lambda session: session.list_tools(), limits)
    tools = []
    for tool in result.tools:
        if server.allowed_tools is not None and tool.name not in server.allowed_tools:
            continue
        if not NAME.match(tool.name):
            log.warning("MCP server %r: tool %r skipped: OpenAI accepts only names of 1 to 64 letters, digits, _ or -",
                        server.label, tool.name)
            continue
        schema = dict(tool.input_schema or {"type": "object", "properties": {}})
        schema.pop("title", None)  # the SDK's generated "row_countArguments": noise for the model
        extra = schema.get("additionalProperties", False) is not False or bool(schema.get("patternProperties"))
        schema["additionalProperties"] = schema.get("additionalProperties", False)
        tools.append(McpTool(server, tool.name, tool.description or tool.name, schema,
                             _is_read_only(getattr(tool, "annotations", None)), extra))
    missing = sorted(set(server.no_confirm) - {tool.name for tool in tools})
    if missing:
        log.warning("MCP server %r: no_confirm names %s, which it does not list", server.label, ", ".join(missing))
    return tools


def call_tool(server, name, arguments, limits=DEFAULT_LIMITS):
    """Calls tool `name` on `server` and returns its text output; raises McpUnreachable or ToolFailed."""
    result = _call(server, lambda session: session.call_tool(name, arguments), limits)
    texts = [block.text for block in result.content if getattr(block, "type", None) == "text"]
    output = "\n".join(texts)
    if not texts and result.structured_content is not None:
        output = json.dumps(result.structured_content)
    output = redact(output, server.secrets)
    if result.is_error:
        raise ToolFailed(f"The tool {name!r} of MCP server {server.label!r} failed: {output or 'no details given'}")
    return output


def _call(server, operation, limits=DEFAULT_LIMITS):
    """Opens a session to `server`, runs `operation(session)` and closes it, on the background loop."""
    statuses, too_large = [], []

    async def record(response):
        if response.status_code >= 400:
            statuses.append(response.status_code)

    async def run():
        # No redirects (httpx's default, said here on purpose) and no proxy or .netrc from the environment, like the
        # HTTP tools; every answer is counted as it arrives.
        transport = _CappedTransport(httpx2.AsyncHTTPTransport(proxy=limits.proxy_url, trust_env=False),
                                     limits.max_response_bytes, too_large)
        async with httpx2.AsyncClient(headers=server.headers, timeout=httpx2.Timeout(server.timeout_seconds),
                                      event_hooks={"response": [record]}, follow_redirects=False, trust_env=False,
                                      transport=transport) as http:
            with anyio.fail_after(server.timeout_seconds):
                async with streamable_http_client(server.url, http_client=http) as (read, write):
                    async with ClientSession(read, write) as session:
                        await session.initialize()
                        return await operation(session)

    shown = f"MCP server {server.label!r} at {redact(server.url, server.secrets)}"
    try:
        return _loop.run(run())
    except ToolFailed:
        raise
    except TimeoutError:
        raise McpTimeout(redact(f"{shown} did not answer within {server.timeout_seconds:g} seconds", server.secrets)) from None
    except BaseException as error:  # anyio wraps transport errors in (nested) exception groups
        if isinstance(error, (KeyboardInterrupt, SystemExit)):
            raise
        # The mcp client reads answers in a task of its own and reports a broken one in its own words: the flag says.
        if too_large or any(isinstance(cause, McpTooLarge) for cause in _causes(error)):
            raise McpUnreachable(redact(f"{shown} answered more than {limits.max_response_bytes:,} bytes, the most a "
                                        "tool reads", server.secrets)) from None
        reason = f"it answered HTTP {statuses[-1]}" if statuses else _reason(error)
        if reason == "it timed out":  # httpx2's own timeout (same length) can fire before fail_after's
            raise McpTimeout(redact(f"{shown} did not answer within {server.timeout_seconds:g} seconds", server.secrets)) from None
        raise McpUnreachable(redact(f"{shown} could not be reached: {reason}", server.secrets)) from None


class _CappedTransport(httpx2.AsyncBaseTransport):
    """Stops reading an answer once it passes `limit` bytes, so a server cannot fill the worker's memory."""

    def __init__(self, inner, limit, too_large):
        self.inner, self.limit, self.too_large = inner, limit, too_large

    async def handle_async_request(self, request):
        response = await self.inner.handle_async_request(request)
        return httpx2.Response(status_code=response.status_code, headers=response.headers,
                               stream=_CappedStream(response.stream, self.limit, self.too_large),
                               extensions=response.extensions)

    async def aclose(self):
        await self.inner.aclose()


class _CappedStream(httpx2.AsyncByteStream):
    def __init__(self, inner, limit, too_large):
        self.inner, self.limit, self.too_large = inner, limit, too_large

    async def __aiter__(self):
        size = 0
        async for chunk in self.inner:
            size += len(chunk)
            if size > self.limit:
                self.too_large.append(size)
                raise McpTooLarge(f"more than {self.limit} bytes")
            yield chunk

    async def aclose(self):
        await self.inner.aclose()


def _reason(error):
    for cause in _causes(error):
        if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == errno.ECONNREFUSED:
            return "connection refused"
    for cause in _causes(error):
        if isinstance(cause, httpx2.TimeoutException) or isinstance(cause, TimeoutError):
            return "it timed out"
        if isinstance(cause, httpx2.ConnectError):
            return f"cannot connect ({cause})"
    innermost = list(_causes(error))[-1]
    return str(innermost) or type(innermost).__name__


def _causes(error, seen=None):
    """`error`, the exceptions grouped in it and their causes, depth first."""
    seen = seen if seen is not None else set()
    if error is None or id(error) in seen:
        return
    seen.add(id(error))
    yield error
    for inner in getattr(error, "exceptions", ()):
        yield from _causes(inner, seen)
    yield from _causes(error.__cause__ or error.__context__, seen)


class AgentTools:
    """The agent's HTTP tools and its MCP servers' tools, by name."""

    def __init__(self, definition, *, connect=True, limits=DEFAULT_LIMITS):
        self.definition = definition
        self.limits = limits
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()  # one self-refresh at a time; the others go on with the tools they have
        self._mcp = {}  # name -> McpTool
        self.problems = {}  # label -> why its tools are missing
        self.version = 0
        self._refreshed_at = clock()
        if connect:
            self.refresh()

    def refresh(self):
        """Lists every MCP server's tools again; returns {label: message} for the servers that could not be reached."""
        found, problems = {}, {}
        http_names = {tool.name for tool in self.definition.tools}
        for server in self.definition.mcp_servers:
            try:
                tools = list_tools(server, self.limits)
            except McpUnreachable as error:
                problems[server.label] = str(error)
                log.warning("%s; its tools are missing until a refresh", error)
                continue
            for tool in tools:
                if tool.name in http_names or tool.name in found:
                    log.warning("MCP server %r: tool %r skipped: another tool has that name", server.label, tool.name)
                    continue
                found[tool.name] = tool
        with self._lock:
            if [(tool.server.label, tool.name) for tool in self._mcp.values()] != [
                    (tool.server.label, tool.name) for tool in found.values()]:
                self.version += 1
            self._mcp, self.problems, self._refreshed_at = found, problems, clock()
        return dict(problems)

    def refresh_if_due(self):
        """Refreshes when an MCP server had a problem at the last listing, at least SELF_REFRESH_SECONDS ago; returns
        whether it did. It blocks its caller for the listing (up to a server's timeout_seconds); a caller arriving
        while another refreshes does not wait."""
        with self._lock:
            due = bool(self.problems) and clock() - self._refreshed_at >= SELF_REFRESH_SECONDS
        if not due or not self._refreshing.acquire(blocking=False):
            return False
        try:
            self.refresh()
        finally:
            self._refreshing.release()
        return True

    def listed(self, roles=None):
        """What the status panel shows of each tool (of those `roles` may use), without refreshing."""
        return [{"name": tool.name, "description": tool.description, "confirm": tool.confirm,
                 "source": tool.server.label if isinstance(tool, McpTool) else "http"} for tool in self._all(roles)]

    def _all(self, roles=None):
        with self._lock:
            tools = [*self.definition.tools, *self._mcp.values()]
        return tools if roles is None else [tool for tool in tools if may_use(tool.roles, roles)]

    def function_tools(self, roles=None):
        self.refresh_if_due()
        return [{"type": "function", "name": tool.name, "description": tool.description, "parameters": tool.parameters}
                for tool in self._all(roles)]

    def get(self, name):
        return next((tool for tool in self._all() if tool.name == name), None)

    def needs_approval(self, name):
        return self._known(name).confirm

    def may_run(self, name, roles):
        tool = self.get(name)
        return tool is not None and may_use(tool.roles, roles)

    def run(self, name, arguments_json, approved=False, roles=None):
        tool = self._known(name, roles)
        if roles is not None and not may_use(tool.roles, roles):
            held = ", ".join(roles) or "none"
            raise ToolNotAllowed(f"The tool {name!r} is for the role {' or '.join(tool.roles)}; your roles "
                                 f"({held}) may not run it. An admin can change roles with flask admin role.")
        arguments = parse_arguments(name, arguments_json, tool.parameters, tool.extra_arguments)
        check_approval(name, tool.confirm, approved)
        if not isinstance(tool, McpTool):
            return run_http(tool, arguments, self.limits)
        started = time.perf_counter()
        try:
            output = call_tool(tool.server, name, arguments, self.limits)
        except McpUnreachable as error:
            failure = ToolTimeout if isinstance(error, McpTimeout) else ToolFailed
            raise failure(f"The tool {name!r} failed: {error}.") from None
        return ToolResult(clip(output), (time.perf_counter() - started) * 1000)

    def _known(self, name, roles=None):
        tool = self.get(name)
        if tool is None and self.refresh_if_due():
            tool = self.get(name)
        if tool is not None:
            return tool
        with self._lock:
            problems = dict(self.problems)
        for server in self.definition.mcp_servers:
            if server.label in problems and server.allowed_tools and name in server.allowed_tools:
                raise ToolFailed(f"The tool {name!r} failed: {problems[server.label]}.")
        known = ", ".join(tool.name for tool in self._all(roles)) or "none"
        hint = "".join(f" {message}; its tools are missing until a refresh." for message in problems.values())
        raise UnknownTool(f"There is no tool named {name!r} (tools: {known}).{hint}")
