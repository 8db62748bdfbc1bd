"""deploy/nginx.conf for real: Debian's nginx with a self-signed certificate in front of gunicorn (gunicorn.conf.py,
two workers), both on 127.0.0.1 ports the test picks."""

import http.client
import json
import re
import ssl
from pathlib import Path

import pytest
import requests

from harness.load import ADMIN, PASSWORD, AppServer, StandInProcess
from harness.real_servers import Nginx, free_port, signed_in_https_session, wait_until
from tests.support import metric_value

MINT = "/api/v1/chatkit/realtime-session"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stack")
    standin = StandInProcess(latency_ms=0)
    app = AppServer(standin.base_url, extra_env={
        "FORCE_HTTPS": "1", "TRUSTED_PROXIES": "1", "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "8",
        "GUNICORN_ACCESS_LOG": str(folder / "gunicorn-access.log"), "LOG_FORMAT": "json",
        "METRICS_ALLOW": "127.0.0.1",
    })
    nginx = None
    try:
        nginx = Nginx(app_ports=[app.port], folder=folder / "nginx")
        yield {"app": app, "nginx": nginx, "access_log": folder / "gunicorn-access.log"}
    finally:
        if nginx:
            nginx.close()
        app.close()
        standin.close()


@pytest.fixture(scope="module")
def browser_like(stack):
    """A requests session that trusts the test's certificate and is signed in through nginx."""
    return signed_in_https_session(stack["nginx"].https_url, stack["nginx"].cert, ADMIN, PASSWORD)


def access_lines(stack):
    return [json.loads(line) for line in stack["access_log"].read_text().splitlines() if line.startswith("{")]


def test_plain_http_gets_a_permanent_redirect_to_https(stack):
    reply = requests.get(f"{stack['nginx'].http_url}/admin/voice?x=1", allow_redirects=False, timeout=10)
    assert reply.status_code == 301
    assert reply.headers["Location"] == f"{stack['nginx'].https_url}/admin/voice?x=1"


def test_https_pages_carry_hsts_once_csp_and_permissions_policy_without_a_redirect_loop(stack):
    reply = requests.get(f"{stack['nginx'].https_url}/login", verify=stack["nginx"].cert, allow_redirects=False,
                         timeout=10)
    # FORCE_HTTPS=1: had the app not seen https through X-Forwarded-Proto, it would redirect again.
    assert reply.status_code == 200
    assert reply.raw.headers.getlist("Strict-Transport-Security") == ["max-age=31536000; includeSubDomains"]
    assert "script-src 'self' https://cdn.platform.openai.com" in reply.headers["Content-Security-Policy"]
    assert reply.headers["Permissions-Policy"].startswith("microphone=(self)")
    assert "Secure" in reply.headers["Set-Cookie"]
    assert reply.headers["Server"] == "nginx"


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated")
def test_only_tls_1_2_and_1_3_are_offered(stack):
    context = ssl.create_default_context(cafile=stack["nginx"].cert)
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    with pytest.raises(ssl.SSLError):
        connection = http.client.HTTPSConnection("127.0.0.1", stack["nginx"].https_port, context=context, timeout=5)
        connection.request("GET", "/healthz")
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        context = ssl.create_default_context(cafile=stack["nginx"].cert)
        context.minimum_version = context.maximum_version = version
        connection = http.client.HTTPSConnection("127.0.0.1", stack["nginx"].https_port, context=context, timeout=5)
        connection.request("GET", "/healthz")
        assert connection.getresponse().status == 200


def test_a_signed_in_admin_mints_through_nginx_and_the_app_logs_the_real_client(stack, browser_like):
    base = stack["nginx"].https_url
    # Connect from 127.0.0.2: nginx itself talks to gunicorn from 127.0.0.1, so only ProxyFix can tell.
    context = ssl.create_default_context(cafile=stack["nginx"].cert)
    connection = http.client.HTTPSConnection("127.0.0.1", stack["nginx"].https_port, context=context, timeout=10,
                                             source_address=("127.0.0.2", 0))
    cookie = "; ".join(f"{c.name}={c.value}" for c in browser_like.cookies)
    connection.request("POST", MINT, body=b"{}", headers={
        "Cookie": cookie, "X-CSRFToken": browser_like.headers["X-CSRFToken"], "Referer": f"{base}/admin/voice",
        "Content-Type": "application/json"})
    reply = connection.getresponse()
    body = json.loads(reply.read())
    assert reply.status == 200, body
    assert body["data"]["token"]["value"].startswith("ek_")
    request_id = reply.getheader("X-Request-Id")
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)  # nginx's $request_id, passed through the app
    wait_until(lambda: any(line["request_id"] == request_id for line in access_lines(stack)))
    line = next(line for line in access_lines(stack) if line["request_id"] == request_id)
    assert line["remote_addr"] == "127.0.0.2" and line["path"] == MINT and line["status"] == 200
    wait_until(lambda: f"request_id={request_id}" in stack["nginx"].log("access.log"))


def test_static_files_come_from_nginx_with_long_cache_lifetimes(stack):
    reply = requests.get(f"{stack['nginx'].https_url}/static/css/app.css", verify=stack["nginx"].cert, timeout=10)
    assert reply.status_code == 200
    assert reply.headers["Cache-Control"] == "max-age=604800"
    assert reply.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    root = Path(__file__).resolve().parent.parent
    path = next((root / "static" / "vendor").rglob("*.js")).relative_to(root).as_posix()
    assert requests.get(f"{stack['nginx'].https_url}/{path}", verify=stack["nginx"].cert,
                        timeout=10).headers["Cache-Control"] == "max-age=31536000"
    # Proxied requests are in gunicorn's access log; static ones never reach it.
    assert not any(line["path"].startswith("/static/") for line in access_lines(stack))


def test_bodies_over_the_limit_are_refused_by_nginx(stack, browser_like):
    reply = browser_like.post(f"{stack['nginx'].https_url}{MINT}", data=b"x" * (2 * 1024 * 1024), timeout=10,
                              headers={"Content-Type": "application/json"})
    assert reply.status_code == 413


def test_nginx_refuses_an_oversized_api_body_in_the_apps_json_envelope(stack, browser_like):
    reply = browser_like.post(f"{stack['nginx'].https_url}{MINT}", data=b"x" * (2 * 1024 * 1024), timeout=10,
                              headers={"Content-Type": "application/json"})
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.json() == {"status": "error", "code": "payload_too_large", "message": (
        "The request body is larger than the server accepts (1 MiB at nginx, client_max_body_size).")}


def test_nginx_answers_its_api_rate_limit_in_the_json_envelope_with_retry_after(stack):
    context = ssl.create_default_context(cafile=stack["nginx"].cert)
    connection = http.client.HTTPSConnection("127.0.0.1", stack["nginx"].https_port, context=context, timeout=10,
                                             source_address=("127.0.0.4", 0))
    for _ in range(40):
        connection.request("POST", "/api/v1/realtime/calls", body=b"")
        reply = connection.getresponse()
        body = reply.read()
        if reply.status == 429:
            break
    assert reply.status == 429 and reply.getheader("Content-Type") == "application/json"
    assert json.loads(body)["code"] == "rate_limited" and reply.getheader("Retry-After") == "1"
    assert reply.getheader("Strict-Transport-Security")


def test_nginx_says_in_json_when_the_app_server_is_down(tmp_path):
    nginx = Nginx(app_ports=[free_port()], folder=tmp_path / "nginx")
    try:
        reply = requests.post(f"{nginx.https_url}{MINT}", verify=nginx.cert, timeout=10)
    finally:
        nginx.close()
    assert reply.status_code == 502 and reply.headers["Content-Type"] == "application/json"
    assert reply.json()["code"] == "app_unavailable" and "systemctl status voice-console" in reply.json()["message"]


def test_api_floods_are_cut_by_nginx_limit_req(stack):
    # From 127.0.0.3: limit_req counts per client address, and the other tests' client must keep its budget.
    context = ssl.create_default_context(cafile=stack["nginx"].cert)
    connection = http.client.HTTPSConnection("127.0.0.1", stack["nginx"].https_port, context=context, timeout=10,
                                             source_address=("127.0.0.3", 0))
    statuses = []
    for _ in range(40):
        connection.request("POST", "/api/v1/realtime/calls", body=b"")
        reply = connection.getresponse()
        reply.read()
        statuses.append(reply.status)
    assert statuses.count(429) >= 10, statuses  # burst of 20 at 10 r/s
    assert 401 in statuses  # the first ones reach the app (signed out)


def test_sign_in_floods_are_cut_by_nginx_before_the_app_checks_a_password(stack):
    # From 127.0.0.4, so the other tests' sign-ins keep their budget; burst 5 at 10 r/m lets six through at once.
    context = ssl.create_default_context(cafile=stack["nginx"].cert)
    connection = http.client.HTTPSConnection("127.0.0.1", stack["nginx"].https_port, context=context, timeout=10,
                                             source_address=("127.0.0.4", 0))
    statuses = []
    for _ in range(10):
        connection.request("POST", "/login", body=b"username=alice&password=x",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        reply = connection.getresponse()
        reply.read()
        statuses.append(reply.status)
    assert statuses.count(429) >= 3, statuses
    assert 429 not in statuses[:6], statuses


def test_metrics_add_up_across_workers_and_stay_private_behind_nginx(stack, browser_like):
    direct = f"http://127.0.0.1:{stack['app'].port}/metrics"
    before = metric_value(requests.get(direct, timeout=10).text, "voice_console_mints_total", kind="realtime",
                          outcome="ok")
    for _ in range(6):
        assert browser_like.post(f"{stack['nginx'].https_url}{MINT}", timeout=10).status_code == 200
    after = metric_value(requests.get(direct, timeout=10).text, "voice_console_mints_total", kind="realtime",
                         outcome="ok")
    assert after - before == 6
    # Multiprocess mode (gunicorn.conf.py's PROMETHEUS_MULTIPROC_DIR) sums files, so per-process-only
    # collectors are absent; without it each worker would answer with only its own counts.
    assert "python_gc_objects_collected_total" not in requests.get(direct, timeout=10).text
    # Through nginx the client is 127.0.0.1 only if it is; METRICS_ALLOW=127.0.0.1, so from 127.0.0.2 it is hidden.
    context = ssl.create_default_context(cafile=stack["nginx"].cert)
    connection = http.client.HTTPSConnection("127.0.0.1", stack["nginx"].https_port, context=context, timeout=10,
                                             source_address=("127.0.0.2", 0))
    connection.request("GET", "/metrics")
    assert connection.getresponse().status == 404


def test_health_probes_answer_over_plain_http_on_the_app_port(stack):
    assert requests.get(f"http://127.0.0.1:{stack['app'].port}/healthz", allow_redirects=False,
                        timeout=10).status_code == 200
    ready = requests.get(f"http://127.0.0.1:{stack['app'].port}/readyz", allow_redirects=False, timeout=10)
    assert ready.status_code == 200, ready.text


