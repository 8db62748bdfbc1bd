"""The agent's tools come back without a restart: AgentTools lists a missing MCP server again by itself (at most every
SELF_REFRESH_SECONDS, when tools are next asked for), and the voice page's status panel shows the agent file, its
tools and each MCP server problem, with a Refresh tools button."""

import html

import pytest

from agent import mcp_tools
from agent.definition import load_definition
from agent.mcp_tools import AgentTools
from examples import warehouse_mcp
from harness.standin import closed_port
from tests.support import SignedInAdmin
from tests.test_agent_mcp import AGENT, TOKEN

PROBLEM = ("MCP server 'warehouse' at ${WAREHOUSE_MCP_URL} could not be reached: connection refused; "
           "its tools are missing until it answers")


@pytest.fixture
def free_port():
    # Free a moment ago, nothing listening yet: connections are refused until the test starts the server there.
    return closed_port()


@pytest.fixture
def agent_file(tmp_path):
    path = tmp_path / "agent.toml"
    path.write_text(AGENT.replace('description = "Failed pipelines."', 'description = "Failed pipelines."\nconfirm = true'))
    return str(path)


def test_tools_refresh_themselves_at_most_every_30_seconds_while_a_server_is_missing(agent_file, free_port, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(mcp_tools, "clock", lambda: now[0])
    listings = []
    real_list_tools = mcp_tools.list_tools
    monkeypatch.setattr(mcp_tools, "list_tools", lambda server, *limits: listings.append(server.label) or real_list_tools(server, *limits))
    url = f"http://127.0.0.1:{free_port}/mcp"
    definition = load_definition(agent_file, {"WAREHOUSE_MCP_URL": url, "WAREHOUSE_MCP_TOKEN": TOKEN})
    tools = AgentTools(definition)
    assert list(tools.problems) == ["warehouse"] and listings == ["warehouse"]
    version = tools.version

    with warehouse_mcp.running(TOKEN, port=free_port):
        now[0] += 29.9
        assert [tool["name"] for tool in tools.function_tools()] == ["list_failed_pipelines"]  # not yet due
        assert listings == ["warehouse"]
        now[0] += 0.1
        names = sorted(tool["name"] for tool in tools.function_tools())  # due: listed again, the server is back
        assert names == ["list_failed_pipelines", "list_tables", "row_count"]
        assert listings == ["warehouse", "warehouse"] and tools.problems == {} and tools.version != version
        now[0] += 300
        tools.function_tools()
        assert len(listings) == 2  # nothing missing: no more listings


def test_a_call_to_a_missing_servers_tool_lists_it_again_when_due(agent_file, free_port, monkeypatch):
    now = [0.0]
    monkeypatch.setattr(mcp_tools, "clock", lambda: now[0])
    definition = load_definition(agent_file, {"WAREHOUSE_MCP_URL": f"http://127.0.0.1:{free_port}/mcp",
                                              "WAREHOUSE_MCP_TOKEN": TOKEN})
    tools = AgentTools(definition)
    with warehouse_mcp.running(TOKEN, port=free_port):
        now[0] += 30
        result = tools.run("row_count", '{"table": "runs"}')  # missing, due: listed again, then run
        assert result.output and tools.problems == {}


@pytest.fixture
def refresh_app(make_app, agent_file, free_port):
    return make_app(AGENT_FILE=agent_file, WAREHOUSE_MCP_URL=f"http://127.0.0.1:{free_port}/mcp",
                    WAREHOUSE_MCP_TOKEN=TOKEN)


def test_the_status_panel_shows_the_problem_and_refresh_tools_finds_a_server_started_after_the_app(
        refresh_app, agent_file, free_port):
    admin = SignedInAdmin(refresh_app.test_client())
    admin.login()
    page = html.unescape(admin.client.get("/admin/voice").get_data(as_text=True))
    assert agent_file in page and "<code>list_failed_pipelines</code> <span class=\"badge\">needs approval</span>" in page
    assert PROBLEM in page and "row_count" not in page
    assert "Refresh tools" in page and 'hx-post="/admin/voice/refresh-tools"' in page

    with warehouse_mcp.running(TOKEN, port=free_port):
        response = admin.post("/admin/voice/refresh-tools", headers={"HX-Request": "true"})
        assert response.status_code == 200
        fragment = html.unescape(response.get_data(as_text=True))
        assert "could not be reached" not in fragment
        assert "<code>row_count</code>" in fragment and "(MCP warehouse)" in fragment
        assert refresh_app.extensions["agent_tools"].get("list_tables") is not None


def test_refresh_tools_needs_sign_in_and_the_csrf_token(refresh_app):
    client = refresh_app.test_client()
    assert client.post("/admin/voice/refresh-tools").status_code in (302, 400, 401)
    admin = SignedInAdmin(refresh_app.test_client())
    admin.login()
    assert admin.client.post("/admin/voice/refresh-tools", headers={"HX-Request": "true"}).status_code == 400
    # Without JavaScript: back to the voice page.
    assert admin.post("/admin/voice/refresh-tools").status_code == 302
