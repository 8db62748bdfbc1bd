"""Several instances: two gunicorn instances behind nginx share the per-admin rate limit through Redis and the
activity record through PostgreSQL; and the database layer itself against a real PostgreSQL."""

import json

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

from core.admins import add_admin
from core.clock import FixedClock
from harness.load import ADMIN, PASSWORD, AppServer, StandInProcess
from harness.real_servers import (
    Nginx,
    Postgres,
    Redis,
    signed_in_https_session,
    wait_until,
)
from tests.support import TODAY

MINT = "/api/v1/chatkit/realtime-session"
LIMIT = 3


@pytest.fixture(scope="module")
def postgres():
    server = Postgres()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def redis_server():
    server = Redis()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def two_instances(tmp_path_factory, postgres, redis_server):
    folder = tmp_path_factory.mktemp("instances")
    standin = StandInProcess(latency_ms=0)
    instances = []
    nginx = None
    # One admins file for both: a session holds a fingerprint of the admin's id and password hash, which two
    # separately made files would not share.
    admins = str(folder / "admins.txt")
    add_admin(admins, ADMIN, PASSWORD)
    try:
        for number in (1, 2):
            instances.append(AppServer(standin.base_url, extra_env={
                "FORCE_HTTPS": "1", "TRUSTED_PROXIES": "1", "GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "4",
                "GUNICORN_ACCESS_LOG": str(folder / f"access-{number}.log"), "LOG_FORMAT": "json",
                # What makes them one service: the same secret key, admins file, rate-limit storage and database.
                "SECRET_KEY": "shared-secret-key", "ADMIN_USERS_FILE": admins, "RATELIMIT_STORAGE_URI": redis_server.url,
                "DATABASE_URL": postgres.url, "MINT_RATE_LIMIT": f"{LIMIT} per minute",
            }))
        nginx = Nginx(app_ports=[instance.port for instance in instances], folder=folder / "nginx")
        yield {"nginx": nginx, "logs": [folder / "access-1.log", folder / "access-2.log"]}
    finally:
        if nginx:
            nginx.close()
        for instance in instances:
            instance.close()
        standin.close()


def mint_lines(log):
    return [line for line in map(json.loads, log.read_text().splitlines()) if line["path"] == MINT] if log.exists() else []


def test_the_per_admin_mint_limit_holds_across_two_instances_sharing_redis(two_instances, postgres):
    nginx = two_instances["nginx"]
    http = signed_in_https_session(nginx.https_url, nginx.cert, ADMIN, PASSWORD)
    statuses = [http.post(f"{nginx.https_url}{MINT}", timeout=10).status_code for _ in range(LIMIT + 3)]
    assert statuses[:LIMIT] == [200] * LIMIT
    assert statuses[LIMIT:] == [429] * 3
    # nginx spread the mints over both instances, so only the shared counter can have refused them.
    # gunicorn writes an access line just after the answer, so wait for all of them.
    wait_until(lambda: sum(len(mint_lines(log)) for log in two_instances["logs"]) == len(statuses))
    served = [len(mint_lines(log)) for log in two_instances["logs"]]
    assert all(count >= 2 for count in served), served
    refused = http.post(f"{nginx.https_url}{MINT}", timeout=10)
    assert refused.json()["code"] == "rate_limited" and int(refused.headers["Retry-After"]) > 0

    # Both instances wrote their mints to the one PostgreSQL database: read them back through the app's code.
    app = build_app(postgres.url)
    import activity

    with app.app_context():
        rows = activity.mint_page(admin=ADMIN).rows
    assert [row["outcome"] for row in rows].count("ok") == LIMIT


def build_app(database_url):
    from app import create_app

    return create_app({"CLOCK": FixedClock(TODAY), "ENVIRON": {"SECRET_KEY": "s", "FORCE_HTTPS": "0", "DATABASE_URL": database_url,
                                   "ADMIN_USERS_FILE": "/nonexistent/admins.txt"}, "TESTING": True})


def test_the_database_layer_round_trips_a_table_through_postgresql(postgres):
    from flask import Flask

    from core.database import init_database

    engine = init_database(Flask("roundtrip"), postgres.url)
    assert engine.dialect.name == "postgresql"
    probes = Table("roundtrip_probe", MetaData(), Column("id", Integer, primary_key=True), Column("word", String(20)))
    probes.create(engine, checkfirst=True)
    with engine.begin() as connection:
        connection.execute(insert(probes).values(word="ünïcode ✓"))
    with engine.connect() as connection:
        assert connection.execute(select(probes.c.word)).scalars().all() == ["ünïcode ✓"]
    engine.dispose()


def test_activity_records_and_reads_voice_sessions_through_postgresql(postgres):
    import activity

    app = build_app(postgres.url)
    with app.app_context():
        activity.record_mint("test", "pg-admin", "ok", 12.5, request_id="req_1")
        activity.record_voice_event("pg-admin", {"attemptId": "pg-1", "event": "connected", "mode": "relay",
                                                 "connectMs": 300})
        activity.record_voice_event("pg-admin", {"attemptId": "pg-1", "event": "ended", "mode": "relay",
                                                 "durationMs": 9000})
        sessions = activity.voice_session_page(admin="pg-admin").rows
        figures = activity.connection_figures(sessions[0]["started_at"].replace(year=2000))
        mint = activity.last_mint("pg-admin")
    assert len(sessions) == 1 and sessions[0]["last_event"] == "ended" and sessions[0]["connected"] is True
    assert sessions[0]["started_at"].tzinfo is not None
    assert figures.connected >= 1 and figures.median_connect_ms is not None
    assert mint["request_id"] == "req_1" and mint["latency_ms"] == 12.5
