"""The agent file (AGENT_FILE, TOML): one agent's instructions, HTTP tools and MCP servers, loaded and checked at start-up.

API (app.py and gunicorn.conf.py call load_agent_file and hand the definition to core.config.load_settings;
everything else reads `settings.agent`):

    load_agent_file(environ) -> AgentDefinition | None    # AGENT_FILE's; raises core.env.ConfigError naming AGENT_FILE
    load_definition(path, environ) -> AgentDefinition     # raises DefinitionError(message) naming file and line/key
    AgentDefinition(instructions, voice_instructions, tools: tuple[HttpTool, ...], mcp_servers: tuple[McpServer, ...],
                    language, vocabulary: tuple[str, ...])   # hints for transcribing the admin's speech
    HttpTool(name, description, method, url, headers, parameters, timeout_seconds, confirm, placeholders, secrets)
    McpServer(label, url, headers, allowed_tools, timeout_seconds, confirm, secrets)
    redact(text, secrets) -> text with every ${VAR} value replaced by "${VAR}"

`${VAR}` in a url or header value is replaced from `environ` here, once; the values stay out of repr() and every
message (redact), because they are usually credentials. `{arg}` in a tool's url is filled per call (agent/executor.py).
Key paths in messages count from 0, like JSON: tools[1] is the second [[tools]] table.
"""

import re
import tomllib
from dataclasses import dataclass, field
from urllib.parse import urlparse

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from core.env import ConfigError, text

NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
ARG_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
TIMEOUT_RANGE = (0.1, 300)
TOP_KEYS = {"instructions", "voice_instructions", "tools", "mcp_servers", "language", "vocabulary"}
TOOL_KEYS = {"name", "description", "method", "url", "headers", "parameters", "timeout_seconds", "confirm"}
MCP_KEYS = {"label", "url", "headers", "allowed_tools", "timeout_seconds", "confirm"}
EMPTY_PARAMETERS = {"type": "object", "properties": {}, "required": []}
LANGUAGE = re.compile(r"^[a-z]{2}$")  # ISO-639-1, as Realtime's audio.input.transcription.language takes it
# whisper-1 reads only the last 224 tokens of a prompt, and a long list dilutes the hint for every model.
MAX_VOCABULARY_ENTRIES = 50
MAX_VOCABULARY_CHARS = 64


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
    secrets: dict = field(default_factory=dict, repr=False)  # VAR -> value, for redact()
    url_template: str = ""  # the url as written, ${VAR}s and all: safe to show


@dataclass(frozen=True)
class McpServer:
    label: str
    url: str = field(repr=False)
    headers: dict = field(repr=False)
    allowed_tools: tuple | None = None  # None: every tool the server lists
    timeout_seconds: float = 30.0
    confirm: bool = False  # true: every tool of this server needs the admin's approval per call
    secrets: dict = field(default_factory=dict, repr=False)
    url_template: str = ""


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


def redact(text, secrets):
    """`text` with every credential value replaced by its ${VAR} name, longest first so no part of one survives."""
    for variable, value in sorted(secrets.items(), key=lambda item: -len(item[1])):
        if value:
            text = text.replace(value, "${" + variable + "}")
    return text


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
        placeholders = tuple(dict.fromkeys(ARG_PLACEHOLDER.findall(ENV_REFERENCE.sub("", table["url"]))))
        for placeholder in placeholders:
            if placeholder not in parameters.get("properties", {}):
                self.fail(f"{where}.url", f"{{{placeholder}}} is not one of the properties in {where}.parameters")
        confirm = table.get("confirm", method != "GET")  # anything that changes the platform asks first
        if not isinstance(confirm, bool):
            self.fail(f"{where}.confirm", f"{confirm!r} is not true or false")
        return HttpTool(
            name=name,
            description=self.string(table, "description", f"{where}.description", required=True),
            method=method, url=url, headers=headers, parameters=parameters,
            timeout_seconds=self.timeout(table, where, 10.0), confirm=confirm,
            placeholders=placeholders, secrets=secrets, url_template=table["url"],
        )

    def mcp_server(self, table, where):
        self.unknown_keys(table, MCP_KEYS, where)
        label = self.name(table, "label", where)
        url, secrets = self.url(table, where)
        headers = self.headers(table, where, secrets)
        allowed = table.get("allowed_tools")
        if allowed is not None and not (isinstance(allowed, list) and all(isinstance(n, str) for n in allowed)):
            self.fail(f"{where}.allowed_tools", "must be a list of tool names, e.g. [\"row_count\"]")
        confirm = table.get("confirm", False)
        if not isinstance(confirm, bool):
            self.fail(f"{where}.confirm", f"{confirm!r} is not true or false")
        return McpServer(label, url, headers, None if allowed is None else tuple(allowed),
                         self.timeout(table, where, 30.0), confirm, secrets, table["url"])

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

    def url(self, table, where):
        raw = self.string(table, "url", f"{where}.url", required=True)
        secrets = {}
        url = self.substitute(raw, f"{where}.url", secrets)
        parsed = urlparse(url)
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
