"""Check request and response bodies against OpenAI's published schemas (openai-realtime-chatkit.json).

OpenAI rejects any parameter its schema does not name ("Unknown parameter: 'session.workflow'."), but the
schemas rarely say `additionalProperties: false`, so plain JSON Schema validation would let the original bug
through. `check` therefore validates with jsonschema and then walks the body treating every object schema that
lists properties as closed, reporting unknown parameters by their dotted path, the way OpenAI does.
"""

import json
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


@lru_cache(maxsize=1)
def _spec():
    spec = json.loads(SPEC_PATH.read_text())
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
            branches = [b for b in schema[combinator] if _fits(_absolute(b), instance)]
            for branch in branches[:1]:
                yield from _unknown_parameters(branch, instance, path)
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


def check(schema_name, instance):
    """Every way `instance` breaks the named schema: unknown parameters first, then invalid values."""
    violations = list(_unknown_parameters({"$ref": f"#/components/schemas/{schema_name}"}, instance, ""))
    for error in _validator(schema_name).iter_errors(instance):
        # For oneOf/anyOf, name the most specific failure inside the best-fitting branch, not the whole object.
        error = best_match(error.context) if error.context else error
        param = ".".join(str(p) for p in error.absolute_path)
        violations.append(Violation("invalid_value", param, f"Invalid value for '{param or 'body'}': {error.message}"))
    return violations
