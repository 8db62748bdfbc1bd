"""Who may run what: roles in the admins file and the CLI, tools and MCP servers that name roles, and both channels
giving an admin only the tools their roles allow (403 tool_not_allowed, recorded with the role, for the others)."""

import json
import sqlite3

import pytest
import responses
from agents.testing import ScriptedModel, assistant_message, function_call

import activity
from agent.definition import DefinitionError, load_definition
from app import create_app
from core.admins import AdminFileError, add_admin, find_admin, set_roles
from core.clock import FixedClock
from harness.payloads import ANSWER_SDP, OFFER_SDP, client_secret_response
from tests.support import BASE_URL, PASSWORD, TODAY, SignedInAdmin

PLATFORM = "http://platform.test"
TOKEN = "tok-roles-secret-9"
AGENT = '''
instructions = "You help the admins."

[[tools]]
name = "list_failed_pipelines"
description = "Pipelines whose last run failed."
url = "${PLATFORM_URL}/pipelines?status=failed"
headers = { Authorization = "Bearer ${PLATFORM_TOKEN}" }

[[tools]]
name = "rerun_pipeline"
description = "Reruns one pipeline."
method = "POST"
url = "${PLATFORM_URL}/pipelines/{name}/rerun"
headers = { Authorization = "Bearer ${PLATFORM_TOKEN}" }
parameters = { type = "object", properties = { name = { type = "string" } }, required = ["name"] }
confirm = false
roles = ["operator"]
'''


@pytest.fixture
def agent_env(tmp_path, admins_file):
    path = tmp_path / "agent.toml"
    path.write_text(AGENT)
    add_admin(admins_file, "vera", PASSWORD, roles=("viewer",))
    add_admin(admins_file, "olga", PASSWORD, roles=("viewer", "operator"))
    return {"AGENT_FILE": str(path), "PLATFORM_URL": PLATFORM, "PLATFORM_TOKEN": TOKEN}


@pytest.fixture
def agent_app(make_app, agent_env):
    return make_app(**agent_env)


@pytest.fixture
def platform():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def signed_in(app, name):
    admin = SignedInAdmin(app.test_client())
    admin.login(name, PASSWORD)
    return admin


def tool_rows(app):
    activity.flush_mints()
    with app.app_context():
        from core.database import database

        with database().connect() as connection:
            return [dict(row) for row in connection.execute(activity.tool_calls.select().order_by("id")).mappings()]


def sent_session(platform):
    body = platform.calls[-1].request.body
    return json.loads(body.decode() if isinstance(body, bytes) else body)


# --- the admins file and the CLI --------------------------------------------------------------------------------


def test_roles_are_the_optional_fourth_field_of_an_admins_line(tmp_path):
    path = tmp_path / "admins.txt"
    add_admin(str(path), "vera", PASSWORD, roles=("viewer", "auditor"))
    add_admin(str(path), "alice", PASSWORD)
    lines = {line.split(":", 1)[0]: line for line in path.read_text().splitlines() if not line.startswith("#")}
    assert lines["vera"].endswith(":viewer,auditor") and lines["alice"].count(":") == lines["vera"].count(":") - 1
    assert find_admin(str(path), "vera").roles == ("viewer", "auditor") and find_admin(str(path), "alice").roles == ()


def test_a_new_password_keeps_the_roles_unless_new_ones_are_given(tmp_path):
    path = str(tmp_path / "admins.txt")
    add_admin(path, "vera", PASSWORD, roles=("viewer",))
    add_admin(path, "vera", "another long password")
    assert find_admin(path, "vera").roles == ("viewer",)
    add_admin(path, "vera", "another long password", roles=("operator",))
    assert find_admin(path, "vera").roles == ("operator",)


def test_a_legacy_line_may_carry_roles_too_and_a_bad_role_names_the_line(tmp_path):
    from werkzeug.security import generate_password_hash

    path = tmp_path / "admins.txt"
    path.write_text(f"old:{generate_password_hash(PASSWORD)}:viewer\nbad:{generate_password_hash(PASSWORD)}:Vi ewer\n")
    with pytest.raises(AdminFileError) as raised:
        find_admin(str(path), "old")
    assert "line 2: 'vi ewer' is not a role name" in str(raised.value)
    path.write_text(f"old:{generate_password_hash(PASSWORD)}:viewer\n")
    assert find_admin(str(path), "old").roles == ("viewer",)


def test_flask_admin_add_with_role_and_list_show_roles(agent_app):
    runner = agent_app.test_cli_runner()
    result = runner.invoke(args=["admin", "add", "bob", "--role", "viewer,operator", "--password-stdin"],
                           input="a long password\n")
    assert result.exit_code == 0 and "Added admin bob with roles viewer,operator" in result.output
    listing = runner.invoke(args=["admin", "list"]).output.splitlines()
    assert "bob\tviewer,operator" in listing and "alice" in listing


def test_flask_admin_add_refuses_a_bad_role_and_changes_nothing(agent_app):
    result = agent_app.test_cli_runner().invoke(args=["admin", "add", "bob", "--role", "Root!", "--password-stdin"],
                                                input="a long password\n")
    assert result.exit_code != 0 and "'root!' is not a role name" in result.output
    assert find_admin(agent_app.config["SETTINGS"].auth.admin_users_file, "bob") is None


def test_flask_admin_role_changes_the_roles_and_ends_the_admins_sessions(agent_app):
    vera = signed_in(agent_app, "vera")
    assert vera.client.get("/admin/voice").status_code == 200
    result = agent_app.test_cli_runner().invoke(args=["admin", "role", "vera", "operator"])
    assert result.exit_code == 0 and "Admin vera now has roles operator (was viewer)" in result.output
    assert find_admin(agent_app.config["SETTINGS"].auth.admin_users_file, "vera").roles == ("operator",)
    assert vera.post("/api/v1/realtime/tool-calls", json={}).status_code == 401
    assert signed_in(agent_app, "vera").client.get("/admin/voice").status_code == 200  # a new sign-in works


def test_flask_admin_role_with_nothing_clears_the_roles_and_names_an_unknown_admin(agent_app):
    runner = agent_app.test_cli_runner()
    assert "now has no roles (was viewer)" in runner.invoke(args=["admin", "role", "vera", ""]).output
    unknown = runner.invoke(args=["admin", "role", "nobody", "viewer"])
    assert unknown.exit_code != 0 and "no admin named nobody" in unknown.output


def test_roles_changed_in_the_file_by_hand_end_the_sessions_at_the_next_request(agent_app):
    vera = signed_in(agent_app, "vera")
    set_roles(agent_app.config["SETTINGS"].auth.admin_users_file, "vera", ("operator",))
    assert vera.client.get("/admin/voice").status_code == 302


# --- the agent file ---------------------------------------------------------------------------------------------


def test_a_tool_or_server_roles_must_be_role_names(tmp_path):
    path = tmp_path / "agent.toml"
    path.write_text(AGENT.replace('roles = ["operator"]', 'roles = ["Operators!"]'))
    with pytest.raises(DefinitionError) as raised:
        load_definition(str(path), {"PLATFORM_URL": PLATFORM, "PLATFORM_TOKEN": TOKEN})
    assert "tools[1].roles: must be a non-empty list of role names" in str(raised.value)
    path.write_text(AGENT + '\n[[mcp_servers]]\nlabel = "w"\nurl = "http://127.0.0.1:9/mcp"\nroles = []\n')
    with pytest.raises(DefinitionError, match=r"mcp_servers\[0\]\.roles: must be a non-empty list"):
        load_definition(str(path), {"PLATFORM_URL": PLATFORM, "PLATFORM_TOKEN": TOKEN})


def test_without_roles_every_admin_may_use_every_tool(make_app, tmp_path, platform, admins_file):
    path = tmp_path / "agent.toml"
    path.write_text(AGENT.replace('roles = ["operator"]\n', ""))
    app = make_app(AGENT_FILE=str(path), PLATFORM_URL=PLATFORM, PLATFORM_TOKEN=TOKEN)
    platform.post(f"{PLATFORM}/pipelines/nightly/rerun", json={"run": 7})
    alice = signed_in(app, "alice")  # an admin without roles, as every admin was before roles
    response = alice.post("/api/v1/realtime/tool-calls", json={
        "name": "rerun_pipeline", "arguments": '{"name": "nightly"}', "call_id": "call_1"})
    assert response.status_code == 200


# --- voice --------------------------------------------------------------------------------------------------------


def test_a_viewers_minted_and_relayed_sessions_list_only_the_tools_they_may_run(agent_app, platform):
    platform.post(f"{BASE_URL}/realtime/client_secrets", json=client_secret_response())
    platform.post(f"{BASE_URL}/realtime/calls", body=ANSWER_SDP, status=201, headers={"Location": "/v1/realtime/calls/rtc_1"})
    vera, olga = signed_in(agent_app, "vera"), signed_in(agent_app, "olga")
    assert vera.post("/api/v1/chatkit/realtime-session").status_code == 200
    assert [tool["name"] for tool in sent_session(platform)["session"]["tools"]] == ["list_failed_pipelines"]
    assert olga.post("/api/v1/chatkit/realtime-session").status_code == 200
    assert [tool["name"] for tool in sent_session(platform)["session"]["tools"]] == [
        "list_failed_pipelines", "rerun_pipeline"]
    relayed = vera.post("/api/v1/realtime/calls", data=OFFER_SDP, content_type="application/sdp")
    assert relayed.status_code == 201
    assert b"rerun_pipeline" not in platform.calls[-1].request.body


def test_a_viewers_direct_call_to_an_operator_tool_answers_403_and_is_recorded(agent_app, platform):
    vera = signed_in(agent_app, "vera")
    response = vera.post("/api/v1/realtime/tool-calls", json={
        "name": "rerun_pipeline", "arguments": '{"name": "nightly"}', "call_id": "call_9"})
    assert response.status_code == 403
    body = response.get_json()
    assert body["code"] == "tool_not_allowed" and "for the role operator; your roles (viewer)" in body["message"]
    assert len(platform.calls) == 0
    row = tool_rows(agent_app)[-1]
    assert (row["admin"], row["tool"], row["error_code"], row["role"]) == ("vera", "rerun_pipeline",
                                                                          "tool_not_allowed", "viewer")


def test_an_operator_runs_it_and_the_activity_page_shows_each_calls_role(agent_app, platform):
    platform.post(f"{PLATFORM}/pipelines/nightly/rerun", json={"run": 7})
    platform.get(f"{PLATFORM}/pipelines", json=[])
    olga, vera = signed_in(agent_app, "olga"), signed_in(agent_app, "vera")
    assert olga.post("/api/v1/realtime/tool-calls", json={
        "name": "rerun_pipeline", "arguments": '{"name": "nightly"}', "call_id": "call_1"}).status_code == 200
    assert vera.post("/api/v1/realtime/tool-calls", json={
        "name": "list_failed_pipelines", "arguments": "{}", "call_id": "call_2"}).status_code == 200
    assert [row["role"] for row in tool_rows(agent_app)] == ["viewer,operator", "viewer"]
    page = vera.client.get("/admin/activity").get_data(as_text=True)
    assert '<th scope="col">Role</th>' in page
    assert "<td>viewer,operator</td>" in page and "<td>viewer</td>" in page


def test_the_status_panel_and_the_approval_list_show_only_the_admins_tools(agent_app):
    vera = signed_in(agent_app, "vera")
    page = vera.client.get("/admin/voice").get_data(as_text=True)
    assert "<code>list_failed_pipelines</code>" in page and "rerun_pipeline" not in page
    olga_page = signed_in(agent_app, "olga").client.get("/admin/voice").get_data(as_text=True)
    assert "<code>rerun_pipeline</code>" in olga_page


def test_a_database_made_before_the_role_column_gets_it_at_start_up(make_app, agent_env, tmp_path, platform):
    database = tmp_path / "old.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE activity_tool_calls (id INTEGER PRIMARY KEY, created_at DATETIME NOT NULL, "
                           "admin VARCHAR(100) NOT NULL, channel VARCHAR(10) NOT NULL, tool VARCHAR(64) NOT NULL, "
                           "outcome VARCHAR(10) NOT NULL, error_code VARCHAR(60), ms FLOAT, call_id VARCHAR(200))")
        connection.execute("INSERT INTO activity_tool_calls (created_at, admin, channel, tool, outcome) "
                           "VALUES ('2026-12-01 10:00:00', 'alice', 'voice', 'list_failed_pipelines', 'ok')")
    app = make_app(DATABASE_URL=f"sqlite:///{database}", **agent_env)
    make_app(DATABASE_URL=f"sqlite:///{database}", **agent_env)  # a second worker starting finds it there
    platform.get(f"{PLATFORM}/pipelines", json=[])
    vera = signed_in(app, "vera")
    assert vera.post("/api/v1/realtime/tool-calls", json={
        "name": "list_failed_pipelines", "arguments": "{}", "call_id": "call_3"}).status_code == 200
    assert [(row["admin"], row["role"]) for row in tool_rows(app)] == [("alice", None), ("vera", "viewer")]


# --- chat ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def model():
    return ScriptedModel()


@pytest.fixture
def chat_app(base_env, agent_env, model):
    env = {**base_env, **agent_env, "CHATKIT_INSTRUCTIONS": "You are the test agent."}
    env.pop("CHATKIT_AGENT_ID")
    return create_app({"CLOCK": FixedClock(TODAY), "ENVIRON": env, "TESTING": True, "CHATKIT_AGENT_MODEL": model})


def chatkit(admin, request):
    return admin.post("/chatkit", data=json.dumps(request), content_type="application/json")


def new_thread(text):
    return {"type": "threads.create", "params": {"input": {"content": [{"type": "input_text", "text": text}],
                                                           "attachments": [], "inference_options": {}}}}


def test_the_chat_agent_gets_only_the_tools_the_admins_roles_allow(chat_app, model):
    model.enqueue([assistant_message("Hello.", item_id="msg_1")])
    chatkit(signed_in(chat_app, "vera"), new_thread("hello")).get_data()
    assert [tool.name for tool in model.last_call.tools] == ["list_failed_pipelines"]
    model.enqueue([assistant_message("Hello.", item_id="msg_2")])
    chatkit(signed_in(chat_app, "olga"), new_thread("hello")).get_data()
    assert [tool.name for tool in model.last_call.tools] == ["list_failed_pipelines", "rerun_pipeline"]


def test_a_chat_call_to_a_tool_the_roles_do_not_allow_runs_nothing_and_says_so(chat_app, model, platform):
    # The model names a tool it was not given (a replayed history, a prompt injection): the agent has no such tool
    # for a viewer, so nothing runs and nothing reaches the platform.
    model.enqueue([function_call("rerun_pipeline", {"name": "nightly"}, call_id="call_c1")])
    raw = chatkit(signed_in(chat_app, "vera"), new_thread("rerun nightly")).get_data(as_text=True)
    assert len(platform.calls) == 0
    assert "The agent asked for a tool it does not have for you (rerun_pipeline): nothing was run." in raw


def test_sdk_tools_refuse_a_call_the_roles_do_not_allow_even_when_given_the_tool(agent_env, platform):
    import asyncio

    from agent.mcp_tools import AgentTools
    from agent.sdk_tools import sdk_function_tools

    definition = load_definition(agent_env["AGENT_FILE"], agent_env)
    tools = {tool.name: tool for tool in sdk_function_tools(AgentTools(definition), admit=lambda *_: ("viewer",))}

    class RunContext:
        context = None
        tool_call_id = "call_x"

    output = asyncio.run(tools["rerun_pipeline"].on_invoke_tool(RunContext(), '{"name": "nightly"}'))
    assert output.startswith("Error (tool_not_allowed): ") and len(platform.calls) == 0


def test_an_approval_held_before_a_role_change_does_not_run_for_the_new_roles(base_env, agent_env, model, platform,
                                                                             tmp_path):
    confirm_file = tmp_path / "confirm.toml"
    confirm_file.write_text(AGENT.replace("confirm = false", "confirm = true"))
    env = {**base_env, **agent_env, "AGENT_FILE": str(confirm_file), "CHATKIT_INSTRUCTIONS": "You are the test agent."}
    env.pop("CHATKIT_AGENT_ID")
    chat_app = create_app({"CLOCK": FixedClock(TODAY), "ENVIRON": env, "TESTING": True, "CHATKIT_AGENT_MODEL": model})
    olga = signed_in(chat_app, "olga")
    model.enqueue([function_call("rerun_pipeline", {"name": "nightly"}, call_id="call_held")])
    events = [json.loads(line[6:]) for line in chatkit(olga, new_thread("rerun nightly")).get_data(as_text=True)
              .split("\n") if line.startswith("data: ")]
    card = [event["item"] for event in events if event["type"] == "thread.item.done"][-1]
    assert card["type"] == "widget"
    set_roles(chat_app.config["SETTINGS"].auth.admin_users_file, "olga", ("viewer",))
    olga = signed_in(chat_app, "olga")
    click = {"type": "threads.custom_action", "params": {"thread_id": events[0]["thread"]["id"], "item_id": card["id"],
             "action": {"type": "tool.approve", "payload": {"call_id": "call_held"}}}}
    raw = chatkit(olga, click).get_data(as_text=True)
    assert "Not run: your roles do not allow rerun_pipeline." in raw and len(platform.calls) == 0
    assert tool_rows(chat_app)[-1]["error_code"] == "tool_not_allowed"
