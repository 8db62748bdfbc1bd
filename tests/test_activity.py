"""The activity record: every mint is recorded with its outcome, the voice page's telemetry, figures and pruning."""

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select

import activity
from activity import retention, writer
from core.database import database
from harness.payloads import (
    ANSWER_SDP,
    OFFER_SDP,
    chatkit_session_response,
    client_secret_response,
    openai_error,
)
from tests.support import BASE_URL, SignedInAdmin

MINT_URL = f"{BASE_URL}/realtime/client_secrets"
CALLS_URL = f"{BASE_URL}/realtime/calls"
CHATKIT_URL = f"{BASE_URL}/chatkit/sessions"
TELEMETRY = "/api/v1/realtime/telemetry"


def all_mints(app):
    activity.flush_mints()  # mints are written by a background thread
    with app.app_context(), database().connect() as connection:
        return connection.execute(select(activity.mints).order_by(activity.mints.c.id)).mappings().all()


def all_voice_sessions(app):
    with app.app_context(), database().connect() as connection:
        return connection.execute(select(activity.voice_sessions).order_by(activity.voice_sessions.c.id)).mappings().all()


def telemetry(**fields):
    event = {"attemptId": "att-1", "event": "connected", "mode": "ephemeral", "reason": None, "connectMs": 140,
             "durationMs": None, "usage": None, "estimatedCostUsd": None}
    event.update(fields)
    return event


# --- mints ---------------------------------------------------------------------------------------------


def test_a_realtime_mint_is_recorded_with_latency_and_request_id(app, admin, openai_mock):
    openai_mock.post(MINT_URL, json=client_secret_response(), headers={"x-request-id": "req_mint_ok"})
    assert admin.post("/api/v1/chatkit/realtime-session").status_code == 200
    [row] = all_mints(app)
    assert (row["kind"], row["admin"], row["outcome"], row["request_id"]) == ("realtime", "alice", "ok", "req_mint_ok")
    assert row["latency_ms"] >= 0 and row["error_code"] is None


def test_a_prepared_mint_is_recorded_as_prepare_and_starts_no_voice_session(app, admin, openai_mock):
    openai_mock.post(MINT_URL, json=client_secret_response())
    assert admin.post("/api/v1/chatkit/realtime-session", json={"prepare": True}).status_code == 200
    [row] = all_mints(app)
    assert (row["kind"], row["outcome"]) == ("prepare", "ok")
    # Unused, it is neither a started nor a failed voice session; only the page's telemetry makes those.
    assert all_voice_sessions(app) == []
    with app.app_context():
        figures = activity.summary()["day"]
        assert (figures.attempts, figures.connected) == (0, 0)
        assert activity.last_mint("alice") is None  # the status panel's "last mint" is the admin's own


def test_a_failed_prepared_mint_is_not_counted_as_a_failed_realtime_mint(app, admin, openai_mock):
    from core.metrics import MINTS

    def count(kind, outcome):
        return MINTS.labels(kind=kind, outcome=outcome)._value.get()

    before = {(kind, outcome): count(kind, outcome) for kind in ("realtime", "prepare") for outcome in ("ok", "error")}
    openai_mock.post(MINT_URL, status=400, json=openai_error("Invalid value."))
    assert admin.post("/api/v1/chatkit/realtime-session", json={"prepare": True}).status_code == 502
    [row] = all_mints(app)
    assert (row["kind"], row["outcome"]) == ("prepare", "error")
    assert count("prepare", "error") == before[("prepare", "error")] + 1
    assert count("realtime", "error") == before[("realtime", "error")]
    assert all_voice_sessions(app) == []


def test_a_refused_mint_is_recorded_with_the_error_code_and_request_id(app, admin, openai_mock):
    openai_mock.post(MINT_URL, status=400, json=openai_error("Unknown parameter: 'session.workflow'."),
                     headers={"x-request-id": "req_refused"})
    assert admin.post("/api/v1/chatkit/realtime-session").status_code == 502
    [row] = all_mints(app)
    assert (row["outcome"], row["error_code"], row["request_id"]) == ("error", "upstream_error", "req_refused")


def test_a_relayed_call_is_recorded_as_relay(app, admin, openai_mock):
    openai_mock.post(CALLS_URL, body=ANSWER_SDP, status=201, content_type="application/sdp",
                     headers={"Location": "/v1/realtime/calls/rtc_1", "x-request-id": "req_relay"})
    assert admin.post("/api/v1/realtime/calls", data=OFFER_SDP, content_type="application/sdp").status_code == 201
    [row] = all_mints(app)
    assert (row["kind"], row["outcome"], row["request_id"]) == ("relay", "ok", "req_relay")


def test_chatkit_sessions_are_recorded_ok_and_failed(app, admin, openai_mock):
    openai_mock.post(CHATKIT_URL, json=chatkit_session_response(), headers={"x-request-id": "req_ck"})
    assert admin.post("/api/v1/chatkit/session", json={}).status_code == 200
    openai_mock.replace("POST", CHATKIT_URL, status=404, json=openai_error("Workflow not found"))
    assert admin.post("/api/v1/chatkit/session", json={}).status_code == 502
    assert [(row["kind"], row["outcome"], row["error_code"]) for row in all_mints(app)] == [
        ("chatkit", "ok", None), ("chatkit", "error", "upstream_error")]


def test_a_mint_without_an_api_key_is_recorded_as_not_configured(make_app):
    app = make_app(OPENAI_API_KEY=None)
    admin = SignedInAdmin(app.test_client())
    admin.login()
    assert admin.post("/api/v1/chatkit/realtime-session").status_code == 503
    assert [(row["outcome"], row["error_code"]) for row in all_mints(app)] == [("error", "not_configured")]


def test_a_broken_activity_record_does_not_fail_the_mint(app, admin, openai_mock, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer, "_insert_mints", broken)
    openai_mock.post(MINT_URL, json=client_secret_response())
    assert admin.post("/api/v1/chatkit/realtime-session").status_code == 200
    activity.flush_mints()
    assert "could not record 1 mint(s) in the activity record" in caplog.text and "disk full" in caplog.text


def test_mints_that_queue_up_while_one_is_written_go_in_one_transaction_and_none_is_lost(app, monkeypatch):
    batches, gate = [], threading.Event()
    write = writer._insert_mints

    def slow_write(rows):
        gate.wait(5)  # the writer is busy with the first mint while the others arrive
        batches.append(len(rows))
        write(rows)

    monkeypatch.setattr(writer, "_insert_mints", slow_write)
    with app.test_request_context():
        for index in range(100):
            writer._record_later("test", "alice", "ok", index)
    gate.set()
    assert len(all_mints(app)) == 100
    assert sum(batches) == 100 and len(batches) <= 2


def test_record_mint_refuses_an_unknown_kind(app):
    with app.app_context(), pytest.raises(ValueError):
        activity.record_mint("fax", "alice", "ok", 1.0)


# --- telemetry -------------------------------------------------------------------------------------------


def test_telemetry_is_one_row_per_attempt_updated_by_later_events(app, admin):
    assert admin.post(TELEMETRY, json=telemetry(event="connected", connectMs=140)).status_code == 204
    usage = {"inputTextTokens": 10, "inputAudioTokens": 900, "cachedTokens": 64, "outputTextTokens": 20,
             "outputAudioTokens": 1500}
    ended = telemetry(event="ended", connectMs=None, durationMs=61_000, reason="hang-up", usage=usage,
                      estimatedCostUsd=0.1234)
    assert admin.post(TELEMETRY, json=ended).status_code == 204
    [row] = all_voice_sessions(app)
    assert row["connected"] is True and row["connect_ms"] == 140, "a later event keeps the time to connect"
    assert (row["last_event"], row["reason"], row["duration_ms"]) == ("ended", "hang-up", 61_000)
    assert (row["input_audio_tokens"], row["cached_tokens"], row["output_audio_tokens"]) == (900, 64, 1500)
    assert row["estimated_cost_usd"] == pytest.approx(0.1234)


def test_a_failed_attempt_is_recorded_as_not_connected(app, admin):
    assert admin.post(TELEMETRY, json=telemetry(event="failed", connectMs=None, reason="ice_failed")).status_code == 204
    [row] = all_voice_sessions(app)
    assert row["connected"] is False and row["reason"] == "ice_failed"


def test_another_admin_cannot_overwrite_an_attempt(app, admin, admins_file):
    from core.admins import add_admin

    add_admin(admins_file, "bob", "bob's long password")
    assert admin.post(TELEMETRY, json=telemetry(attemptId="same")).status_code == 204
    bob = SignedInAdmin(app.test_client())
    bob.login("bob", "bob's long password")
    assert bob.post(TELEMETRY, json=telemetry(attemptId="same", event="failed", reason="x")).status_code == 204
    rows = all_voice_sessions(app)
    assert sorted((row["admin"], row["connected"]) for row in rows) == [("alice", True), ("bob", False)]


@pytest.mark.parametrize(
    "body, words",
    [
        ([1, 2], "JSON object"),
        (telemetry(attemptId=""), "attemptId"),
        (telemetry(attemptId=7), "attemptId"),
        (telemetry(event="exploded"), "event must be one of connected, failed, ended"),
        (telemetry(mode="carrier-pigeon"), "mode must be one of ephemeral, relay"),
        (telemetry(connectMs=-1), "connectMs"),
        (telemetry(connectMs="fast"), "connectMs"),
        (telemetry(durationMs=True), "durationMs"),
        (telemetry(reason=12), "reason"),
        (telemetry(usage={"inputTextTokens": -3}), "usage.inputTextTokens"),
        (telemetry(usage={"bogus": 1}), "usage must be null or an object"),
        (telemetry(estimatedCostUsd="cheap"), "estimatedCostUsd"),
        ({**telemetry(), "secret": "ek_x"}, "Unknown field 'secret'"),
    ],
)
def test_bad_telemetry_answers_400_with_the_reason(admin, body, words):
    response = admin.post(TELEMETRY, json=body)
    assert response.status_code == 400
    assert response.get_json()["code"] == "bad_request"
    assert words in response.get_json()["message"]


def test_telemetry_that_is_not_json_answers_400(admin):
    response = admin.post(TELEMETRY, data="connected", content_type="text/plain")
    assert response.status_code == 400 and "must be JSON" in response.get_json()["message"]


def test_telemetry_needs_sign_in_and_csrf(client, admin):
    assert admin.client.post(TELEMETRY, json=telemetry()).get_json()["code"] == "csrf_failed"
    admin.client.post("/logout", data={"csrf_token": admin.csrf_token})
    assert admin.post(TELEMETRY, json=telemetry()).status_code == 401


def test_a_page_flooding_telemetry_is_stopped_with_429(admin):
    answers = [admin.post(TELEMETRY, json=telemetry(attemptId=f"flood-{n}")).status_code for n in range(121)]
    assert answers[:120] == [204] * 120
    assert answers[120] == 429


# --- figures, chart, pruning -----------------------------------------------------------------------------


def add_session(app, started_at, connected, connect_ms=None, admin="alice", attempt=None):
    with app.app_context(), database().begin() as connection:
        connection.execute(insert(activity.voice_sessions).values(
            attempt_id=attempt or f"a{started_at.timestamp()}{connected}{connect_ms}", admin=admin,
            started_at=started_at, updated_at=started_at, mode="ephemeral",
            last_event="connected" if connected else "failed", connected=connected, connect_ms=connect_ms,
        ))


def test_success_rate_and_median_connect_time_over_24_hours_and_7_days(app):
    now = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
    for hours_ago, connected, connect_ms in [(1, True, 100), (2, True, 300), (3, False, None), (30, True, 900),
                                             (50, False, None), (24 * 8, True, 50)]:
        add_session(app, now - timedelta(hours=hours_ago), connected, connect_ms)
    with app.app_context():
        figures = activity.summary(now)
    day, week = figures["day"], figures["week"]
    assert (day.attempts, day.connected, day.median_connect_ms) == (3, 2, 200)
    assert day.success_rate == pytest.approx(2 / 3)
    assert (week.attempts, week.connected, week.median_connect_ms) == (5, 3, 300), "older than 7 days is left out"


def test_the_chart_has_one_bar_per_day_sized_by_success_rate(app):
    now = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
    add_session(app, now - timedelta(hours=1), True, 100)
    add_session(app, now - timedelta(hours=2), False)
    with app.app_context():
        chart = activity.daily_chart(now=now)
    assert [bar.day for bar in chart["bars"]][-2:] == ["2026-11-24", "2026-11-25"]
    today = chart["bars"][-1]
    assert (today.attempts, today.connected, today.height) == (2, 1, chart["height"] / 2)
    assert chart["bars"][0].attempts == 0 and chart["bars"][0].height == 0


def test_records_older_than_the_retention_are_pruned(app):
    now = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
    add_session(app, now - timedelta(days=31), True, 100, attempt="old")
    add_session(app, now - timedelta(days=29), True, 100, attempt="recent")
    with app.app_context():
        activity.record_mint("test", "alice", "ok", 5)
        assert activity.prune(30, now) == 1
    assert [row["attempt_id"] for row in all_voice_sessions(app)] == ["recent"]


def test_pruning_runs_on_a_write_at_most_once_an_hour(make_app, monkeypatch):
    app = make_app(ACTIVITY_RETENTION_DAYS="7")
    calls = []
    monkeypatch.setattr(retention, "prune", lambda days, now=None: calls.append(days))
    monkeypatch.setitem(retention._last_prune, "at", -retention.PRUNE_INTERVAL_SECONDS)
    with app.app_context():
        for _ in range(3):
            activity.record_mint("test", "alice", "ok", 5)
    assert calls == [7]


def test_retention_is_configurable_and_validated(make_app):
    assert make_app().config["SETTINGS"].server.activity_retention_days == 30
    assert make_app(ACTIVITY_RETENTION_DAYS="90").config["SETTINGS"].server.activity_retention_days == 90
    with pytest.raises(SystemExit, match="ACTIVITY_RETENTION_DAYS='0' is not allowed"):
        make_app(ACTIVITY_RETENTION_DAYS="0")
