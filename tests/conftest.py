"""Shared fixtures: an app built from a given environment, a signed-in admin, and OpenAI mocked with responses."""

import logging

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from core.admins import add_admin
from core.clock import FixedClock
from tests.support import ADMIN, API_KEY, PASSWORD, TODAY, SignedInAdmin


class ClosingClient(FlaskClient):
    """A test client that reads and closes every response, as a real server does once it has sent it: work the
    app defers until then (the activity record) has happened when the call returns. Pass buffered=False to
    read a stream piece by piece."""

    def open(self, *args, buffered=True, **kwargs):
        return super().open(*args, buffered=buffered, **kwargs)


Flask.test_client_class = ClosingClient

@pytest.fixture
def admins_file(tmp_path):
    path = tmp_path / "admins.txt"
    add_admin(str(path), ADMIN, PASSWORD)
    return str(path)


@pytest.fixture
def base_env(admins_file, tmp_path):
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'console.db'}",
        "SECRET_KEY": "test-secret-key",
        "FORCE_HTTPS": "0",
        "OPENAI_API_KEY": API_KEY,
        "CHATKIT_AGENT_ID": "wf_test123",
        "ADMIN_USERS_FILE": admins_file,
    }


@pytest.fixture
def make_app(base_env):
    """make_app(VAR=value, ..., today="YYYY-MM-DD") builds an app from the base environment plus overrides (None
    removes one), standing on `today` (TODAY by default)."""

    def build(today=TODAY, **overrides):
        env = {**base_env, **overrides}
        env = {name: value for name, value in env.items() if value is not None}
        return create_app({"ENVIRON": env, "TESTING": True, "CLOCK": FixedClock(today)})

    return build


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def admin(client):
    signed_in = SignedInAdmin(client)
    signed_in.login()
    return signed_in


@pytest.fixture
def openai_mock():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def captured_logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def pytest_collection_modifyitems(items):
    # Browser tests run last: Playwright's sync API keeps an event loop running in the main thread until its
    # session-scoped fixture ends, and asyncio.run() in any test after it would refuse to start.
    items.sort(key=lambda item: "e2e" in item.path.parts)
