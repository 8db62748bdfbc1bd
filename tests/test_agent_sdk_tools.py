"""The agent's tools handed to the Agents SDK (self-hosted chat): same names and schemas, run on the server."""

import asyncio

import pytest
import responses

from agent.definition import load_definition
from agent.mcp_tools import AgentTools
from agent.sdk_tools import sdk_function_tools

AGENT = '''
instructions = "You help the admins."

[[tools]]
name = "list_failed_pipelines"
description = "Failed pipelines."
url = "http://platform.test/pipelines"
parameters = { type = "object", properties = { since = { type = "string" } } }

[[tools]]
name = "rerun_pipeline"
description = "Reruns one."
method = "POST"
url = "http://platform.test/pipelines/{name}/rerun"
parameters = { type = "object", properties = { name = { type = "string" } }, required = ["name"] }
'''


@pytest.fixture
def sdk_tools(tmp_path):
    path = tmp_path / "agent.toml"
    path.write_text(AGENT)
    return {tool.name: tool for tool in sdk_function_tools(AgentTools(load_definition(str(path), {})))}


def test_confirm_tools_need_the_sdks_approval_and_the_others_do_not(sdk_tools):
    assert {name: tool.needs_approval for name, tool in sdk_tools.items()} == {
        "list_failed_pipelines": False, "rerun_pipeline": True}


def test_an_sdk_tool_runs_the_call_on_the_server(sdk_tools):
    with responses.RequestsMock() as platform:
        platform.get("http://platform.test/pipelines?since=yesterday", body="orders_daily")
        assert asyncio.run(sdk_tools["list_failed_pipelines"].on_invoke_tool(None, '{"since": "yesterday"}')) == "orders_daily"


def test_a_failed_call_becomes_an_error_the_model_can_read(sdk_tools):
    with responses.RequestsMock() as platform:
        platform.get("http://platform.test/pipelines", status=500, body="boom")
        output = asyncio.run(sdk_tools["list_failed_pipelines"].on_invoke_tool(None, "{}"))
    assert output.startswith("Error (tool_failed): ") and "HTTP 500" in output
