"""The voice page's settings: validated from the environment and handed to admin-voice.js as data- attributes."""

import html
import json
import re

import pytest

from core.config import ConfigError, load_settings
from tests.support import TODAY, SignedInAdmin


def data_attributes(page_html):
    tag = re.search(r'<div id="voice-console"[^>]*>', page_html, re.DOTALL).group(0)
    return {name: html.unescape(value) for name, value in re.findall(r'data-([a-z-]+)="([^"]*)"', tag)}


def test_the_page_hands_its_settings_to_the_module_in_data_attributes(make_app):
    from tests.support import SignedInAdmin

    app = make_app(
        OPENAI_REALTIME_CONNECT="relay",
        VOICE_MAX_SESSION_MINUTES="12",
        REALTIME_PRICE_TEXT_IN="5.5",
        ICE_SERVERS='[{"urls": "stun:stun.example.org:3478"}]',
    )
    admin = SignedInAdmin(app.test_client())
    admin.login()
    page = admin.client.get("/admin/voice").get_data(as_text=True)
    data = data_attributes(page)
    assert data["mode"] == "relay"
    assert data["secret-url"] == "/api/v1/chatkit/realtime-session"
    assert data["calls-url"] == "/api/v1/realtime/calls"
    assert data["max-session-minutes"] == "12"
    assert json.loads(data["ice-servers"]) == [{"urls": "stun:stun.example.org:3478"}]
    assert json.loads(data["prices"]) == {"audioIn": 32.0, "cachedIn": 0.4, "audioOut": 64.0, "textIn": 5.5,
                                          "textOut": 24.0}
    assert '<script type="module" src="/static/js/admin-voice.js">' in page
    assert "{# status panel #}" not in page and "<script>" not in page  # no inline script under the CSP


def test_the_page_prices_the_configured_models_family(make_app):
    admin = SignedInAdmin(make_app(OPENAI_REALTIME_MODEL="gpt-realtime-2.1-mini").test_client())
    admin.login()
    data = data_attributes(admin.client.get("/admin/voice").get_data(as_text=True))
    assert json.loads(data["prices"]) == {"audioIn": 10.0, "cachedIn": 0.3, "audioOut": 20.0, "textIn": 0.6,
                                          "textOut": 2.4}


@pytest.mark.parametrize("model", ["acme-realtime-1", "gpt-realtime-3"])
def test_a_model_without_known_prices_gets_no_prices_and_says_not_priced(make_app, model):
    admin = SignedInAdmin(make_app(OPENAI_REALTIME_MODEL=model).test_client())
    admin.login()
    page = admin.client.get("/admin/voice").get_data(as_text=True)
    assert json.loads(data_attributes(page)["prices"]) == {}
    assert '<output id="usage-cost">not priced</output>' in page
    assert f"No list prices are known for {model}" in page


def test_the_page_names_where_its_prices_come_from(make_app):
    admin = SignedInAdmin(make_app(OPENAI_REALTIME_MODEL="gpt-realtime-2.1-mini").test_client())
    admin.login()
    page = admin.client.get("/admin/voice").get_data(as_text=True)
    assert ('list prices of\n          gpt-realtime-2.1-mini from <a id="usage-price-source" '
            'href="https://developers.openai.com/api/docs/models/gpt-realtime-2.1-mini">') in page
    assert "read 2026-12-03" in page


def test_the_page_says_why_there_is_no_temperature(admin):
    page = admin.client.get("/admin/voice").get_data(as_text=True)
    assert "There is no temperature setting" in page
    assert 'name="temperature"' not in page


@pytest.mark.parametrize(
    ("variable", "value"),
    [("VOICE_MAX_SESSION_MINUTES", "61"), ("VOICE_MAX_SESSION_MINUTES", "0"), ("VOICE_CONNECT_TIMEOUT_SECONDS", "x"),
     ("REALTIME_PRICE_AUDIO_OUT", "-1"), ("REALTIME_PRICE_CACHED_IN", "cheap")],
)
def test_voice_page_settings_out_of_range_stop_start_up(variable, value):
    with pytest.raises(ConfigError) as error:
        load_settings({"FLASK_DEBUG": "1", variable: value}, today=TODAY)
    assert error.value.variable == variable


def test_voice_page_settings_default_to_gpt_realtime_2_1_prices_and_a_30_minute_cap():
    settings = load_settings({"FLASK_DEBUG": "1"}, today=TODAY)
    assert settings.realtime.max_session_minutes == 30
    assert settings.realtime.prices == {"audioIn": 32.0, "cachedIn": 0.4, "audioOut": 64.0, "textIn": 4.0,
                                        "textOut": 24.0}
