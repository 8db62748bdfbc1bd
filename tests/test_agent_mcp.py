"""The agent's MCP servers: tools listed from a real MCP server (examples/warehouse_mcp.py), filtered and called."""

import dataclasses
import logging
import socket
import subprocess
import sys

import pytest

from agent.definition import load_definition
from agent.executor import run_tool
from agent.mcp_tools import (
    AgentTools,
    McpTimeout,
    McpUnreachable,
    call_tool,
    list_tools,
)
from examples import warehouse_mcp
from harness.standin import closed_port

TOKEN = "mcp-token-very-secret"
AGENT = '''
instructions = "You help the admins."

[[tools]]
name = "list_failed_pipelines"
description = "Failed pipelines."
url = "http://platform.test/pipelines"

[[mcp_servers]]
label = "warehouse"
url = "${WAREHOUSE_MCP_URL}"
headers = { Authorization = "Bearer ${WAREHOUSE_MCP_TOKEN}" }
allowed_tools = ["row_count", "list_tables"]
timeout_seconds = 10
'''


@pytest.fixture(scope="module")
def warehouse_url():
    with warehouse_mcp.running(TOKEN) as url:
        yield url


@pytest.fixture
def load(tmp_path):
    def load(url, token=TOKEN, text=AGENT):
        path = tmp_path / "agent.toml"
        path.write_text(text)
        return load_definition(str(path), {"WAREHOUSE_MCP_URL": url, "WAREHOUSE_MCP_TOKEN": token})

    return load


@pytest.fixture
def closed_port_url():
    return f"http://127.0.0.1:{closed_port()}/mcp"  # the connection is refused


def test_function_tools_merge_http_tools_and_the_allowed_mcp_tools(load, warehouse_url):
    tools = AgentTools(load(warehouse_url)).function_tools()
    assert [tool["name"] for tool in tools] == ["list_failed_pipelines", "list_tables", "row_count"]
    row_count = tools[2]
    assert row_count["type"] == "function" and row_count["description"] == "How many rows a warehouse table holds."
    assert row_count["parameters"]["properties"]["table"]["type"] == "string"


def test_without_allowed_tools_every_listed_tool_joins(load, warehouse_url):
    definition = load(warehouse_url, text=AGENT.replace('allowed_tools = ["row_count", "list_tables"]\n', ""))
    assert {tool.name for tool in list_tools(definition.mcp_servers[0])} == {"list_tables", "row_count", "drop_table"}


def test_an_mcp_tool_runs_on_the_server(load, warehouse_url):
    result = run_tool(AgentTools(load(warehouse_url)), "row_count", '{"table": "runs"}')
    assert result.output == "runs: 9,876 rows"


def test_an_mcp_tool_left_out_by_allowed_tools_is_unknown(load, warehouse_url):
    with pytest.raises(Exception) as raised:
        AgentTools(load(warehouse_url)).run("drop_table", '{"table": "runs"}')
    assert raised.value.code == "unknown_tool"


def test_an_mcp_tools_own_error_answers_tool_failed_with_its_words(load, warehouse_url):
    with pytest.raises(Exception) as raised:
        AgentTools(load(warehouse_url)).run("row_count", '{"table": "nope"}')
    assert raised.value.code == "tool_failed" and "no table named 'nope'" in raised.value.message


def test_mcp_arguments_are_checked_against_the_listed_schema(load, warehouse_url):
    with pytest.raises(Exception) as raised:
        AgentTools(load(warehouse_url)).run("row_count", "{}")
    assert raised.value.code == "invalid_arguments" and "'table' is a required property" in raised.value.message


def test_a_wrong_token_is_reported_as_the_servers_http_status_without_the_token(load, warehouse_url):
    with pytest.raises(McpUnreachable) as raised:
        list_tools(load(warehouse_url, token="wrong-token").mcp_servers[0])
    assert str(raised.value) == "MCP server 'warehouse' at ${WAREHOUSE_MCP_URL} could not be reached: it answered HTTP 401"


def test_an_unreachable_server_at_start_up_is_a_warning_and_its_tools_are_missing(load, closed_port_url, caplog):
    tools = AgentTools(load(closed_port_url))
    assert [tool["name"] for tool in tools.function_tools()] == ["list_failed_pipelines"]
    assert tools.problems == {"warehouse": "MCP server 'warehouse' at ${WAREHOUSE_MCP_URL} could not be reached: connection refused"}
    assert any(record.levelno == logging.WARNING and "connection refused" in record.getMessage() for record in caplog.records)


def test_a_call_to_an_unreachable_servers_tool_answers_tool_failed_with_the_reason(load, closed_port_url):
    with pytest.raises(Exception) as raised:
        AgentTools(load(closed_port_url)).run("row_count", '{"table": "runs"}')
    assert (raised.value.status, raised.value.code) == (502, "tool_failed")
    assert "MCP server 'warehouse' at ${WAREHOUSE_MCP_URL} could not be reached: connection refused" in raised.value.message


def test_refresh_finds_the_tools_of_a_server_that_came_back(load, warehouse_url):
    tools = AgentTools(load(warehouse_url), connect=False)
    assert tools.get("row_count") is None
    assert tools.refresh() == {} and tools.get("row_count").name == "row_count"


def test_a_confirm_server_makes_its_tools_need_approval(load, warehouse_url):
    tools = AgentTools(load(warehouse_url, text=AGENT.replace("timeout_seconds = 10", "timeout_seconds = 10\nconfirm = true")))
    assert (tools.needs_approval("row_count"), tools.needs_approval("list_failed_pipelines")) == (True, False)
    with pytest.raises(Exception) as raised:
        tools.run("row_count", '{"table": "runs"}')
    assert raised.value.code == "approval_required"


def test_the_example_server_runs_as_a_module_on_a_free_port_and_says_where(load):
    process = subprocess.Popen([sys.executable, "-m", "examples.warehouse_mcp", "--port", "0", "--token", TOKEN],
                               stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("warehouse MCP listening on http://127.0.0.1:") and line.rstrip().endswith("/mcp")
        assert AgentTools(load(line.split(" on ", 1)[1].strip())).get("list_tables") is not None
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_server_that_does_not_answer_in_time_answers_tool_timeout(load):
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/mcp"
        text = AGENT.replace("timeout_seconds = 10", "timeout_seconds = 0.5").replace('allowed_tools = ["row_count", "list_tables"]\n', "")
        tools = AgentTools(load(url, text=text), connect=False)
        with pytest.raises(McpTimeout, match=r"^MCP server 'warehouse' at \$\{WAREHOUSE_MCP_URL\} did not answer within 0.5 seconds$"):
            list_tools(tools.definition.mcp_servers[0])


def test_mcp_outputs_and_errors_hold_no_credential(load, warehouse_url):
    server = load(warehouse_url).mcp_servers[0]
    leaky = dataclasses.replace(server, secrets={**server.secrets, "WAREHOUSE_TABLE": "runs"})
    assert call_tool(leaky, "row_count", {"table": "runs"}) == "${WAREHOUSE_TABLE}: 9,876 rows"
