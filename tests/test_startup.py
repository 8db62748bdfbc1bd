"""A bad setting stops gunicorn's master and `flask run` at once with its message, instead of serving or crash-looping."""

import os
import subprocess

import pytest

from harness.load import ROOT, free_port

BAD_VOICE = {"OPENAI_REALTIME_VOICE": "nova", "SECRET_KEY": "test-secret-key", "FORCE_HTTPS": "0"}
VENV_BIN = ROOT / ".venv" / "bin"


def start(command, extra_env):
    env = {**os.environ, **extra_env}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=10)


def test_gunicorn_exits_at_once_with_the_message_of_a_bad_setting():
    port = free_port()
    finished = start([str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
                     {**BAD_VOICE, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1"})
    assert finished.returncode != 0
    assert "Configuration error: OPENAI_REALTIME_VOICE='nova' is not allowed" in finished.stderr
    assert "Booting worker" not in finished.stderr


@pytest.mark.parametrize("debug", [[], ["--debug"]], ids=["plain", "debug"])
def test_flask_run_exits_with_the_message_of_a_bad_setting(debug):
    finished = start([str(VENV_BIN / "flask"), "--app", "wsgi", *debug, "run", "--port", str(free_port())], BAD_VOICE)
    assert finished.returncode != 0
    assert "Configuration error: OPENAI_REALTIME_VOICE='nova' is not allowed" in finished.stderr


def test_gunicorn_exits_at_once_with_the_message_of_a_bad_agent_file(tmp_path):
    # The agent layer reads AGENT_FILE (core imports nothing above it); the master's check must still catch it.
    missing = tmp_path / "nope.toml"
    finished = start([str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
                     {"SECRET_KEY": "test-secret-key", "FORCE_HTTPS": "0", "AGENT_FILE": str(missing),
                      "GUNICORN_BIND": f"127.0.0.1:{free_port()}", "GUNICORN_WORKERS": "1"})
    assert finished.returncode != 0
    assert f"Configuration error: AGENT_FILE='{missing}' is not allowed: {missing}: cannot be read" in finished.stderr
    assert "Booting worker" not in finished.stderr
