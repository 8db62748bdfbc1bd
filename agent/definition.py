"""The agent file (AGENT_FILE, TOML): one agent's instructions, HTTP tools and MCP servers, loaded and checked at start-up.

API (app.py and gunicorn.conf.py call load_agent_file and hand the definition to core.config.load_settings;
everything else reads `settings.agent`):

    load_agent_file(environ) -> AgentDefinition | None    # AGENT_FILE's; raises core.env.ConfigError naming AGENT_FILE
    load_definition(path, environ) -> AgentDefinition     # raises DefinitionError(message) naming file and line/key
    AgentDefinition(instructions, voice_instructions, tools: tuple[HttpTool, ...], mcp_servers: tuple[McpServer, ...],
                    language, vocabulary: tuple[str, ...])   # hints for transcribing the admin's speech
    HttpTool(name, description, method, url, headers, parameters, timeout_seconds, confirm, placeholders, secrets,
             url_template, follow_redirects, roles, extra_arguments, query_keys, url_prefix)
    McpServer(label, url, headers, allowed_tools, timeout_seconds, confirm, secrets, url_template, no_confirm, roles)
    redact(text, secrets) -> text with every ${VAR} value (plain, base64, URL-encoded, JSON-escaped) replaced by "${VAR}"
    may_use(roles_of_tool, admin_roles) -> bool    # a tool without roles is for every admin

`${VAR}` in a url or header value is replaced from `environ` here, once; the values stay out of repr() and every
message (redact), because they are usually credentials. Every tool and server carries the secrets of the whole file,
so a platform that echoes another tool's token does not leak it either. `{arg}` in a tool's url is filled per call
(agent/executor.py). Key paths in messages count from 0, like JSON: tools[1] is the second [[tools]] table.
"""

import base64
import functools
import json
import re
import tomllib
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from core.admins import ROLE_NAME
from core.env import ConfigError, text

NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
ARG_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
TIMEOUT_RANGE = (0.1, 300)
TOP_KEYS = {"instructions", "voice_instructions", "tools", "mcp_servers", "language", "vocabulary"}
TOOL_KEYS = {"name", "description", "method", "url", "headers", "parameters", "timeout_seconds", "confirm",
             "follow_redirects", "roles"}
MCP_KEYS = {"label", "url", "headers", "allowed_tools", "timeout_seconds", "confirm", "no_confirm", "roles"}
EMPTY_PARAMETERS = {"type": "object", "properties": {}, "required": []}
LANGUAGE = re.compile(r"^[a-z]{2}$")  # ISO-639-1, as Realtime's audio.input.transcription.language takes it
# whisper-1 reads only the last 224 tokens of a prompt, and a long list dilutes the hint for every model.
MAX_VOCABULARY_ENTRIES = 50
MAX_VOCABULARY_CHARS = 64
# Only these send their arguments as a JSON body, where a file may let the model add keys of its own; a GET's
# arguments become the query string and a DELETE's are rarely read, so there extra keys are always refused.
BODY_METHODS = ("POST", "PUT", "PATCH")
# Encoded echoes shorter than this are not looked for: they would match ordinary words in an answer.
MIN_ENCODED_SECRET_CHARS = 8


class DefinitionError(ValueError):
    """What is wrong with the agent file, in one line that starts with the file and names the line or key."""


@dataclass(frozen=True)
class HttpTool:
    name: str
    description: str
    method: str
    url: str = field(repr=False)  # ${VAR}s already replaced: may hold credentials
    headers: dict = field(repr=False)
    parameters: dict
    timeout_seconds: float = 10.0
    confirm: bool = False
    placeholders: tuple = ()  # the {arg} names in url, filled per call
    secrets: dict = field(default_factory=dict, repr=False)  # VAR -> value of the whole file, for redact()
    url_template: str = ""  # the url as written, ${VAR}s and all: safe to show
    follow_redirects: bool = False  # true: redirects within the url's origin are followed, never elsewhere
    roles: tuple = ()  # the admin roles that may run it; () for every admin
    extra_arguments: bool = False  # the file lets the model send keys beyond `properties` (JSON bodies only)
    query_keys: tuple = ()  # the query parameters the url sets itself: no argument may repeat one
    url_prefix: str = field(default="", repr=False)  # the url up to its first {arg}: every call's URL starts so


@dataclass(frozen=True)
class McpServer:
    label: str
    url: str = field(repr=False)
    headers: dict = field(repr=False)
    allowed_tools: tuple | None = None  # None: every tool the server lists
    timeout_seconds: float = 30.0
    confirm: bool = False  # true: every tool asks; false: those not annotated read-only ask, unless in no_confirm
    secrets: dict = field(default_factory=dict, repr=False)
    url_template: str = ""
    no_confirm: tuple = ()  # tools that run without the admin's approval whatever their annotations say
    roles: tuple = ()  # the admin roles that may run its tools; () for every admin


@dataclass(frozen=True)
class AgentDefinition:
    instructions: str
    voice_instructions: str | None = None
    tools: tuple = ()
    mcp_servers: tuple = ()
    path: str = ""
    language: str | None = None  # the language the admins speak (ISO-639-1), for transcription
    vocabulary: tuple = ()  # names the admins say (pipelines, tables), so transcription spells them right

    def voice_prompt(self):
        """The instructions the voice agent gets: the shared ones, then the voice-only ones."""
        return "\n\n".join(part for part in (self.instructions, self.voice_instructions) if part)

    @property
    def secrets(self):
        """Every ${VAR} value the file uses, VAR -> value."""
        found = {}
        for entry in (*self.tools, *self.mcp_servers):
            found.update(entry.secrets)
        return found


def may_use(tool_roles, admin_roles):
    """Whether an admin with `admin_roles` may see and run a tool (or an MCP server's tools) listing `tool_roles`."""
    return not tool_roles or any(role in tool_roles for role in admin_roles)


def redact(text, secrets):
    """`text` with every credential value replaced by its ${VAR} name: as written, base64-encoded (also inside a
    longer base64 text, such as a Basic credential), URL-encoded and JSON-escaped; longest first, so no part of one
    survives."""
    for form, variable in _redaction_forms(tuple(sorted(secrets.items()))):
        if form in text:
            text = text.replace(form, "${" + variable + "}")
    return text


@functools.lru_cache(maxsize=64)
def _redaction_forms(items):
    forms = {}
    for variable, value in items:
        if not value:
            continue
        forms.setdefault(value, variable)
        for form in _encoded_forms(value):
            if len(form) >= MIN_ENCODED_SECRET_CHARS:
                forms.setdefault(form, variable)
    return tuple(sorted(forms.items(), key=lambda item: -len(item[0])))


def _encoded_forms(value):
    raw = value.encode()
    percent = {quote(value, safe=""), quote(value), quote_plus(value)}
    yield from percent
    yield from (re.sub(r"%[0-9A-F]{2}", lambda match: match.group().lower(), form) for form in percent)
    for escaped in (json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]):
        yield escaped
        yield escaped.replace("/", "\\/")  # JSON may escape "/" too (PHP's json_encode does)
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        yield encode(raw).decode()
        yield encode(raw).decode().rstrip("=")
        # Inside a longer base64 text the value starts 0, 1 or 2 bytes into a 3-byte group; the characters that
        # depend on its bytes alone are the same whatever surrounds it.
        for offset in (0, 1, 2):
            encoded = encode(bytes(offset) + raw).decode()
            yield encoded[(offset * 4 + 2) // 3:(offset + len(raw)) * 8 // 6]


def load_agent_file(environ):
    """The agent file named by AGENT_FILE, loaded and checked (its ${VAR}s from the same environment), or None; a bad
    file raises ConfigError naming AGENT_FILE, like any other setting, so start-up stops with its one line."""
    path = text(environ, "AGENT_FILE")
    if path is None:
        return None
    try:
        return load_definition(path, environ)
    except DefinitionError as error:
        raise ConfigError("AGENT_FILE", path, str(error)) from None


def load_definition(path, environ):
    """Reads and checks the agent file at `path`, replacing ${VAR} from `environ`; raises DefinitionError."""
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except OSError as error:
        raise DefinitionError(f"{path}: cannot be read ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        # Python 3.11's message ends with "(at line L, column C)" (lineno/colno attributes came in 3.14): lead with
        # the place, so it reads like a compiler's.
        place = re.search(r"\s*\(at line (\d+), column (\d+)\)$", str(error))
        if place is None:
            raise DefinitionError(f"{path}: {error}") from None
        reason = str(error)[:place.start()]
        raise DefinitionError(f"{path}: line {place.group(1)}, column {place.group(2)}: {reason}") from None
    return _Reader(path, environ).definition(data)


class _Reader:
    def __init__(self, path, environ):
        self.path = path
        self.environ = environ

    def fail(self, key, problem):
        raise DefinitionError(f"{self.path}: {key}: {problem}")

    def definition(self, data):
        self.unknown_keys(data, TOP_KEYS, "(top level)")
        instructions = self.string(data, "instructions", "instructions", required=True)
        voice = self.string(data, "voice_instructions", "voice_instructions")
        tools = tuple(self.tool(table, f"tools[{i}]") for i, table in enumerate(self.tables(data, "tools")))
        servers = tuple(self.mcp_server(table, f"mcp_servers[{i}]")
                        for i, table in enumerate(self.tables(data, "mcp_servers")))
        self.unique([tool.name for tool in tools], "tools", "name")
        self.unique([server.label for server in servers], "mcp_servers", "label")
        every_secret = {}
        for entry in (*tools, *servers):
            every_secret.update(entry.secrets)
        tools = tuple(replace(tool, secrets=every_secret) for tool in tools)
        servers = tuple(replace(server, secrets=every_secret) for server in servers)
        return AgentDefinition(instructions, voice, tools, servers, str(self.path), language=self.language(data),
                               vocabulary=self.vocabulary(data))

    def tool(self, table, where):
        self.unknown_keys(table, TOOL_KEYS, where)
        name = self.name(table, "name", where)
        method = self.string(table, "method", f"{where}.method") or "GET"
        if method.upper() not in METHODS:
            self.fail(f"{where}.method", f"{method!r} is not one of {', '.join(METHODS)}")
        method = method.upper()
        url, secrets = self.url(table, where)
        headers = self.headers(table, where, secrets)
        parameters = self.parameters(table, where)
        properties = parameters.get("properties", {})
        placeholders = tuple(dict.fromkeys(ARG_PLACEHOLDER.findall(ENV_REFERENCE.sub("", table["url"]))))
        for placeholder in placeholders:
            if placeholder not in properties:
                self.fail(f"{where}.url", f"{{{placeholder}}} is not one of the properties in {where}.parameters")
        url_prefix = self.url_prefix(url, placeholders, where, secrets)
        query_keys = tuple(dict.fromkeys(key for key, _value in parse_qsl(urlsplit(url).query, keep_blank_values=True)))
        if method == "GET":
            for key in properties:
                if key in query_keys and key not in placeholders:
                    self.fail(f"{where}.parameters.properties.{key}",
                              f"the url already sets ?{key}=: an argument may not repeat or override it")
        extra_arguments = self.extra_arguments(parameters, method, where)
        confirm = self.boolean(table, "confirm", where, method != "GET")  # anything that changes the platform asks
        return HttpTool(
            name=name,
            description=self.string(table, "description", f"{where}.description", required=True),
            method=method, url=url, headers=headers,
            # Said to the model too: keys outside `properties` are refused unless the file allows them.
            parameters={**parameters, "additionalProperties": parameters.get("additionalProperties", False)},
            timeout_seconds=self.timeout(table, where, 10.0), confirm=confirm,
            placeholders=placeholders, secrets=secrets, url_template=table["url"],
            follow_redirects=self.boolean(table, "follow_redirects", where, False),
            roles=self.roles(table, where), extra_arguments=extra_arguments, query_keys=query_keys,
            url_prefix=url_prefix,
        )

    def mcp_server(self, table, where):
        self.unknown_keys(table, MCP_KEYS, where)
        label = self.name(table, "label", where)
        url, secrets = self.url(table, where)
        headers = self.headers(table, where, secrets)
        allowed = table.get("allowed_tools")
        if allowed is not None and not (isinstance(allowed, list) and all(isinstance(n, str) for n in allowed)):
            self.fail(f"{where}.allowed_tools", "must be a list of tool names, e.g. [\"row_count\"]")
        confirm = self.boolean(table, "confirm", where, False)
        no_confirm = table.get("no_confirm", [])
        if not (isinstance(no_confirm, list) and all(isinstance(n, str) and NAME.match(n) for n in no_confirm)):
            self.fail(f"{where}.no_confirm", "must be a list of tool names, e.g. [\"row_count\"]")
        if confirm and no_confirm:
            self.fail(f"{where}.no_confirm", "cannot be used with confirm = true (every tool of the server asks)")
        return McpServer(label, url, headers, None if allowed is None else tuple(allowed),
                         self.timeout(table, where, 30.0), confirm, secrets, table["url"], tuple(no_confirm),
                         self.roles(table, where))

    # --- single keys ---------------------------------------------------------------------------------------

    def language(self, data):
        value = data.get("language")
        if value is None:
            return None
        if not isinstance(value, str) or not LANGUAGE.match(value.strip().lower()):
            self.fail("language", f"{value!r} is not a two-letter ISO-639-1 code such as \"en\" or \"de\"")
        return value.strip().lower()

    def vocabulary(self, data):
        value = data.get("vocabulary", [])
        example = 'a list of names, e.g. ["orders_daily", "events_rollup"]'
        if not isinstance(value, list):
            self.fail("vocabulary", f"must be {example}")
        if len(value) > MAX_VOCABULARY_ENTRIES:
            self.fail("vocabulary", f"has {len(value)} entries; at most {MAX_VOCABULARY_ENTRIES} help transcription")
        for index, entry in enumerate(value):
            if not isinstance(entry, str) or not entry.strip() or len(entry.strip()) > MAX_VOCABULARY_CHARS:
                self.fail(f"vocabulary[{index}]", f"{entry!r} must be a non-empty string of at most "
                          f"{MAX_VOCABULARY_CHARS} characters")
        return tuple(entry.strip() for entry in value)

    def tables(self, data, key):
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.fail(key, f"write each entry as a [[{key}]] table")
        return value

    def unknown_keys(self, table, allowed, where):
        for key in table:
            if key not in allowed:
                self.fail(f"{where}.{key}" if where != "(top level)" else key,
                          f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def unique(self, names, where, key):
        seen = set()
        for index, name in enumerate(names):
            if name in seen:
                self.fail(f"{where}[{index}].{key}", f"{name!r} is already used by an earlier entry")
            seen.add(name)

    def string(self, table, key, where, required=False):
        value = table.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(where, "is missing" if value is None else "must be a non-empty string")
        return value.strip()

    def name(self, table, key, where):
        value = self.string(table, key, f"{where}.{key}", required=True)
        if not NAME.match(value):
            self.fail(f"{where}.{key}", f"{value!r} must be 1 to 64 letters, digits, _ or - (OpenAI's rule for tool names)")
        return value

    def boolean(self, table, key, where, default):
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.fail(f"{where}.{key}", f"{value!r} is not true or false")
        return value

    def roles(self, table, where):
        roles = table.get("roles", [])
        if not (isinstance(roles, list) and roles and all(isinstance(r, str) and ROLE_NAME.match(r) for r in roles)):
            if "roles" in table:
                self.fail(f"{where}.roles", "must be a non-empty list of role names (lower-case letters, digits, _ "
                          "or -), e.g. [\"operator\"]; leave it out to let every admin use it")
        return tuple(roles)

    def url_prefix(self, url, placeholders, where, secrets):
        """The url up to its first {arg}, which must come after the host: an argument may change the path, never
        where the call goes."""
        cut = min((url.index("{" + name + "}") for name in placeholders), default=len(url))
        prefix = url[:cut]
        parsed = urlsplit(prefix)
        if placeholders and (not parsed.netloc or prefix == f"{parsed.scheme}://{parsed.netloc}"):
            self.fail(f"{where}.url", f"{redact(url, secrets)!r}: a {{argument}} may only stand in the path or the "
                      "query, after the host and a /")
        return prefix

    def extra_arguments(self, parameters, method, where):
        """Whether the file lets the model send keys beyond `properties` (into a JSON body only)."""
        allows = parameters.get("additionalProperties", False) is not False or bool(parameters.get("patternProperties"))
        if allows and method not in BODY_METHODS:
            self.fail(f"{where}.parameters.additionalProperties",
                      f"only {', '.join(BODY_METHODS)} tools may take arguments beyond properties (in their JSON "
                      f"body); a {method} tool's would reach the URL")
        return allows

    def url(self, table, where):
        raw = self.string(table, "url", f"{where}.url", required=True)
        secrets = {}
        url = self.substitute(raw, f"{where}.url", secrets)
        parsed = urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            self.fail(f"{where}.url", f"{redact(url, secrets)!r} is not an http(s) URL")
        return url, secrets

    def headers(self, table, where, secrets):
        headers = table.get("headers", {})
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            self.fail(f"{where}.headers", "must be a table of strings, e.g. { Authorization = \"Bearer ${TOKEN}\" }")
        return {name: self.substitute(value, f"{where}.headers.{name}", secrets) for name, value in headers.items()}

    def substitute(self, value, where, secrets):
        def replace(match):
            variable = match.group(1)
            resolved = (self.environ.get(variable) or "").strip()
            if not resolved:
                self.fail(where, f"${{{variable}}} is not set in the environment (set it, or .env for make run)")
            secrets[variable] = resolved
            return resolved

        return ENV_REFERENCE.sub(replace, value)

    def parameters(self, table, where):
        parameters = table.get("parameters") or {**EMPTY_PARAMETERS, "properties": {}, "required": []}
        if not isinstance(parameters, dict) or parameters.get("type") != "object":
            self.fail(f"{where}.parameters", 'must be a JSON schema with type = "object"')
        try:
            Draft202012Validator.check_schema(parameters)
        except SchemaError as error:
            path = "".join(f".{part}" for part in error.absolute_path)
            self.fail(f"{where}.parameters{path}", f"not a valid JSON schema: {error.message}")
        return parameters

    def timeout(self, table, where, default):
        value = table.get("timeout_seconds", default)
        low, high = TIMEOUT_RANGE
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            self.fail(f"{where}.timeout_seconds", f"{value!r} is not a number of seconds from {low} to {high}")
        return float(value)
