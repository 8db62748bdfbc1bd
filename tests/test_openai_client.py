"""The upstream client: retries, timeouts, typed errors, request ids in the log, and no secrets anywhere."""

import logging

import pytest
import requests
import responses

from core.config import load_settings
from core.openai_http import OpenAIClient, UpstreamError, mask_secret
from harness.payloads import MINTED_SECRET, client_secret_response, openai_error
from realtime.session_config import realtime_session_config
from tests.support import TODAY

KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"
MINT_URL = "https://api.openai.com/v1/realtime/client_secrets"


@pytest.fixture
def client(monkeypatch):
    sleeps = []
    monkeypatch.setattr("core.openai_http.time.sleep", sleeps.append)
    openai = OpenAIClient(load_settings({"SECRET_KEY": "s", "OPENAI_API_KEY": KEY}, today=TODAY))
    openai.sleeps = sleeps
    return openai


def mint(client):
    return client.mint_realtime_secret(realtime_session_config(client.settings))


@responses.activate
def test_a_5xx_is_retried_and_then_succeeds(client):
    responses.post(MINT_URL, status=503, json=openai_error("busy"))
    responses.post(MINT_URL, status=502, body="bad gateway")
    responses.post(MINT_URL, json=client_secret_response())
    assert mint(client).value == MINTED_SECRET
    assert len(responses.calls) == 3
    assert client.sleeps == [0.2, 0.5]


@responses.activate
def test_retries_are_bounded(client):
    responses.post(MINT_URL, status=500, json=openai_error("down"))
    with pytest.raises(UpstreamError) as raised:
        mint(client)
    assert len(responses.calls) == 3
    assert raised.value.status == 502 and raised.value.upstream_status == 500


@responses.activate
def test_a_429_waits_for_a_short_retry_after(client):
    responses.post(MINT_URL, status=429, json=openai_error("slow down"), headers={"Retry-After": "1"})
    responses.post(MINT_URL, json=client_secret_response())
    assert mint(client).value == MINTED_SECRET
    assert client.sleeps == [1.0]


@responses.activate
def test_a_long_retry_after_is_passed_on_instead_of_waited_out(client):
    responses.post(MINT_URL, status=429, json=openai_error("slow down"), headers={"Retry-After": "120"})
    with pytest.raises(UpstreamError) as raised:
        mint(client)
    assert raised.value.status == 429 and raised.value.retry_after >= 120
    assert client.sleeps == [] and len(responses.calls) == 1


@responses.activate
def test_a_4xx_is_not_retried(client):
    responses.post(MINT_URL, status=400, json=openai_error("Unknown parameter: 'session.workflow'."))
    with pytest.raises(UpstreamError):
        mint(client)
    assert len(responses.calls) == 1


@responses.activate
def test_connection_errors_are_retried_then_explained(client):
    responses.post(MINT_URL, body=requests.exceptions.ConnectionError("Connection refused"))
    with pytest.raises(UpstreamError) as raised:
        mint(client)
    assert len(responses.calls) == 3
    assert raised.value.code == "upstream_unreachable"
    assert "connection refused" in raised.value.message


@responses.activate
def test_a_read_timeout_is_not_retried_and_answers_504(client):
    responses.post(MINT_URL, body=requests.exceptions.ReadTimeout())
    with pytest.raises(UpstreamError) as raised:
        mint(client)
    assert raised.value.status == 504 and "10 s" in raised.value.message
    assert len(responses.calls) == 1


@responses.activate
def test_an_oversized_answer_is_refused(client):
    responses.post(MINT_URL, body="x" * (1024 * 1024 + 1))
    with pytest.raises(UpstreamError) as raised:
        mint(client)
    assert raised.value.code == "invalid_upstream_response"


@responses.activate
def test_every_call_logs_the_upstream_request_id_and_never_the_key_or_secret(client, caplog):
    caplog.set_level(logging.DEBUG)
    responses.post(MINT_URL, json=client_secret_response(), headers={"x-request-id": "req_abc123"})
    mint(client)
    assert "req_abc123" in caplog.text
    assert KEY not in caplog.text and MINTED_SECRET not in caplog.text


def test_timeouts_come_from_the_configuration():
    openai = OpenAIClient(load_settings({"SECRET_KEY": "s", "OPENAI_TIMEOUT_SECONDS": "2.5"}, today=TODAY))
    assert openai.timeout[1] == 2.5 and openai.timeout[0] <= 5


@pytest.mark.parametrize(
    "value, masked",
    [
        ("ek_68af296e8e408191a1120ab6383263c2", "ek_…63c2"),
        ("sk-proj-abcdefghijklmnopqrstuvwxyz0123456789", "sk-…6789"),
        ("ek_short", "ek_…"),
        ("", ""),
        (None, ""),
    ],
)
def test_secrets_are_masked_to_their_prefix_and_last_four_characters(value, masked):
    assert mask_secret(value) == masked


@responses.activate
def test_a_mint_without_a_secret_points_at_realtime_access_and_the_configured_model(client):
    responses.post(MINT_URL, json={"expires_at": 1, "session": {}})
    with pytest.raises(UpstreamError) as raised:
        mint(client)
    assert raised.value.code == "no_client_secret"
    assert "Realtime API" in raised.value.message and "OPENAI_REALTIME_MODEL (gpt-realtime-2.1)" in raised.value.message


@pytest.mark.parametrize("status", [403, 404])
@responses.activate
def test_a_refused_model_points_at_realtime_access_and_the_configured_model(client, status):
    responses.post(MINT_URL, status=status, json=openai_error(
        "The model `gpt-realtime-2.1` does not exist or you do not have access to it.", "model_not_found"))
    with pytest.raises(UpstreamError) as raised:
        mint(client)
    assert "does not exist or you do not have access to it. Check that the API key's project has access to the " \
           "Realtime API and to OPENAI_REALTIME_MODEL (gpt-realtime-2.1)" in raised.value.message
