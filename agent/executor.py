"""Running one tool call on the server: checked arguments, the admin's approval, the HTTP request, errors as ApiErrors.

API (a view can just call it and let the errors propagate: each is a core.errors.ApiError with status and code):

    run_tool(definition_or_registry, name, arguments_json, *, approved=False) -> ToolResult(output: str, ms: float)
        unknown_tool (400)       no tool by that name
        invalid_arguments (400)  arguments_json is not a JSON object, does not match the tool's parameters, has a key
                                 outside them, or fills a {placeholder} with "", ".", ".." or a control character
        tool_not_allowed (403)   the admin's roles may not run it (AgentTools.run(..., roles=...))
        approval_required (409)  the tool has confirm = true and approved is False: ask the admin, then call again
        tool_failed (502)        the platform answered an HTTP error (its status is in the message), a redirect the
                                 tool may not follow, or was unreachable
        tool_timeout (504)       no whole answer within the tool's timeout_seconds
    run_in_tool_pool(function, *args, **kwargs)   # awaitable: runs a blocking call in the tools' own thread pool

`definition_or_registry` is an AgentDefinition (its HTTP tools only) or an agent.mcp_tools.AgentTools (HTTP and MCP).
A call never leaves its template: the URL it sends keeps the template's scheme, host, port and path up to the first
{placeholder}, or nothing is sent. The answer is read as a stream up to ToolSettings.max_response_bytes (the output
then says it was cut) and outputs longer than MAX_OUTPUT_CHARS are cut, and say so. Connecting, sending and reading
together get timeout_seconds. Redirects are not followed unless the tool says follow_redirects = true, and then only
within the URL's origin. Proxy variables, .netrc and the like from the environment are ignored (ToolSettings.proxy_url
is the one proxy). No output, message or log line holds a ${VAR} value of the file (agent.definition.redact).
"""

import asyncio
import functools
import json
import logging
import os
import threading
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import quote, unquote, urljoin, urlsplit

import requests
import urllib3
from jsonschema import Draft202012Validator

from agent.definition import AgentDefinition, redact
from agent.tool_http import Deadline, session
from core.config import tool_settings
from core.errors import ApiError

MAX_OUTPUT_CHARS = 8000  # ~2,000 tokens: enough for a listing, small enough for a voice turn's context
MAX_ERROR_BODY_CHARS = 300
MAX_REDIRECTS = 5
# Tool calls of the chat agent run here, not in asyncio's default pool, which the chat store's database reads use:
# a slow platform then holds at most these threads, never a chat's reads. Each call ends by its timeout_seconds.
TOOL_POOL_THREADS = 8
READ_CHUNK_BYTES = 64 * 1024
DEFAULT_LIMITS = tool_settings({})  # for a caller handed no settings: the defaults core/config.py writes
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ToolResult:
    output: str
    ms: float


class ToolError(ApiError):
    """A tool call that did not produce an output; `status` and `code` are fixed per subclass."""

    status = 500
    code = "tool_error"

    def __init__(self, message):
        super().__init__(type(self).status, type(self).code, message)


class UnknownTool(ToolError):
    status, code = 400, "unknown_tool"


class InvalidArguments(ToolError):
    status, code = 400, "invalid_arguments"


class ToolNotAllowed(ToolError):
    status, code = 403, "tool_not_allowed"


class ApprovalRequired(ToolError):
    status, code = 409, "approval_required"


class ToolFailed(ToolError):
    status, code = 502, "tool_failed"


class ToolTimeout(ToolError):
    status, code = 504, "tool_timeout"


def run_tool(definition_or_registry, name, arguments_json, *, approved=False):
    """Runs tool `name` with `arguments_json` (the model's JSON text) and returns a ToolResult, or raises a ToolError."""
    if not isinstance(definition_or_registry, AgentDefinition):
        return definition_or_registry.run(name, arguments_json, approved=approved)
    tool = next((tool for tool in definition_or_registry.tools if tool.name == name), None)
    if tool is None:
        known = ", ".join(tool.name for tool in definition_or_registry.tools) or "none"
        raise UnknownTool(f"There is no tool named {name!r} (tools: {known}).")
    arguments = parse_arguments(name, arguments_json, tool.parameters, tool.extra_arguments)
    check_approval(name, tool.confirm, approved)
    return run_http(tool, arguments)


def parse_arguments(name, arguments_json, schema, extra_allowed=False):
    """The arguments as a dict, checked against the tool's JSON schema, or InvalidArguments. Keys outside the
    schema's properties are refused unless `extra_allowed` (the file or the MCP server said so)."""
    try:
        arguments = json.loads(arguments_json or "{}")
    except (TypeError, json.JSONDecodeError) as error:
        raise InvalidArguments(f"The arguments for {name!r} are not JSON ({error}).") from None
    if not isinstance(arguments, dict):
        raise InvalidArguments(f"The arguments for {name!r} must be a JSON object, not {type(arguments).__name__}.")
    unknown = sorted(set(arguments) - set(schema.get("properties", {})))
    if unknown and not extra_allowed:
        known = ", ".join(schema.get("properties", {})) or "none"
        raise InvalidArguments(f"The arguments for {name!r} may hold only its parameters ({known}); "
                               f"{', '.join(map(repr, unknown))} {'is' if len(unknown) == 1 else 'are'} not one.")
    problem = next(iter(sorted(Draft202012Validator(schema).iter_errors(arguments), key=str)), None)
    if problem is not None:
        where = "/".join(str(part) for part in problem.absolute_path) or "(the object)"
        raise InvalidArguments(f"The arguments for {name!r} do not match its parameters: {where}: {problem.message}")
    return arguments


def check_approval(name, confirm, approved):
    if confirm and not approved:
        raise ApprovalRequired(f"The tool {name!r} changes something: an admin has to approve this call first.")


def clip(text):
    """`text` cut to MAX_OUTPUT_CHARS, with a note saying how much was left out."""
    if len(text) <= MAX_OUTPUT_CHARS:
        return text
    return text[:MAX_OUTPUT_CHARS] + f"\n[output cut: showing the first {MAX_OUTPUT_CHARS:,} of {len(text):,} characters]"


def run_http(tool, arguments, limits=DEFAULT_LIMITS):
    """Sends `arguments` to the tool's URL: {arg}s filled into the path, the rest as the query (GET) or a JSON body."""
    url, rest = call_url(tool, arguments)
    shown_url = redact(tool.url, tool.secrets)
    request = {} if tool.method == "GET" else {"json": rest}
    started = time.perf_counter()
    with Deadline(tool.timeout_seconds) as deadline:
        try:
            response, body, cut = _exchange(tool, url, request, deadline, limits)
        except requests.Timeout:
            raise _timeout(tool, shown_url) from None
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
            if deadline.expired:
                raise _timeout(tool, shown_url) from None
            reason = redact(_reason(error), tool.secrets)
            raise ToolFailed(f"The tool {tool.name!r} could not reach {tool.method} {shown_url}: {reason}.") from None
    ms = (time.perf_counter() - started) * 1000
    text = redact(body.decode(response.encoding or "utf-8", errors="replace"), tool.secrets)
    log.info("tool %s: %s %s answered %s in %.0f ms", tool.name, tool.method, shown_url, response.status_code, ms)
    if response.status_code >= 400:
        snippet = " ".join(text.split())[:MAX_ERROR_BODY_CHARS]
        reason = redact(response.reason or "", tool.secrets)
        raise ToolFailed(f"The tool {tool.name!r} failed: {tool.method} {shown_url} answered HTTP "
                         f"{response.status_code} {reason}".rstrip() + (f": {snippet}" if snippet else "."))
    output = clip(text)
    if cut:
        output += f"\n[answer cut: it was longer than {limits.max_response_bytes:,} bytes, the most a tool reads]"
    return ToolResult(output, ms)


def call_url(tool, arguments):
    """The URL one call sends (placeholders filled, a GET's query added) and the arguments left for a JSON body.
    Raises InvalidArguments for a placeholder value that could leave the template's path, and refuses any URL that
    does not keep the template's scheme, host, port and path up to its first placeholder."""
    rest = dict(arguments)
    url = tool.url
    for placeholder in tool.placeholders:
        if placeholder not in rest:
            raise InvalidArguments(f"The arguments for {tool.name!r} need {placeholder!r}: the URL contains {{{placeholder}}}.")
        value = _as_text(rest.pop(placeholder))
        problem = path_value_problem(value)
        if problem:
            raise InvalidArguments(f"The argument {placeholder!r} of {tool.name!r} {problem}: it fills "
                                   f"{{{placeholder}}} in the URL, so it must name one thing there.")
        url = url.replace("{" + placeholder + "}", quote(value, safe=""))
    params = None
    if tool.method == "GET":
        repeated = sorted(set(rest) & set(tool.query_keys))
        if repeated:
            raise InvalidArguments(f"The arguments for {tool.name!r} may not set {repeated[0]!r}: the URL sets it.")
        params = {key: _as_text(value) for key, value in rest.items()}
    final = requests.Request(tool.method, url, params=params).prepare().url
    check_stays_under(tool, final)
    return final, rest


def path_value_problem(value):
    """Why `value` may not fill a {placeholder}, in words, or None. Encoded dots count: a server that decodes the
    path again would read them as a step up."""
    decoded = value
    for _ in range(3):
        decoded = unquote(decoded)
    if not value.strip():
        return "is empty"
    if any(unicodedata.category(character) in ("Cc", "Cf", "Zl", "Zp") for character in decoded):
        return "holds a control character"
    if any(part in (".", "..") for part in decoded.replace("\\", "/").split("/")):
        return f"is or holds the path step {'..' if '..' in decoded else '.'!r}"
    if "://" in decoded or decoded.startswith("//"):
        return "is a URL"
    return None


def check_stays_under(tool, url):
    """Refuses (InvalidArguments, nothing sent) a URL that leaves the template: another scheme, host or port, or a
    path that does not start as the template's does up to its first placeholder."""
    prefix = requests.Request(tool.method, tool.url_prefix or tool.url).prepare().url
    if tool.url_prefix == tool.url:  # no placeholder: only the query may differ
        prefix = prefix.split("?", 1)[0]
    if _origin(url) != _origin(prefix) or not url.startswith(prefix):
        raise InvalidArguments(f"The arguments for {tool.name!r} would send it outside "
                               f"{redact(tool.url_template, tool.secrets)}: nothing was sent.")


def _exchange(tool, url, request, deadline, limits):
    """(response, body bytes, whether the body was cut) after following the redirects the tool may follow."""
    method, origin = tool.method, _origin(url)
    proxies = {"http": limits.proxy_url, "https": limits.proxy_url} if limits.proxy_url else None
    for _hop in range(MAX_REDIRECTS + 1):
        timeout = deadline.remaining()
        response = session.request(method, url, headers=tool.headers, timeout=(timeout, timeout), stream=True,
                                    allow_redirects=False, proxies=proxies, **request)
        if not response.is_redirect:
            body, cut = _read_capped(response, limits.max_response_bytes, deadline)
            return response, body, cut
        target = urljoin(url, response.headers.get("Location", ""))
        response.close()
        shown = redact(target, tool.secrets)
        if not tool.follow_redirects:
            raise ToolFailed(f"The tool {tool.name!r} was redirected (HTTP {response.status_code}) to {shown}; it does "
                             "not follow redirects, so nothing was sent there (follow_redirects = true allows them "
                             "within the URL's origin).")
        if _origin(target) != origin:
            raise ToolFailed(f"The tool {tool.name!r} was redirected (HTTP {response.status_code}) to {shown}, "
                             "another origin: only redirects within the URL's origin are followed, so nothing was "
                             "sent there.")
        if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
            method, request = "GET", {}  # what browsers and requests do: the body is not sent again
        url = target
    raise ToolFailed(f"The tool {tool.name!r} was redirected more than {MAX_REDIRECTS} times.")


def _read_capped(response, limit, deadline):
    chunks, size = [], 0
    try:
        for chunk in response.iter_content(READ_CHUNK_BYTES):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit or deadline.expired:
                break
    finally:
        response.close()  # an unread rest is dropped with the connection, never read into memory
    if deadline.expired:
        raise requests.Timeout("the whole answer did not arrive in time")
    body = b"".join(chunks)
    return body[:limit], size > limit


def _timeout(tool, shown_url):
    return ToolTimeout(f"The tool {tool.name!r} got no whole answer from {tool.method} {shown_url} "
                       f"within {tool.timeout_seconds:g} seconds.")


def _origin(url):
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port or {"http": 80, "https": 443}.get(parts.scheme)


def _as_text(value):
    # Query values and path parts are text; JSON spelling (true, null, [1, 2]) is what an API expects, not Python's.
    return value if isinstance(value, str) else json.dumps(value)


def _reason(error):
    """The innermost cause of a requests error, in a few words (e.g. 'connection refused')."""
    cause = error
    while cause.__context__ is not None or getattr(cause, "reason", None) is not None:
        inner = getattr(cause, "reason", None) or cause.__context__
        if not isinstance(inner, BaseException) or inner is cause:
            break
        cause = inner
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    return str(cause) or type(cause).__name__


# --- the tools' own thread pool ---------------------------------------------------------------------------------

_pool = {"pid": None, "executor": None}
_pool_lock = threading.Lock()


def tool_pool():
    """This process's pool for tool calls (made again in a forked worker, whose parent's threads did not come along)."""
    with _pool_lock:
        if _pool["pid"] != os.getpid():
            _pool["executor"] = ThreadPoolExecutor(TOOL_POOL_THREADS, thread_name_prefix="agent-tool")
            _pool["pid"] = os.getpid()
        return _pool["executor"]


async def run_in_tool_pool(function, *args, **kwargs):
    return await asyncio.get_running_loop().run_in_executor(tool_pool(), functools.partial(function, *args, **kwargs))
