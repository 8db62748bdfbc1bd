"""HTTP tools stay in their lane, proved against real servers on 127.0.0.1: only the schema's arguments, paths that
stay under the template, bounded answers and time, no redirect elsewhere, no proxy from the environment, and every
secret of the file redacted in every spelling."""

import base64
import json
import re
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import pytest

from agent.definition import DefinitionError, load_definition
from agent.executor import ToolError, check_stays_under, run_http, run_tool
from agent.mcp_tools import AgentTools
from core.config import tool_settings

TOKEN = "tok-Very+Secret/42=="
KEY = "key-other-tool-7781"


class Platform:
    """A platform on a free loopback port whose answer per path is set by the test; it records every request."""

    def __init__(self):
        self.requests = []  # (method, path, headers, body)
        self.answers = {}  # path (without query) -> function(handler) that answers
        platform = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args):
                pass

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                platform.requests.append((self.command, self.path, dict(self.headers), body))
                answer = platform.answers.get(self.path.split("?", 1)[0], _json_answer([]))
                try:
                    answer(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the tool stopped reading, as it should

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_one

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def _json_answer(value, status=200, reason=None):
    def answer(handler):
        body = json.dumps(value).encode()
        handler.send_response(status, reason)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def _text_answer(text, status=200, reason=None):
    def answer(handler):
        body = text.encode()
        handler.send_response(status, reason)
        handler.send_header("Content-Type", "text/plain; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def _redirect_to(location, status=302):
    def answer(handler):
        handler.send_response(status)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer


def _drip(every_seconds, in_headers=False):
    """Answers one byte at a time, in the body or (in_headers) in the headers themselves, until the client leaves."""

    def answer(handler):
        if in_headers:
            handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        else:
            handler.send_response(200)
            handler.send_header("Content-Length", "1000000")
            handler.end_headers()
        for _ in range(600):
            handler.wfile.write(b"x")
            handler.wfile.flush()
            time.sleep(every_seconds)

    return answer


def _huge(megabytes):
    def answer(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Content-Length", str(megabytes * 1024 * 1024))
        handler.end_headers()
        chunk = b"y" * (1024 * 1024)
        for _ in range(megabytes):
            handler.wfile.write(chunk)

    return answer


@pytest.fixture
def platform():
    with Platform() as running:
        yield running


@pytest.fixture
def other_host():
    with Platform() as running:
        yield running


AGENT = '''
instructions = "You help the admins."

[[tools]]
name = "list_failed_pipelines"
description = "Failed pipelines."
url = "${PLATFORM_URL}/pipelines?status=failed"
headers = { Authorization = "Bearer ${PLATFORM_TOKEN}" }
parameters = { type = "object", properties = { since = { type = "string" } } }
timeout_seconds = 2

[[tools]]
name = "rerun_pipeline"
description = "Reruns one."
method = "POST"
url = "${PLATFORM_URL}/pipelines/{name}/rerun"
headers = { Authorization = "Bearer ${PLATFORM_TOKEN}" }
parameters = { type = "object", properties = { name = { type = "string" }, reason = { type = "string" } }, required = ["name"] }
timeout_seconds = 2

[[tools]]
name = "get_dataset"
description = "One dataset, behind a key of its own."
url = "${PLATFORM_URL}/datasets/{name}"
headers = { X-Api-Key = "${DATASET_KEY}" }
parameters = { type = "object", properties = { name = { type = "string" } }, required = ["name"] }
timeout_seconds = 2
'''


def load(tmp_path, platform_url, text=AGENT):
    path = tmp_path / "agent.toml"
    path.write_text(text)
    return load_definition(str(path), {"PLATFORM_URL": platform_url, "PLATFORM_TOKEN": TOKEN, "DATASET_KEY": KEY})


def refused(definition, name, arguments, **kwargs):
    with pytest.raises(ToolError) as raised:
        run_tool(definition, name, arguments, **kwargs)
    return raised.value


# --- 1. arguments are what the schema says ---------------------------------------------------------------------


def test_a_get_tools_extra_arguments_are_refused_and_nothing_is_sent(tmp_path, platform):
    definition = load(tmp_path, platform.url)
    error = refused(definition, "list_failed_pipelines",
                    '{"status": "succeeded", "include_deleted": true, "_method": "DELETE"}')
    assert (error.status, error.code) == (400, "invalid_arguments")
    assert "'_method', 'include_deleted', 'status' are not one" in error.message
    assert platform.requests == []


def test_a_post_tools_extra_body_keys_are_refused_and_nothing_is_sent(tmp_path, platform):
    definition = load(tmp_path, platform.url)
    error = refused(definition, "rerun_pipeline", '{"name": "orders_daily", "force": true, "owner": "root"}',
                    approved=True)
    assert error.code == "invalid_arguments" and "'force', 'owner' are not one" in error.message
    assert platform.requests == []


def test_the_schema_the_model_gets_says_no_other_keys(tmp_path, platform):
    assert load(tmp_path, platform.url).tools[0].parameters["additionalProperties"] is False


def test_a_file_may_let_a_post_body_take_other_keys(tmp_path, platform):
    text = AGENT.replace('reason = { type = "string" } }, required = ["name"] }',
                         'reason = { type = "string" } }, required = ["name"], additionalProperties = true }')
    definition = load(tmp_path, platform.url, text)
    run_tool(definition, "rerun_pipeline", '{"name": "orders_daily", "priority": 3}', approved=True)
    assert json.loads(platform.requests[0][3]) == {"priority": 3}


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_a_file_may_not_let_a_get_or_delete_take_other_keys(tmp_path, platform, method):
    text = AGENT.replace('properties = { since = { type = "string" } } }',
                         'properties = { since = { type = "string" } }, additionalProperties = true }').replace(
        'url = "${PLATFORM_URL}/pipelines?status=failed"', f'method = "{method}"\nurl = "${{PLATFORM_URL}}/pipelines"')
    with pytest.raises(DefinitionError) as raised:
        load(tmp_path, platform.url, text)
    assert f"tools[0].parameters.additionalProperties: only POST, PUT, PATCH tools may take arguments beyond " \
           f"properties (in their JSON body); a {method} tool's would reach the URL" in str(raised.value)


def test_an_argument_may_not_repeat_the_templates_own_query_parameter(tmp_path, platform):
    text = AGENT.replace('properties = { since = { type = "string" } } }',
                         'properties = { since = { type = "string" }, status = { type = "string" } } }')
    with pytest.raises(DefinitionError) as raised:
        load(tmp_path, platform.url, text)
    assert "tools[0].parameters.properties.status: the url already sets ?status=" in str(raised.value)


def test_a_repeated_query_parameter_never_reaches_the_platform(tmp_path, platform):
    definition = load(tmp_path, platform.url)
    refused(definition, "list_failed_pipelines", '{"status": "succeeded"}')
    run_tool(definition, "list_failed_pipelines", '{"since": "2026-11-26"}')
    assert [path for _method, path, _headers, _body in platform.requests] == [
        "/pipelines?status=failed&since=2026-11-26"]


# --- 3. paths stay under the template ---------------------------------------------------------------------------


@pytest.mark.parametrize("value, words", [
    ("..", "is or holds the path step '..'"),
    (".", "is or holds the path step '.'"),
    ("%2e%2E", "is or holds the path step '..'"),
    ("%252e%252e", "is or holds the path step '..'"),
    ("a/../../admin", "is or holds the path step '..'"),
    ("http://evil.test/x", "is a URL"),
    ("//evil.test/x", "is a URL"),
    ("orders\nX-Injected: 1", "holds a control character"),
    ("orders\u202edaily", "holds a control character"),
    ("", "is empty"),
])
def test_a_placeholder_that_could_leave_the_path_is_refused_naming_it_and_reaches_no_server(
        tmp_path, platform, value, words):
    definition = load(tmp_path, platform.url)
    error = refused(definition, "rerun_pipeline", json.dumps({"name": value}), approved=True)
    assert error.code == "invalid_arguments" and f"The argument 'name' of 'rerun_pipeline' {words}" in error.message
    assert platform.requests == []


def test_a_url_that_leaves_the_templates_prefix_is_refused_before_sending(tmp_path, platform):
    rerun = load(tmp_path, platform.url).tools[1]
    for url in (f"{platform.url}/rerun", f"{platform.url.replace('127.0.0.1', 'localhost')}/pipelines/x/rerun",
                f"https://127.0.0.1:{platform.url.rsplit(':', 1)[1]}/pipelines/x/rerun"):
        with pytest.raises(ToolError) as raised:
            check_stays_under(rerun, url)
        assert raised.value.code == "invalid_arguments" and "${PLATFORM_URL}/pipelines/{name}/rerun" in raised.value.message
    check_stays_under(rerun, f"{platform.url}/pipelines/orders/rerun")


def test_a_placeholder_may_not_stand_in_the_host(tmp_path, platform):
    text = AGENT.replace('url = "${PLATFORM_URL}/datasets/{name}"', 'url = "http://{name}.platform.test/datasets"')
    with pytest.raises(DefinitionError) as raised:
        load(tmp_path, platform.url, text)
    assert "tools[2].url: 'http://{name}.platform.test/datasets': a {argument} may only stand in the path" in str(raised.value)


def test_an_ordinary_name_with_a_slash_and_a_space_still_reaches_its_path(tmp_path, platform):
    run_tool(load(tmp_path, platform.url), "rerun_pipeline", '{"name": "orders/daily v2"}', approved=True)
    assert platform.requests[0][1] == "/pipelines/orders%2Fdaily%20v2/rerun"


# --- 4. bounded answers -----------------------------------------------------------------------------------------


def test_a_huge_answer_is_read_only_up_to_the_byte_limit_and_says_it_was_cut(tmp_path, platform):
    platform.answers["/pipelines"] = _huge(200)
    tool = load(tmp_path, platform.url).tools[0]
    tracemalloc.start()
    try:
        result = run_http(tool, {}, tool_settings({"TOOL_MAX_RESPONSE_BYTES": str(1024 * 1024)}))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.output.endswith("[answer cut: it was longer than 1,048,576 bytes, the most a tool reads]")
    assert "[output cut: showing the first 8,000 of 1,048,576 characters]" in result.output
    assert peak < 20 * 1024 * 1024  # 200 MB were offered


def test_the_byte_limit_comes_from_tool_max_response_bytes(make_app, tmp_path, platform):
    platform.answers["/pipelines"] = _text_answer("z" * 5000)
    (tmp_path / "agent.toml").write_text(AGENT)
    app = make_app(AGENT_FILE=str(tmp_path / "agent.toml"), PLATFORM_URL=platform.url, PLATFORM_TOKEN=TOKEN,
                   DATASET_KEY=KEY, TOOL_MAX_RESPONSE_BYTES="2048")
    output = app.extensions["agent_tools"].run("list_failed_pipelines", "{}").output
    assert output.startswith("z" * 2048 + "\n[answer cut: it was longer than 2,048 bytes")


@pytest.mark.parametrize("in_headers", [False, True], ids=["body", "headers"])
def test_a_platform_dripping_a_byte_a_second_ends_in_tool_timeout_on_time(tmp_path, platform, in_headers):
    platform.answers["/pipelines"] = _drip(1.0, in_headers=in_headers)
    definition = load(tmp_path, platform.url)
    started = time.monotonic()
    error = refused(definition, "list_failed_pipelines", "{}")
    elapsed = time.monotonic() - started
    assert (error.status, error.code) == (504, "tool_timeout") and "within 2 seconds" in error.message
    assert 1.9 <= elapsed < 3.5  # the tool's timeout_seconds is 2; each read alone would have waited a second


def test_after_a_timeout_the_next_call_gets_a_fresh_connection(tmp_path, platform):
    platform.answers["/pipelines"] = _drip(0.5)
    definition = load(tmp_path, platform.url)
    refused(definition, "list_failed_pipelines", "{}")
    platform.answers["/pipelines"] = _json_answer(["orders_daily"])
    assert run_tool(definition, "list_failed_pipelines", "{}").output == '["orders_daily"]'


# --- 5. redirects -----------------------------------------------------------------------------------------------


def test_a_redirect_to_another_port_is_not_followed_and_sends_no_header_there(tmp_path, platform, other_host):
    platform.answers["/datasets/sales"] = _redirect_to(f"{other_host.url}/collect")
    error = refused(load(tmp_path, platform.url), "get_dataset", '{"name": "sales"}')
    assert error.code == "tool_failed" and "was redirected (HTTP 302)" in error.message
    assert "it does not follow redirects, so nothing was sent there" in error.message
    assert other_host.requests == []


def test_with_follow_redirects_another_origin_is_still_refused(tmp_path, platform, other_host):
    text = AGENT.replace('headers = { X-Api-Key = "${DATASET_KEY}" }',
                         'headers = { X-Api-Key = "${DATASET_KEY}" }\nfollow_redirects = true')
    platform.answers["/datasets/sales"] = _redirect_to(f"{other_host.url}/collect", status=307)
    error = refused(load(tmp_path, platform.url, text), "get_dataset", '{"name": "sales"}')
    assert error.code == "tool_failed" and "another origin" in error.message
    assert other_host.requests == []


def test_with_follow_redirects_a_redirect_within_the_origin_is_followed(tmp_path, platform):
    text = AGENT.replace('headers = { X-Api-Key = "${DATASET_KEY}" }',
                         'headers = { X-Api-Key = "${DATASET_KEY}" }\nfollow_redirects = true')
    platform.answers["/datasets/sales"] = _redirect_to("/datasets/sales-v2", status=301)
    platform.answers["/datasets/sales-v2"] = _json_answer({"rows": 3})
    assert run_tool(load(tmp_path, platform.url, text), "get_dataset", '{"name": "sales"}').output == '{"rows": 3}'
    assert [path for _m, path, _h, _b in platform.requests] == ["/datasets/sales", "/datasets/sales-v2"]


def test_without_follow_redirects_even_a_redirect_within_the_origin_fails_in_words(tmp_path, platform):
    platform.answers["/datasets/sales"] = _redirect_to("/datasets/sales-v2")
    error = refused(load(tmp_path, platform.url), "get_dataset", '{"name": "sales"}')
    assert "follow_redirects = true allows them within the URL's origin" in error.message
    assert len(platform.requests) == 1


def test_proxy_variables_from_the_environment_are_not_used(tmp_path, platform, other_host, monkeypatch):
    for variable in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(variable, other_host.url)
    for variable in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(variable, raising=False)
    run_tool(load(tmp_path, platform.url), "list_failed_pipelines", "{}")
    assert other_host.requests == [] and len(platform.requests) == 1


def test_tool_proxy_url_is_the_one_proxy_tool_calls_use(tmp_path, platform, other_host):
    other_host.answers[f"{platform.url}/pipelines"] = _json_answer(["via the proxy"])
    tools = AgentTools(load(tmp_path, platform.url), connect=False, limits=tool_settings({"TOOL_PROXY_URL": other_host.url}))
    assert tools.run("list_failed_pipelines", "{}").output == '["via the proxy"]'
    assert other_host.requests[0][1] == f"{platform.url}/pipelines?status=failed" and platform.requests == []


# --- 6. redaction everywhere ------------------------------------------------------------------------------------


@pytest.mark.parametrize("echo", [
    TOKEN,
    base64.b64encode(TOKEN.encode()).decode(),
    base64.urlsafe_b64encode(TOKEN.encode()).decode().rstrip("="),
    base64.b64encode(f"admin:{TOKEN}".encode()).decode(),  # inside a Basic credential
    quote(TOKEN, safe=""),
    re.sub(r"%[0-9A-F]{2}", lambda match: match.group().lower(), quote(TOKEN, safe="")),
    json.dumps(TOKEN)[1:-1].replace("/", "\\/"),  # JSON that escapes "/"
    json.dumps({"token": TOKEN})[1:-1].replace('"', '\\"'),  # JSON inside a JSON string
    KEY,  # another tool's secret
    base64.b64encode(KEY.encode()).decode(),
], ids=["plain", "base64", "base64url", "basic", "url-encoded", "url-encoded-lower", "json-slash", "json-in-json",
        "other-tool", "other-tool-base64"])
def test_each_encoded_echo_of_a_secret_is_redacted(tmp_path, platform, echo, caplog):
    caplog.set_level("DEBUG")
    platform.answers["/pipelines"] = _text_answer(f"you sent: {echo}")
    output = run_tool(load(tmp_path, platform.url), "list_failed_pipelines", "{}").output
    assert echo not in output and output.startswith("you sent: ")
    assert "${PLATFORM_TOKEN}" in output or "${DATASET_KEY}" in output
    assert not [record for record in caplog.records if echo in record.getMessage()]


def test_json_escaping_that_the_redaction_forms_cover(tmp_path, platform):
    secret = 'tok"with\\quote'
    path = tmp_path / "agent.toml"
    path.write_text(AGENT)
    definition = load_definition(str(path), {"PLATFORM_URL": platform.url, "PLATFORM_TOKEN": secret,
                                             "DATASET_KEY": KEY})
    platform.answers["/pipelines"] = _json_answer({"echo": secret})
    output = run_tool(definition, "list_failed_pipelines", "{}").output
    assert output == '{"echo": "${PLATFORM_TOKEN}"}'


def test_the_reason_phrase_is_redacted_in_the_error_and_the_log(tmp_path, platform, caplog):
    caplog.set_level("DEBUG")
    platform.answers["/pipelines"] = _text_answer("no", status=401, reason=f"Bad token Bearer {TOKEN}")
    error = refused(load(tmp_path, platform.url), "list_failed_pipelines", "{}")
    assert "answered HTTP 401 Bad token Bearer ${PLATFORM_TOKEN}: no" in error.message
    assert TOKEN not in error.message and platform.url not in error.message
    assert not [record for record in caplog.records if TOKEN in record.getMessage()]


def test_a_redirect_target_holding_a_secret_is_redacted(tmp_path, platform):
    platform.answers["/datasets/sales"] = _redirect_to(f"http://collector.test/?k={quote(TOKEN, safe='')}")
    error = refused(load(tmp_path, platform.url), "get_dataset", '{"name": "sales"}')
    assert TOKEN not in error.message and quote(TOKEN, safe="") not in error.message
    assert "${PLATFORM_TOKEN}" in error.message
