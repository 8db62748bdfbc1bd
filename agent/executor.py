"""Running one tool call on the server: checked arguments, the admin's approval, the HTTP request, errors as ApiErrors.

API (a view can just call it and let the errors propagate: each is a core.errors.ApiError with status and code):

    run_tool(definition_or_registry, name, arguments_json, *, approved=False) -> ToolResult(output: str, ms: float)
        unknown_tool (400)       no tool by that name
        invalid_arguments (400)  arguments_json is not a JSON object, or does not match the tool's parameters
        approval_required (409)  the tool has confirm = true and approved is False: ask the admin, then call again
        tool_failed (502)        the platform answered an HTTP error (its status is in the message) or was unreachable
        tool_timeout (504)       no answer within the tool's timeout_seconds

`definition_or_registry` is an AgentDefinition (its HTTP tools only) or an agent.mcp_tools.AgentTools (HTTP and MCP).
Outputs longer than MAX_OUTPUT_CHARS are cut, and say so. No output, message or log line holds a ${VAR} value:
each is replaced by its ${VAR} name (agent.definition.redact).
"""

import json
import logging
import time
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from urllib.parse import quote

import requests
from jsonschema import Draft202012Validator

from agent.definition import AgentDefinition, redact
from core.errors import ApiError

MAX_OUTPUT_CHARS = 8000  # ~2,000 tokens: enough for a listing, small enough for a voice turn's context
MAX_ERROR_BODY_CHARS = 300
log = logging.getLogger(__name__)
_session = requests.Session()  # pooled keep-alive connections to the platform, shared by every call
# Shared by every admin and tool: a cookie one call receives must not ride along on another's.
_session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))


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
    arguments = parse_arguments(name, arguments_json, tool.parameters)
    check_approval(name, tool.confirm, approved)
    return run_http(tool, arguments)


def parse_arguments(name, arguments_json, schema):
    """The arguments as a dict, checked against the tool's JSON schema, or InvalidArguments."""
    try:
        arguments = json.loads(arguments_json or "{}")
    except (TypeError, json.JSONDecodeError) as error:
        raise InvalidArguments(f"The arguments for {name!r} are not JSON ({error}).") from None
    if not isinstance(arguments, dict):
        raise InvalidArguments(f"The arguments for {name!r} must be a JSON object, not {type(arguments).__name__}.")
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


def run_http(tool, arguments):
    """Sends `arguments` to the tool's URL: {arg}s filled into the path, the rest as the query (GET) or a JSON body."""
    rest = dict(arguments)
    url = tool.url
    for placeholder in tool.placeholders:
        if placeholder not in rest:
            raise InvalidArguments(f"The arguments for {tool.name!r} need {placeholder!r}: the URL contains {{{placeholder}}}.")
        url = url.replace("{" + placeholder + "}", quote(_as_text(rest.pop(placeholder)), safe=""))
    request = {"params": {key: _as_text(value) for key, value in rest.items()}} if tool.method == "GET" else {"json": rest}
    shown_url = redact(tool.url, tool.secrets)
    started = time.perf_counter()
    try:
        response = _session.request(tool.method, url, headers=tool.headers, timeout=tool.timeout_seconds, **request)
    except requests.Timeout:
        raise ToolTimeout(f"The tool {tool.name!r} got no answer from {tool.method} {shown_url} "
                          f"within {tool.timeout_seconds:g} seconds.") from None
    except requests.RequestException as error:
        reason = redact(_reason(error), tool.secrets)
        raise ToolFailed(f"The tool {tool.name!r} could not reach {tool.method} {shown_url}: {reason}.") from None
    ms = (time.perf_counter() - started) * 1000
    body = redact(response.text, tool.secrets)
    log.info("tool %s: %s %s answered %s in %.0f ms", tool.name, tool.method, shown_url, response.status_code, ms)
    if response.status_code >= 400:
        snippet = " ".join(body.split())[:MAX_ERROR_BODY_CHARS]
        raise ToolFailed(f"The tool {tool.name!r} failed: {tool.method} {shown_url} answered HTTP "
                         f"{response.status_code} {response.reason}" + (f": {snippet}" if snippet else "."))
    return ToolResult(clip(body), ms)


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
