"""/healthz, /readyz and /metrics: what load balancers and Prometheus see, and who may see it."""


import pytest
import requests

from harness.payloads import client_secret_response
from tests.support import TODAY, SignedInAdmin, metric_value

MODELS = "https://api.openai.com/v1/models"
OUTSIDER = {"REMOTE_ADDR": "203.0.113.9"}


def test_healthz_answers_over_plain_http_even_when_https_is_forced(make_app):
    response = make_app(FORCE_HTTPS="1").test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_is_ready_when_configuration_database_and_openai_are(client, openai_mock):
    openai_mock.get(MODELS, json={"object": "list", "data": []})
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "ready"
    assert set(response.get_json()["checks"]) == {"configuration", "database", "openai"}


def test_readyz_is_not_ready_when_openai_is_unreachable(client, openai_mock):
    openai_mock.get(MODELS, body=requests.exceptions.ConnectionError("Connection refused"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["openai"] == {
        "ok": False, "detail": "OpenAI unreachable at https://api.openai.com/v1 (connection refused)"}


def test_readyz_names_a_refused_api_key(client, openai_mock):
    openai_mock.get(MODELS, status=401, json={"error": {"message": "Incorrect API key provided"}})
    check = client.get("/readyz").get_json()["checks"]["openai"]
    assert check["ok"] is False and "OPENAI_API_KEY" in check["detail"]


def test_readyz_is_not_ready_without_an_api_key(make_app, openai_mock):
    openai_mock.get(MODELS, json={"data": []})
    response = make_app(OPENAI_API_KEY=None).test_client().get("/readyz")
    assert response.status_code == 503
    assert "OPENAI_API_KEY is not set" in response.get_json()["checks"]["configuration"]["detail"]


def test_readyz_is_not_ready_when_the_database_is_gone(make_app, openai_mock, tmp_path):
    openai_mock.get(MODELS, json={"data": []})
    app = make_app()
    app.extensions["database"].dispose()
    from sqlalchemy import create_engine

    app.extensions["database"] = create_engine(f"sqlite:///{tmp_path}/missing/dir/x.db")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"]["ok"] is False


def test_readyz_tells_others_only_whether_it_is_ready(make_app, openai_mock):
    openai_mock.get(MODELS, json={"data": []})
    client = make_app(OPENAI_API_KEY=None).test_client()
    response = client.get("/readyz", environ_base=OUTSIDER)
    assert response.status_code == 503
    assert response.get_json() == {"status": "not_ready"}


def test_readyz_gives_details_to_a_caller_with_the_metrics_token(make_app, openai_mock):
    openai_mock.get(MODELS, json={"data": []})
    client = make_app(OPENAI_API_KEY=None, METRICS_TOKEN="scrape-token-123").test_client()
    response = client.get("/readyz", environ_base=OUTSIDER, headers={"Authorization": "Bearer scrape-token-123"})
    assert "OPENAI_API_KEY is not set" in response.get_json()["checks"]["configuration"]["detail"]


def test_readyz_asks_openai_at_most_once_in_a_while(client, openai_mock):
    openai_mock.get(MODELS, json={"data": []})
    for _ in range(5):
        assert client.get("/readyz").status_code == 200
    assert len([call for call in openai_mock.calls if call.request.url == MODELS]) == 1


def test_metrics_are_served_to_loopback_and_hidden_from_other_addresses(client):
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", environ_base=OUTSIDER).status_code == 404


def test_metrics_accept_the_bearer_token_from_anywhere(make_app):
    client = make_app(METRICS_TOKEN="scrape-token-123", METRICS_ALLOW="10.0.0.0/8").test_client()
    assert client.get("/metrics").status_code == 404  # loopback is no longer allowed
    assert client.get("/metrics", environ_base=OUTSIDER, headers={"Authorization": "Bearer wrong"}).status_code == 404
    answer = client.get("/metrics", environ_base=OUTSIDER, headers={"Authorization": "Bearer scrape-token-123"})
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")


def test_metrics_allow_must_be_addresses_or_networks():
    from core.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="METRICS_ALLOW"):
        load_settings({"SECRET_KEY": "s", "METRICS_ALLOW": "localhost"}, today=TODAY)


def test_metrics_count_mints_upstream_latency_and_voice_connections(client, openai_mock):
    openai_mock.post("https://api.openai.com/v1/realtime/client_secrets", json=client_secret_response())
    admin = SignedInAdmin(client)
    admin.login()
    before = client.get("/metrics").get_data(as_text=True)
    assert admin.post("/api/v1/chatkit/realtime-session").status_code == 200
    for event in ({"event": "connected", "connectMs": 420}, {"event": "failed", "reason": "ice"}):
        attempt = "a-connected" if event["event"] == "connected" else "a-failed"
        telemetry = {"attemptId": attempt, "mode": "ephemeral", **event}
        assert admin.post("/api/v1/realtime/telemetry", json=telemetry).status_code == 204
    after = client.get("/metrics").get_data(as_text=True)

    def grew(name, **labels):
        return metric_value(after, name, **labels) - metric_value(before, name, **labels)

    assert grew("voice_console_mints_total", kind="realtime", outcome="ok") == 1
    assert grew("voice_console_upstream_request_seconds_count", endpoint="/realtime/client_secrets", status="200") == 1
    assert grew("voice_console_voice_connects_total", mode="ephemeral", outcome="connected") == 1
    assert grew("voice_console_voice_connects_total", mode="ephemeral", outcome="failed") == 1
    assert grew("voice_console_voice_connect_seconds_bucket", mode="ephemeral", le="0.5") == 1
    assert metric_value(after, "voice_console_active_voice_sessions") == 1

    ended = {"attemptId": "a-connected", "mode": "ephemeral", "event": "ended", "durationMs": 5000}
    assert admin.post("/api/v1/realtime/telemetry", json=ended).status_code == 204
    assert metric_value(client.get("/metrics").get_data(as_text=True), "voice_console_active_voice_sessions") == 0
