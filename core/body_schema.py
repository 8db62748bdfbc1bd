"""Request bodies checked against JSON schemas (jsonschema), the first problem told in words the admin can act on.

Each object or value in a schema carries its own words under "message": one string, or a dict from the keyword that
failed ("type", "additionalProperties", "maxLength", ...; "*" for any other) to a string. A message may name {at}
(where the problem is, e.g. entries[2].text), {field} (the first unknown field) and {length} (the value's length).
A missing required property is told in that property's words ("required", else "*", else "type"). Of several
problems, the first in the schema's order is told: a value before its contents, then properties as the schema lists
them, items by index.
"""

import math

from jsonschema import Draft202012Validator
from jsonschema.validators import extend

from core.errors import bad_request


def _finite_number(checker, instance):
    # Flask's JSON parser reads NaN and Infinity; no body field of ours means them.
    is_number = Draft202012Validator.TYPE_CHECKER.is_type(instance, "number")
    return is_number and not (isinstance(instance, float) and not math.isfinite(instance))


_Validator = extend(Draft202012Validator,
                    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("number", _finite_number))


class BodySchema:
    """A request body's JSON schema; `check(body)` returns the body when it fits, else raises bad_request (400)."""

    def __init__(self, schema):
        _Validator.check_schema(schema)
        self.schema = schema
        self._validator = _Validator(schema)

    def check(self, body):
        problems = [problem for error in self._validator.iter_errors(body) for problem in self._problems(error)]
        if problems:
            raise bad_request(min(problems, key=lambda problem: problem[0])[1])
        return body

    def _problems(self, error):
        """(rank, words) for each problem `error` stands for: one, or one per missing property."""
        location = list(error.absolute_path)
        if error.validator == "required":
            properties = error.schema.get("properties", {})
            for name in error.validator_value:
                if isinstance(error.instance, dict) and name not in error.instance:
                    place = [*location, name]
                    yield self._rank(place), _words(properties.get(name, {}), "required", place, error)
            return
        yield self._rank(location), _words(error.schema, error.validator, location, error)

    def _rank(self, location):
        """Where `location` comes in the schema's order: properties as listed, items by index."""
        schema, rank = self.schema, []
        for step in location:
            if isinstance(step, int):
                rank.append(step)
                schema = schema.get("items", {})
            else:
                names = list(schema.get("properties", {}))
                rank.append(names.index(step) if step in names else len(names))
                schema = schema.get("properties", {}).get(step, {})
        return tuple(rank)


def _words(schema, keyword, location, error):
    message = schema.get("message")
    if isinstance(message, dict):
        # A missing value is told like one of the wrong type, unless the schema has words for it.
        fallback = message.get("*", message.get("type") if keyword == "required" else None)
        message = message.get(keyword, fallback)
    if message is None:  # a schema without words for this: jsonschema's own, with the place
        return f"{_place(location) or 'The body'}: {error.message}."
    unknown = sorted(set(error.instance) - set(schema.get("properties", {}))) if isinstance(error.instance, dict) else []
    length = f"{len(error.instance):,}" if isinstance(error.instance, (str, list, dict)) else ""
    return (message.replace("{at}", _place(location)).replace("{field}", unknown[0] if unknown else "")
            .replace("{length}", length))


def _place(location):
    """entries[2].text for ["entries", 2, "text"]."""
    place = ""
    for step in location:
        place += f"[{step}]" if isinstance(step, int) else (f".{step}" if place else str(step))
    return place
