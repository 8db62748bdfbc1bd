"""Check request and response bodies against OpenAI's published schemas (openai-realtime-chatkit.json).

OpenAI rejects any parameter its schema does not name ("Unknown parameter: 'session.workflow'."), but the
schemas rarely say `additionalProperties: false`, so plain JSON Schema validation would let the original bug
through. `check` therefore validates with jsonschema and then walks the body treating every object schema that
lists properties as closed, reporting unknown parameters by their dotted path, the way OpenAI does.

The schemas also leave out `null` where the API accepts it (`audio.input.noise_reduction: null`, `turn_detection:
null`): a field whose schema says `default: null` or whose description says it can be set to `null` is loaded as
nullable. For oneOf/anyOf, errors are reported inside the branch that the body's `type` (or another const field)
selects, as OpenAI does, not as a mismatch of the discriminator against some other branch.
"""

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).with_name("openai-realtime-chatkit.json")


@dataclass(frozen=True)
class Violation:
    code: str  # "unknown_parameter" or "invalid_value"
    param: str  # dotted path such as "session.audio.output.voice"; "" for the body itself
    message: str


# How OpenAI's descriptions say a field accepts null ("This can be set to `null` to turn off.").
_SAYS_NULLABLE = re.compile(r"(set to|be|or) `null`")


def _says_nullable(schema):
    return isinstance(schema, dict) and (
        ("default" in schema and schema["default"] is None) or bool(_SAYS_NULLABLE.search(schema.get("description", "")))
    )


def _with_nullables(node):
    """The spec with every field (property or oneOf/anyOf branch) that documents null as a value made nullable."""
    if isinstance(node, list):
        return [_with_nullables(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _nullable(_with_nullables(field)) for name, field in value.items()}
        elif key in ("oneOf", "anyOf") and isinstance(value, list):
            out[key] = [_nullable(_with_nullables(branch)) for branch in value]
        else:
            out[key] = _with_nullables(value)
    return out


def _nullable(schema):
    if not _says_nullable(schema) or schema.get("type") == "null":
        return schema
    return {"anyOf": [schema, {"type": "null"}], "description": schema.get("description", "")}


@lru_cache(maxsize=1)
def _spec():
    spec = _with_nullables(json.loads(SPEC_PATH.read_text()))
    registry = Registry().with_resource("spec", Resource.from_contents(spec, default_specification=DRAFT202012))
    return spec, registry


@lru_cache(maxsize=None)
def _validator(schema_name):
    spec, registry = _spec()
    if schema_name not in spec["components"]["schemas"]:
        raise KeyError(f"no schema named {schema_name!r} in {SPEC_PATH.name}")
    return Draft202012Validator({"$ref": f"spec#/components/schemas/{schema_name}"}, registry=registry)


def _resolve(schema):
    spec, _ = _spec()
    while isinstance(schema, dict) and "$ref" in schema:
        ref = schema["$ref"]
        target = spec
        for part in ref.lstrip("#/").split("/"):
            target = target[part]
        rest = {k: v for k, v in schema.items() if k not in ("$ref", "description", "title")}
        schema = {**target, **rest} if rest else target
    return schema


def _fits(schema, instance):
    return not any(True for _ in Draft202012Validator(schema, registry=_spec()[1]).iter_errors(instance))


def _without_null(schema):
    """The schema that `_nullable` wrapped, or the schema itself."""
    if isinstance(schema, dict) and set(schema) <= {"anyOf", "description"} and {"type": "null"} in schema["anyOf"]:
        return _resolve(schema["anyOf"][0])
    return schema if isinstance(schema, dict) else {}


def _discriminated(branches, instance):
    """The index of the branch whose const fields (e.g. `type: "realtime"`) the body carries, or None."""
    if not isinstance(instance, dict):
        return None
    for index, branch in enumerate(branches):
        branch = _without_null(_resolve(branch))
        constants = {name: field.get("enum", [field["const"]] if "const" in field else None)
                     for name, field in branch.get("properties", {}).items() if isinstance(field, dict)}
        constants = {name: values for name, values in constants.items() if values and name in instance}
        if constants and all(instance[name] in values for name, values in constants.items()):
            return index
    return None


def _chosen_branch(branches, instance):
    """The branch a value is checked against: the first that fits, else the one its discriminator selects."""
    for index, branch in enumerate(branches):
        if _fits(_absolute(branch), instance):
            return index
    return _discriminated(branches, instance)


def _absolute(schema):
    """Rewrite local refs so a sub-schema can be validated on its own against the registry."""
    if isinstance(schema, dict):
        return {k: (f"spec{v}" if k == "$ref" and v.startswith("#") else _absolute(v)) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_absolute(item) for item in schema]
    return schema


def _unknown_parameters(schema, instance, path):
    schema = _resolve(schema)
    if not isinstance(schema, dict):
        return
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:
            branch = _chosen_branch(schema[combinator], instance)
            if branch is not None:
                yield from _unknown_parameters(schema[combinator][branch], instance, path)
            return
    if "allOf" in schema:
        merged = {}
        for part in schema["allOf"]:
            merged.update(_resolve(part).get("properties", {}))
        schema = {**schema, "properties": {**merged, **schema.get("properties", {})}}
    if isinstance(instance, dict):
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, value in instance.items():
            here = f"{path}.{key}" if path else key
            if properties is not None and key in properties:
                yield from _unknown_parameters(properties[key], value, here)
            elif isinstance(extra, dict):
                yield from _unknown_parameters(extra, value, here)
            elif properties is not None and extra is not True:
                yield Violation("unknown_parameter", here, f"Unknown parameter: '{here}'.")
    elif isinstance(instance, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(instance):
            yield from _unknown_parameters(schema["items"], item, f"{path}[{index}]")


def _most_specific(error):
    """For oneOf/anyOf, the failure inside the branch the body's discriminator selects (else the best-fitting one)."""
    while error.context:
        branch = None
        if isinstance(error.validator_value, list):
            branch = _discriminated(error.validator_value, error.instance)
        inside = [e for e in error.context if branch is None or e.relative_schema_path[0] == branch]
        if not inside:
            break
        error = best_match(inside)
        if branch is None:
            break  # best_match already descended as far as it could judge
    return error


def check(schema_name, instance):
    """Every way `instance` breaks the named schema: unknown parameters first, then invalid values."""
    violations = list(_unknown_parameters({"$ref": f"#/components/schemas/{schema_name}"}, instance, ""))
    for error in _validator(schema_name).iter_errors(instance):
        error = _most_specific(error)
        param = ".".join(str(p) for p in error.absolute_path)
        violations.append(Violation("invalid_value", param, f"Invalid value for '{param or 'body'}': {error.message}"))
    return violations


@lru_cache(maxsize=1)
def _server_event_schemas():
    schemas = json.loads(SPEC_PATH.read_text())["components"]["schemas"]
    return {event_type: name for name, schema in schemas.items() if name.startswith("RealtimeServerEvent")
            for event_type in schema.get("properties", {}).get("type", {}).get("enum", [])}


def server_event_schema(event_type):
    """The name of the spec's schema for a Realtime server event type, or None if the spec has no such event."""
    return _server_event_schemas().get(event_type)
