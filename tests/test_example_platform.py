"""The example platform API (examples/platform_api.py) that `make run`'s agent file talks to."""

import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
import requests

from examples import platform_api

TOKEN = "platform-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def platform():
    with platform_api.running(TOKEN) as url:
        yield url


def test_requests_without_the_bearer_token_are_refused(platform):
    assert requests.get(f"{platform}/datasets", timeout=5).status_code == 401


def test_failed_pipelines_are_the_ones_that_failed_last_night(platform):
    since = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat()
    found = requests.get(f"{platform}/pipelines", params={"status": "failed", "since": since}, headers=AUTH, timeout=5).json()
    assert sorted(pipeline["name"] for pipeline in found) == ["events_rollup", "orders_daily"]


def test_datasets_are_listed(platform):
    assert [d["name"] for d in requests.get(f"{platform}/datasets", headers=AUTH, timeout=5).json()] == [
        "sales.orders", "crm.customers", "analytics.events_hourly"]


def test_a_run_is_answered_with_its_error(platform):
    run = requests.get(f"{platform}/runs/r-1003", headers=AUTH, timeout=5).json()
    assert (run["status"], run["error"]) == ("failed", "out of memory in stage aggregate_hourly")


def test_a_rerun_starts_a_new_run_of_the_pipeline(platform):
    response = requests.post(f"{platform}/pipelines/orders_daily/rerun", json={"reason": "fixed"}, headers=AUTH, timeout=5)
    assert response.status_code == 202
    run = requests.get(f"{platform}/runs/{response.json()['id']}", headers=AUTH, timeout=5).json()
    assert (run["pipeline"], run["status"], run["reason"]) == ("orders_daily", "running", "fixed")


def test_the_module_runs_on_a_free_port_and_says_where():
    process = subprocess.Popen([sys.executable, "-m", "examples.platform_api", "--port", "0", "--token", TOKEN],
                               stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("platform listening on http://127.0.0.1:")
        assert requests.get(f"{line.split(' on ', 1)[1].strip()}/datasets", headers=AUTH, timeout=5).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_make_run_starts_both_examples_and_the_example_agent_answers_through_them():
    from agent.definition import load_agent_file
    from agent.mcp_tools import AgentTools
    from scripts.run_dev import start_examples

    env = {"SECRET_KEY": "k"}
    processes = start_examples(env)
    try:
        tools = AgentTools(load_agent_file(env))
        assert [tool["name"] for tool in tools.function_tools()] == [
            "list_failed_pipelines", "get_run", "rerun_pipeline", "list_tables", "row_count"]
        assert "orders_daily" in tools.run("list_failed_pipelines", "{}").output
        assert tools.run("row_count", '{"table": "runs"}').output == "runs: 9,876 rows"
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
