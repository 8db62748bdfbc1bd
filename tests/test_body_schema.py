"""core/body_schema.py: a request body checked against its JSON schema answers 400 with the first problem in the
schema's own words."""

import math

import pytest

from core.body_schema import BodySchema
from core.errors import ApiError

LINES = BodySchema({
    "type": "object",
    "additionalProperties": False,
    "required": ["title", "lines"],
    "properties": {
        "title": {"type": "string", "maxLength": 5, "message": {"type": "title must be text.",
                                                                  "maxLength": "title is {length} characters; at most 5."}},
        "lines": {"type": "array", "items": {
            "type": "object", "required": ["text"], "additionalProperties": False,
            "properties": {"text": {"type": "string", "message": "{at} must be text."},
                           "weight": {"type": ["number", "null"], "message": "{at} must be a number or null."}},
            "message": "{at} must be an object with text.",
        }, "message": "lines must be a list."},
    },
    "message": {"type": "The body must be a JSON object.", "additionalProperties": "Unknown field '{field}'."},
})


def problem(body):
    with pytest.raises(ApiError) as raised:
        LINES.check(body)
    assert (raised.value.status, raised.value.code) == (400, "bad_request")
    return raised.value.message


def test_a_body_that_fits_is_returned_as_it_is():
    body = {"title": "Hi", "lines": [{"text": "a", "weight": 1.5}]}
    assert LINES.check(body) is body


@pytest.mark.parametrize("body, words", [
    ([1], "The body must be a JSON object."),
    (None, "The body must be a JSON object."),
    ({"title": "Hi", "lines": [], "zeta": 1, "alpha": 2}, "Unknown field 'alpha'."),
    ({"lines": []}, "title must be text."),
    ({"title": 7, "lines": []}, "title must be text."),
    ({"title": "Too long", "lines": []}, "title is 8 characters; at most 5."),
    ({"title": "Hi", "lines": [{"text": "a"}, {"text": 3}]}, "lines[1].text must be text."),
    ({"title": "Hi", "lines": [{"text": "a"}, {}]}, "lines[1].text must be text."),
    ({"title": "Hi", "lines": [{"text": "a", "more": 1}]}, "lines[0] must be an object with text."),
    ({"title": "Hi", "lines": [{"text": "a", "weight": math.nan}]}, "lines[0].weight must be a number or null."),
    ({"title": "Hi", "lines": [{"text": "a", "weight": math.inf}]}, "lines[0].weight must be a number or null."),
])
def test_the_problem_is_told_in_the_schemas_words(body, words):
    assert problem(body) == words


def test_of_several_problems_the_first_in_the_schemas_order_is_told():
    # title comes before lines in the schema, and a missing property counts where the schema lists it.
    assert problem({"lines": "no"}) == "title must be text."
    assert problem({"title": "Hi", "lines": [{"text": 1}, "no"]}) == "lines[0].text must be text."
    assert problem({"title": "Hi", "lines": [{"weight": "x"}]}) == "lines[0].text must be text."
