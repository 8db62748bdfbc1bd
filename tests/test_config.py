"""Configuration: defaults, and one clear line for every value that must stop start-up."""

import re

import pytest

from app import create_app
from core.clock import FixedClock
from core.config import ConfigError, load_settings
from core.openai_catalog import REALTIME_PRICES, realtime_price_source, realtime_prices
from tests.support import TODAY

GOOD = {"SECRET_KEY": "s"}


def settings_with(**env):
    return load_settings({**GOOD, **env}, today=TODAY)


def refusal(**env):
    with pytest.raises(ConfigError) as raised:
        settings_with(**env)
    return str(raised.value)


def test_defaults_match_the_documented_table():
    settings = settings_with()
    assert settings.openai.api_key is None
    assert settings.openai.base_url == "https://api.openai.com/v1"
    assert settings.openai.timeout_seconds == 10
    assert settings.realtime.model == "gpt-realtime-2.1"
    assert settings.realtime.voice == "alloy"
    assert settings.realtime.output_modalities == ("audio",)
    assert settings.realtime.transcription_model == "gpt-4o-mini-transcribe"
    assert settings.realtime.connect == "ephemeral"
    assert settings.realtime.secret_ttl_seconds == 60
    assert settings.realtime.ice_servers == ()
    assert settings.auth.admin_users_file == "instance/admins.txt"
    assert settings.server.force_https is True
    assert settings.auth.mint_rate_limit == "20 per minute"
    assert settings.auth.ratelimit_storage_uri == "memory://"


def test_https_is_not_forced_in_debug_unless_asked():
    assert load_settings({"FLASK_DEBUG": "1"}, today=TODAY).server.force_https is False
    assert load_settings({"FLASK_DEBUG": "1", "FORCE_HTTPS": "1"}, today=TODAY).server.force_https is True


def test_secret_key_is_required_outside_debug():
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings({}, today=TODAY)
    assert load_settings({"FLASK_DEBUG": "1"}, today=TODAY).auth.secret_key is None


@pytest.mark.parametrize(
    "model, shutdown, replacement",
    [
        ("gpt-4o-realtime-preview-2024-10-01", "2025-10-10", "gpt-realtime-2.1"),
        ("gpt-4o-realtime-preview-2024-12-17", "2026-05-07", "gpt-realtime-2.1"),
        ("gpt-4o-realtime-preview", "2026-05-07", "gpt-realtime-2.1"),
        ("gpt-4o-mini-realtime-preview-2024-12-17", "2026-05-07", "gpt-realtime-2.1-mini"),
    ],
)
def test_a_retired_model_stops_start_up_with_its_shutdown_date_and_replacement(model, shutdown, replacement):
    message = refusal(OPENAI_REALTIME_MODEL=model)
    assert message.startswith(f"OPENAI_REALTIME_MODEL='{model}'")
    assert shutdown in message and replacement in message


def test_a_model_with_a_shutdown_date_warns_but_runs():
    settings = settings_with(OPENAI_REALTIME_MODEL="gpt-realtime")
    assert any("2027-01-20" in warning for warning in settings.warnings)
    assert settings_with(OPENAI_REALTIME_MODEL="gpt-realtime-2.1-mini").warnings == ()


@pytest.mark.parametrize("voice", ["fable", "onyx", "nova"])
def test_a_text_to_speech_voice_stops_start_up_and_lists_the_realtime_voices(voice):
    message = refusal(OPENAI_REALTIME_VOICE=voice)
    assert "text-to-speech" in message
    assert "marin" in message and "cedar" in message and "alloy" in message


def test_an_unknown_voice_is_refused():
    assert "realtime voices" in refusal(OPENAI_REALTIME_VOICE="robot")


@pytest.mark.parametrize(
    "value, expected",
    [("audio", ("audio",)), ("text", ("text",)), ("text,audio", ("audio",)), ("audio, text", ("audio",)), ("TEXT", ("text",))],
)
def test_modalities_map_to_the_single_ga_modality(value, expected):
    assert settings_with(OPENAI_REALTIME_MODALITIES=value).realtime.output_modalities == expected


@pytest.mark.parametrize("value", ["video", "text,video", ",", "audio;text"])
def test_other_modalities_stop_start_up(value):
    assert refusal(OPENAI_REALTIME_MODALITIES=value).startswith("OPENAI_REALTIME_MODALITIES=")


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-5.5", "whisper-1"])
def test_a_model_that_is_not_a_realtime_model_stops_start_up(model):
    message = refusal(OPENAI_REALTIME_MODEL=model)
    assert message.startswith(f"OPENAI_REALTIME_MODEL='{model}' is not allowed: not a Realtime model")
    assert "gpt-realtime-2.1" in message


@pytest.mark.parametrize("model", ["gpt-realtime-2.1-2026-09-01", "gpt-realtime-3"])
def test_a_realtime_model_the_catalog_does_not_know_yet_is_accepted(model):
    assert settings_with(OPENAI_REALTIME_MODEL=model).realtime.model == model


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-realtime-2.1", "whisper-2"])
def test_an_unknown_transcription_model_stops_start_up_and_lists_the_known_ones(model):
    message = refusal(OPENAI_REALTIME_TRANSCRIPTION_MODEL=model)
    assert message.startswith(f"OPENAI_REALTIME_TRANSCRIPTION_MODEL='{model}' is not allowed: not a transcription")
    assert "gpt-4o-mini-transcribe" in message and "whisper-1" in message


@pytest.mark.parametrize("model", ["gpt-4o-transcribe", "gpt-4o-mini-transcribe-2025-12-15", "whisper-1"])
def test_a_known_transcription_model_or_its_snapshot_is_accepted(model):
    assert settings_with(OPENAI_REALTIME_TRANSCRIPTION_MODEL=model).realtime.transcription_model == model


@pytest.mark.parametrize("model, priced_as", [
    ("gpt-realtime-2.1", "gpt-realtime-2.1"), ("gpt-realtime-2.1-2026-09-01", "gpt-realtime-2.1"),
    ("gpt-realtime-2.1-mini", "gpt-realtime-2.1-mini"), ("gpt-realtime-2", "gpt-realtime-2"),
    ("gpt-realtime-1.5", "gpt-realtime-1.5"), ("gpt-realtime", "gpt-realtime"),
    ("gpt-realtime-2025-08-28", "gpt-realtime"), ("gpt-realtime-mini-2025-10-06", "gpt-realtime-mini"),
])
def test_prices_follow_the_configured_model_or_its_snapshot(model, priced_as):
    assert settings_with(OPENAI_REALTIME_MODEL=model).realtime.prices == REALTIME_PRICES[priced_as]["prices"]


def test_the_2_x_models_are_priced_as_their_own_pages_list_them_not_as_gpt_realtime():
    # OpenAI's models pages: gpt-realtime-2 and -2.1 bill text output at $24, gpt-realtime-1.5 (like gpt-realtime)
    # at $16; the 2.1 mini caches text at $0.06 but audio at $0.30, the rate the estimate uses.
    assert realtime_prices("gpt-realtime-2.1")["textOut"] == realtime_prices("gpt-realtime-2")["textOut"] == 24.0
    assert realtime_prices("gpt-realtime-1.5")["textOut"] == realtime_prices("gpt-realtime")["textOut"] == 16.0
    assert realtime_prices("gpt-realtime-2.1-mini") == {"audioIn": 10.0, "cachedIn": 0.30, "audioOut": 20.0,
                                                        "textIn": 0.60, "textOut": 2.40}


def test_every_price_names_the_page_and_the_day_it_was_read():
    for model, entry in REALTIME_PRICES.items():
        assert entry["page"].startswith("https://developers.openai.com/api/docs/"), model
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", entry["read_on"]), model
        assert set(entry["prices"]) == {"audioIn", "cachedIn", "audioOut", "textIn", "textOut"}, model
    assert realtime_price_source("gpt-realtime-2.1-2026-09-01") == {
        "model": "gpt-realtime-2.1", "page": "https://developers.openai.com/api/docs/models/gpt-realtime-2.1",
        "read_on": "2026-12-03"}


@pytest.mark.parametrize("model", ["acme-realtime-1", "gpt-realtime-3", "gpt-realtime-2-mini", "gpt-realtime-2.1-max"])
def test_a_model_the_catalog_does_not_price_has_no_prices_but_overrides_still_apply(model):
    assert settings_with(OPENAI_REALTIME_MODEL=model).realtime.prices == {}
    assert realtime_price_source(model) is None
    prices = settings_with(OPENAI_REALTIME_MODEL="acme-realtime-1", REALTIME_PRICE_TEXT_IN="2").realtime.prices
    assert prices == {"textIn": 2.0}


def test_an_empty_transcription_model_turns_user_transcripts_off():
    assert settings_with(OPENAI_REALTIME_TRANSCRIPTION_MODEL="").realtime.transcription_model is None
    assert settings_with(OPENAI_REALTIME_TRANSCRIPTION_MODEL="whisper-1").realtime.transcription_model == "whisper-1"


@pytest.mark.parametrize(
    "variable, value, words",
    [
        ("OPENAI_REALTIME_CONNECT", "direct", "ephemeral or relay"),
        ("REALTIME_SECRET_TTL_SECONDS", "5", "from 10 to 7200"),
        ("REALTIME_SECRET_TTL_SECONDS", "7201", "from 10 to 7200"),
        ("REALTIME_SECRET_TTL_SECONDS", "soon", "from 10 to 7200"),
        ("OPENAI_TIMEOUT_SECONDS", "-1", "number"),
        ("CHATKIT_AGENT_ID", "asst_123", "wf_"),
        ("OPENAI_BASE_URL", "api.openai.com", "http(s) URL"),
        ("FORCE_HTTPS", "maybe", "1 or 0"),
        ("MINT_RATE_LIMIT", "lots", "Flask-Limiter"),
        ("RATELIMIT_STORAGE_URI", "sqlite:///x", "redis://"),
    ],
)
def test_a_bad_value_names_the_variable_the_value_and_what_is_allowed(variable, value, words):
    message = refusal(**{variable: value})
    assert message.startswith(f"{variable}='{value}' is not allowed")
    assert words in message
    assert "\n" not in message


def test_malformed_ice_servers_json_stops_start_up():
    assert "JSON" in refusal(ICE_SERVERS="[{urls: stun:x}]")
    assert "stun: or turn:" in refusal(ICE_SERVERS='[{"urls": "http://x"}]')


def test_ice_servers_may_list_several_stun_and_turn_servers():
    servers = '[{"urls": ["stun:a.example:3478", "stun:b.example:3478"]}, {"urls": "turn:t.example", "username": "u", "credential": "c"}]'
    assert len(settings_with(ICE_SERVERS=servers).realtime.ice_servers) == 2


def test_the_base_url_loses_its_trailing_slash_and_drives_the_sdp_url():
    settings = settings_with(OPENAI_BASE_URL="http://127.0.0.1:9/v1/")
    assert settings.realtime_calls_url == "http://127.0.0.1:9/v1/realtime/calls"


def test_create_app_stops_with_one_line_naming_the_bad_variable():
    with pytest.raises(SystemExit) as raised:
        create_app({"CLOCK": FixedClock(TODAY), "ENVIRON": {"SECRET_KEY": "s", "OPENAI_REALTIME_VOICE": "nova"}})
    assert str(raised.value).startswith("Configuration error: OPENAI_REALTIME_VOICE='nova'")


def test_turn_detection_defaults_to_semantic_vad_and_noise_reduction_to_near_field():
    realtime = settings_with().realtime
    assert (realtime.turn_detection, realtime.eagerness, realtime.noise_reduction) == ("semantic_vad", "auto",
                                                                                       "near_field")


@pytest.mark.parametrize("env, expected", [
    ({"OPENAI_REALTIME_TURN_DETECTION": "server_vad"}, ("server_vad", "auto", "near_field")),
    ({"OPENAI_REALTIME_VAD_EAGERNESS": "low"}, ("semantic_vad", "low", "near_field")),
    ({"OPENAI_REALTIME_TURN_DETECTION": "Semantic_VAD", "OPENAI_REALTIME_VAD_EAGERNESS": "HIGH"},
     ("semantic_vad", "high", "near_field")),
    ({"OPENAI_REALTIME_NOISE_REDUCTION": "far_field"}, ("semantic_vad", "auto", "far_field")),
    ({"OPENAI_REALTIME_NOISE_REDUCTION": "off"}, ("semantic_vad", "auto", None)),
])
def test_turn_detection_eagerness_and_noise_reduction_can_be_chosen(env, expected):
    realtime = settings_with(**env).realtime
    assert (realtime.turn_detection, realtime.eagerness, realtime.noise_reduction) == expected


@pytest.mark.parametrize("env, variable, words", [
    ({"OPENAI_REALTIME_TURN_DETECTION": "none"}, "OPENAI_REALTIME_TURN_DETECTION", "semantic_vad or server_vad"),
    ({"OPENAI_REALTIME_VAD_EAGERNESS": "eager"}, "OPENAI_REALTIME_VAD_EAGERNESS", "auto, low, medium, high"),
    ({"OPENAI_REALTIME_TURN_DETECTION": "server_vad", "OPENAI_REALTIME_VAD_EAGERNESS": "low"},
     "OPENAI_REALTIME_VAD_EAGERNESS", "only applies to semantic_vad"),
    ({"OPENAI_REALTIME_NOISE_REDUCTION": "studio"}, "OPENAI_REALTIME_NOISE_REDUCTION", "near_field, far_field or off"),
])
def test_a_turn_detection_or_noise_reduction_openai_does_not_offer_stops_start_up(env, variable, words):
    message = refusal(**env)
    assert message.startswith(f"{variable}=") and words in message
