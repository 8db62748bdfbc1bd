"""Reading one environment variable as text, flag, number or limit, and the error that names what is wrong with it."""

import re

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_RATE_LIMIT = re.compile(r"^\s*\d+\s*(/|per)\s*(\d+\s*)?(second|minute|hour|day|month|year)s?\s*$", re.IGNORECASE)
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")


class ConfigError(ValueError):
    """A setting that stops start-up; its message is one line naming the variable, the value and what is allowed."""

    def __init__(self, variable, value, allowed):
        self.variable = variable
        shown = "(empty)" if value == "" else repr(value)
        super().__init__(f"{variable}={shown} is not allowed: {allowed}")


def text(environ, name, default=None):
    """The variable stripped, or `default` when it is unset or blank."""
    value = environ.get(name)
    if value is None:
        return default
    value = value.strip()
    return value if value else default


def flag(environ, name, default):
    value = text(environ, name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ConfigError(name, value, "use 1 or 0 (true/false, yes/no, on/off)")


def number(environ, name, default, low, high, kind=float):
    value = text(environ, name)
    if value is None:
        return default
    try:
        parsed = kind(value)
    except ValueError:
        parsed = None
    if parsed is None or not low <= parsed <= high:
        raise ConfigError(name, value, f"a {'whole ' if kind is int else ''}number from {low} to {high}")
    return parsed


def rate_limit(environ, name, default):
    value = text(environ, name, default)
    if not all(_RATE_LIMIT.match(part) for part in value.split(";")):
        raise ConfigError(name, value, "a Flask-Limiter limit such as '20 per minute' or '100/hour'")
    return value


def model_name(environ, name, default):
    model = text(environ, name, default)
    if not MODEL_NAME.fullmatch(model):
        raise ConfigError(name, model, f"a model name such as {default}")
    return model
