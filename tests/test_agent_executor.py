"""Running an agent file's HTTP tools: arguments to the right place, each failure as its ApiError, no credential out."""

import json

import pytest
import requests
import responses
from responses import matchers

from agent.definition import load_definition
from agent.executor import MAX_OUTPUT_CHARS, ToolError, run_tool
from core.errors import ApiError

PLATFORM = "http://platform.test"
TOKEN = "tok-very-secret-42"
ENV = {"PLATFORM_URL": PLATFORM, "PLATFORM_TOKEN": TOKEN}
AGENT = '''
instructions = "You help the admins."

[[tools]]
name = "list_failed_pipelines"
description = "Failed pipelines."
url = "${PLATFORM_URL}/pipelines?status=failed"
headers = { Authorization = "Bearer ${PLATFORM_TOKEN}" }
parameters = { type = "object", properties = { since = { type = "string" }, limit = { type = "integer" } } }
timeout_seconds = 2

[[tools]]
name = "rerun_pipeline"
description = "Reruns one."
method = "POST"
url = "${PLATFORM_URL}/pipelines/{name}/rerun"
headers = { Authorization = "Bearer ${PLATFORM_TOKEN}" }
parameters = { type = "object", properties = { name = { type = "string" }, reason = { type = "string" } }, required = ["name"] }
'''


@pytest.fixture
def definition(tmp_path):
    path = tmp_path / "agent.toml"
    path.write_text(AGENT)
    return load_definition(str(path), ENV)


@pytest.fixture
def platform():
    with responses.RequestsMock() as mock:
        yield mock


def error_of(definition, name, arguments, **kwargs):
    with pytest.raises(ToolError) as raised:
        run_tool(definition, name, arguments, **kwargs)
    return raised.value


def test_get_arguments_go_to_the_query_string_with_the_tools_headers(definition, platform):
    platform.get(f"{PLATFORM}/pipelines", body='[{"name": "orders_daily"}]', match=[
        matchers.query_param_matcher({"status": "failed", "since": "2026-11-26T18:00:00Z", "limit": "5"}),
        matchers.header_matcher({"Authorization": f"Bearer {TOKEN}"})])
    result = run_tool(definition, "list_failed_pipelines", '{"since": "2026-11-26T18:00:00Z", "limit": 5}')
    assert result.output == '[{"name": "orders_daily"}]' and result.ms >= 0


def test_other_methods_send_the_arguments_as_a_json_body_with_url_placeholders_filled_and_removed(definition, platform):
    platform.post(f"{PLATFORM}/pipelines/orders%2Fdaily%20v2/rerun", status=202, body='{"id": "r-1"}',
                  match=[matchers.json_params_matcher({"reason": "upstream fixed"})])
    result = run_tool(definition, "rerun_pipeline", '{"name": "orders/daily v2", "reason": "upstream fixed"}', approved=True)
    assert result.output == '{"id": "r-1"}'


def test_a_confirm_tool_without_approval_answers_approval_required_and_sends_nothing(definition, platform):
    error = error_of(definition, "rerun_pipeline", '{"name": "orders_daily"}')
    assert (error.status, error.code) == (409, "approval_required")


def test_an_unknown_tool_answers_unknown_tool(definition):
    error = error_of(definition, "drop_everything", "{}")
    assert (error.status, error.code) == (400, "unknown_tool") and "list_failed_pipelines" in error.message


def test_arguments_that_are_not_a_json_object_answer_invalid_arguments(definition):
    assert [(e.status, e.code) for e in (error_of(definition, "list_failed_pipelines", "not json"),
                                         error_of(definition, "list_failed_pipelines", "[1, 2]"))] == [
        (400, "invalid_arguments"), (400, "invalid_arguments")]


def test_arguments_that_do_not_match_the_schema_answer_invalid_arguments_naming_the_field(definition):
    error = error_of(definition, "list_failed_pipelines", '{"limit": "five"}')
    assert error.code == "invalid_arguments" and "limit: 'five' is not of type 'integer'" in error.message


def test_a_platform_http_error_answers_tool_failed_with_its_status(definition, platform):
    platform.get(f"{PLATFORM}/pipelines", status=503, body="maintenance until 06:00")
    error = error_of(definition, "list_failed_pipelines", "{}")
    assert (error.status, error.code) == (502, "tool_failed")
    assert "answered HTTP 503 Service Unavailable: maintenance until 06:00" in error.message


def test_an_unreachable_platform_answers_tool_failed(definition, platform):
    platform.get(f"{PLATFORM}/pipelines", body=requests.ConnectionError("connection refused"))
    error = error_of(definition, "list_failed_pipelines", "{}")
    assert error.code == "tool_failed" and "could not reach GET ${PLATFORM_URL}/pipelines?status=failed" in error.message


def test_no_answer_within_the_tools_timeout_answers_tool_timeout(definition, platform):
    platform.get(f"{PLATFORM}/pipelines", body=requests.ReadTimeout("read timed out"))
    error = error_of(definition, "list_failed_pipelines", "{}")
    assert (error.status, error.code) == (504, "tool_timeout") and "within 2 seconds" in error.message


def test_requests_waits_at_most_what_is_left_of_the_tools_timeout(definition, platform):
    seen = []
    platform.add_callback(responses.GET, f"{PLATFORM}/pipelines", callback=lambda request: (seen.append(request.req_kwargs["timeout"]), (200, {}, "[]"))[1])
    run_tool(definition, "list_failed_pipelines", "{}")
    (connect, read), = seen
    assert 0 < connect <= 2.0 and 0 < read <= 2.0


def test_a_long_output_is_cut_and_says_so(definition, platform):
    platform.get(f"{PLATFORM}/pipelines", body="x" * (MAX_OUTPUT_CHARS + 500))
    output = run_tool(definition, "list_failed_pipelines", "{}").output
    assert output.startswith("x" * MAX_OUTPUT_CHARS) and output.endswith(
        f"[output cut: showing the first {MAX_OUTPUT_CHARS:,} of {MAX_OUTPUT_CHARS + 500:,} characters]")


def test_tool_errors_are_api_errors_with_the_envelope(definition):
    error = error_of(definition, "nope", "{}")
    assert isinstance(error, ApiError) and error.envelope()["code"] == "unknown_tool"


def test_credentials_never_appear_in_outputs_errors_or_logs(definition, platform, caplog):
    caplog.set_level("DEBUG")
    echo = f"you sent Bearer {TOKEN} to {PLATFORM}"
    platform.get(f"{PLATFORM}/pipelines", body=echo)
    platform.get(f"{PLATFORM}/pipelines", status=401, body=echo)
    platform.get(f"{PLATFORM}/pipelines", body=requests.ConnectionError(f"cannot connect to {PLATFORM} with {TOKEN}"))
    platform.get(f"{PLATFORM}/pipelines", body=requests.ReadTimeout(TOKEN))
    seen = [run_tool(definition, "list_failed_pipelines", "{}").output]
    seen += [error_of(definition, "list_failed_pipelines", "{}").message for _ in range(3)]
    seen += [json.dumps(error_of(definition, "rerun_pipeline", '{"name": "x"}').envelope()), repr(definition)]
    seen += [record.getMessage() for record in caplog.records]
    assert seen[0] == "you sent Bearer ${PLATFORM_TOKEN} to ${PLATFORM_URL}"
    assert not [text for text in seen if TOKEN in text or PLATFORM in text]


def test_a_cookie_one_call_receives_is_not_sent_with_the_next(definition, platform):
    platform.get(f"{PLATFORM}/pipelines", body="[]", headers={"Set-Cookie": "session=alice; Path=/"})
    platform.get(f"{PLATFORM}/pipelines", body="[]")
    run_tool(definition, "list_failed_pipelines", "{}")
    run_tool(definition, "list_failed_pipelines", "{}")
    assert "Cookie" not in platform.calls[1].request.headers
