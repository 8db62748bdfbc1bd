"""How the sandbox plays a model that calls tools: which of the session's function tools the admin's words ask for,
and arguments that fit the tool's schema.

Every tool whose name the words contain, its `_` as spaces and its words in any order ("list failed pipelines",
"rerun the orders_daily pipeline"), is asked for; when they name several, the answer is a preamble and parallel
calls. Naming none, the tool that shares the most keywords (words of four letters or more, a plural `s` ignored)
with the words, by its name and description, is asked for.
Arguments fill the required properties and any time-like property ("since", or a description that says ISO 8601):
times are 24 hours ago in ISO 8601, other strings take the identifiers the words contain (`orders_daily`, `r-1001`),
in order.
"""

import json
import re
from datetime import datetime, timedelta, timezone

MAX_SPOKEN_OUTPUT = 240  # characters of a tool's output the spoken answer quotes
_STOP_WORDS = {
    "about", "could", "does", "each", "from", "given", "have", "into", "last", "only", "please", "should", "show",
    "some", "tell", "that", "their", "there", "these", "this", "those", "what", "when", "where", "which", "whose",
    "with", "would", "your",
}
_TIME_NAMES = {"since", "after", "before", "from", "until", "start", "end", "time", "when"}


def _words(text):
    return {word.rstrip("s") for word in re.findall(r"[a-z0-9]+", text.lower())
            if len(word) >= 4 and word not in _STOP_WORDS}


def _phrase(text):
    return " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "


def matching_tools(session, said):
    """The function tools of `session` the words `said` ask for, in the order the words name them; [] for no words,
    no tools, or tool_choice none.

    Every tool the words name (all the words of its name, `_` as spaces, in any order: "rerun the orders_daily
    pipeline" names rerun_pipeline) is asked for, side by side; naming none, the one tool that shares the most
    keywords with the words, if any.
    """
    tools = [tool for tool in session.get("tools") or [] if tool.get("type") == "function" and tool.get("name")]
    if not said or not tools or session.get("tool_choice") == "none":
        return []
    heard = _words(said)
    spoken = _phrase(said)
    named = [tool for tool in tools if _name_words(tool) and _name_words(tool) <= set(_all_words(said))]
    if named:
        return sorted(named, key=lambda tool: _first_mention(tool, spoken))
    best, best_score = None, 0
    for tool in tools:
        score = len(heard & (_words(tool["name"].replace("_", " ")) | _words(tool.get("description", ""))))
        if score > best_score:
            best, best_score = tool, score
    return [best] if best else []


def _all_words(text):
    return [word.rstrip("s") for word in re.findall(r"[a-z0-9]+", text.lower())]


def _name_words(tool):
    return set(_all_words(tool["name"].replace("_", " ")))


def _first_mention(tool, spoken):
    """Where the words first mention the tool's name: the whole name if they say it, else its first word."""
    whole = spoken.find(_phrase(tool["name"].replace("_", " ")))
    if whole >= 0:
        return whole
    return min((spoken.find(f" {word}") for word in _name_words(tool) if f" {word}" in spoken), default=len(spoken))


def preamble_for(tools):
    """What the model says before it calls several tools at once."""
    names = [tool["name"] for tool in tools]
    return f"One moment: I am asking {', '.join(names[:-1])} and {names[-1]} at once."


def _is_time(name, schema):
    description = str(schema.get("description", "")).lower()
    return schema.get("type") == "string" and (
        name.lower() in _TIME_NAMES or "iso 8601" in description or schema.get("format") == "date-time")


def call_arguments(tool, said, now=None):
    """The arguments (JSON text) the sandbox's 'model' passes to `tool` for the words `said`."""
    schema = tool.get("parameters") or {}
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    names = {tool["name"]}
    identifiers = [token for token in re.findall(r"[A-Za-z][\w.-]*\w", said or "")
                   if ("_" in token or re.search(r"-\d", token)) and token not in names]
    when = (now or datetime.now(timezone.utc)) - timedelta(hours=24)
    arguments = {}
    for name, field in properties.items():
        field = field if isinstance(field, dict) else {}
        if _is_time(name, field):
            arguments[name] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        elif name in required:
            arguments[name] = _value(field, identifiers)
    return json.dumps(arguments)


def _value(field, identifiers):
    if field.get("enum"):
        return field["enum"][0]
    kind = field.get("type")
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    if kind == "object":
        return {}
    return identifiers.pop(0) if identifiers else "example"


def short_output(output):
    """A tool's output as the spoken answer quotes it: one line, at most MAX_SPOKEN_OUTPUT characters."""
    text = " ".join(str(output).split())
    return text if len(text) <= MAX_SPOKEN_OUTPUT else text[: MAX_SPOKEN_OUTPUT - 1] + "…"
