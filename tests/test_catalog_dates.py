"""Every dated change in the catalog happens on its day, by the app's clock: the day before, the day and the day
after each shutdown, for start-up, the pages and the sandbox."""

import asyncio

import pytest

from core.clock import FixedClock
from core.config import ConfigError, load_settings
from core.openai_catalog import (
    DEPRECATED_CHAT_MODELS,
    DEPRECATED_REALTIME_MODELS,
    RETIRED_REALTIME_MODELS,
    catalog_dates,
    chat_model_problem,
    served_realtime_model,
)
from sandbox.session import model_refusal
from tests.support import around, day_after, day_before

ENV = {"SECRET_KEY": "s"}


def test_the_catalog_lists_every_shutdown_day_once_in_order():
    days = catalog_dates()
    assert days == sorted(set(days))
    assert {"2026-11-30", "2026-12-11", "2027-01-14", "2027-01-20", "2027-04-01"} <= set(days)


def test_a_fixed_clock_stands_on_its_day_whatever_the_machine_says():
    clock = FixedClock("2027-01-20")
    assert clock.today() == "2027-01-20" and clock.now().tzinfo is not None


@pytest.mark.parametrize("model, shutdown, replacement", DEPRECATED_REALTIME_MODELS)
@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_a_deprecated_realtime_model_warns_until_its_day_then_stops_start_up(model, shutdown, replacement, offset):
    today = around(shutdown)[offset + 1]
    if today < shutdown:
        settings = load_settings({**ENV, "OPENAI_REALTIME_MODEL": model}, today=today)
        assert settings.warnings == (f"OPENAI_REALTIME_MODEL={model} shuts down on {shutdown}; move to {replacement}",)
        return
    with pytest.raises(ConfigError) as refused:
        load_settings({**ENV, "OPENAI_REALTIME_MODEL": model}, today=today)
    assert f"was shut down on {shutdown}; use {replacement}" in str(refused.value)


@pytest.mark.parametrize("model, shutdown, replacement", RETIRED_REALTIME_MODELS)
def test_a_retired_realtime_model_stops_start_up_on_any_day_after_its_shutdown(model, shutdown, replacement):
    for today in (shutdown, day_after(shutdown), "2030-01-01"):
        with pytest.raises(ConfigError, match=f"was shut down on {shutdown}; use {replacement}"):
            load_settings({**ENV, "OPENAI_REALTIME_MODEL": model}, today=today)


@pytest.mark.parametrize("model, shutdown, replacement", DEPRECATED_CHAT_MODELS)
@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_a_deprecated_chat_model_is_refused_in_the_words_of_the_day(model, shutdown, replacement, offset):
    today = around(shutdown)[offset + 1]
    expected = f"shuts down on {shutdown}" if today < shutdown else f"was shut down on {shutdown}"
    assert chat_model_problem(model, today) == f"this model {expected} (OpenAI's deprecations page); use {replacement}"
    with pytest.raises(ConfigError, match=expected):
        load_settings({**ENV, "CHATKIT_MODEL": model}, today=today)


@pytest.mark.parametrize("model, shutdown, _replacement", DEPRECATED_REALTIME_MODELS)
def test_the_sandbox_serves_a_deprecated_model_until_its_day_as_openai_does(model, shutdown, _replacement):
    assert served_realtime_model(model, day_before(shutdown))
    assert model_refusal(model, day_before(shutdown)) is None
    for today in (shutdown, day_after(shutdown)):
        assert not served_realtime_model(model, today)
        assert model_refusal(model, today)[0] == "model_not_found"


@pytest.mark.parametrize("model, shutdown, replacement", DEPRECATED_REALTIME_MODELS)
@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_the_status_panel_shows_a_models_shutdown_warning_only_before_its_day(make_app, model, shutdown, replacement,
                                                                                offset):
    today = around(shutdown)[offset + 1]
    if today >= shutdown:
        with pytest.raises(SystemExit, match=f"was shut down on {shutdown}"):
            make_app(OPENAI_REALTIME_MODEL=model, today=today)
        return
    from tests.support import SignedInAdmin

    admin = SignedInAdmin(make_app(OPENAI_REALTIME_MODEL=model, today=today).test_client())
    admin.login()
    html = admin.client.get("/admin/voice/status").get_data(as_text=True)
    assert f"OPENAI_REALTIME_MODEL={model} shuts down on {shutdown}; move to {replacement}." in html


def test_the_sandbox_stands_on_the_day_its_knob_sets():
    from aiohttp.test_utils import TestClient, TestServer

    from sandbox.server import create_sandbox_app

    async def scenario():
        async with TestClient(TestServer(create_sandbox_app())) as client:
            body = {"session": {"type": "realtime", "model": "gpt-realtime"}}
            headers = {"Authorization": "Bearer sk-sandbox"}
            await client.post("/_sandbox/control", json={"today": "2027-01-19"})
            before = await client.post("/v1/realtime/client_secrets", json=body, headers=headers)
            await client.post("/_sandbox/control", json={"today": "2027-01-20"})
            after = await client.post("/v1/realtime/client_secrets", json=body, headers=headers)
            refused = await client.post("/_sandbox/control", json={"today": "someday"})
            return before.status, after.status, (await after.json())["error"]["code"], refused.status

    assert asyncio.run(scenario()) == (200, 404, "model_not_found", 400)
