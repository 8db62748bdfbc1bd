"""Shared plumbing of the benchmarks, the soak and the load test: the stand-in upstream, the app under
gunicorn (or flask), sign-in, the wrk and asyncio load generators, and a process's memory and open files."""

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from harness.payloads import OFFER_SDP
from harness.real_servers import free_port

PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
API_KEY = "sk-bench-not-a-real-key"
ADMIN, PASSWORD = "bench", "bench-password-123"
# The per-admin MINT_RATE_LIMIT would otherwise refuse the benchmark's one admin after 20 mints a minute.
UNLIMITED = "1000000 per minute"

ENDPOINTS = {
    # name: (app path, stand-in path, content type, body)
    "mint": ("/api/v1/chatkit/realtime-session", "/v1/realtime/client_secrets", "application/json",
             b'{"voice": "marin"}'),
    "relay": ("/api/v1/realtime/calls", "/v1/realtime/calls", "application/sdp", OFFER_SDP.encode()),
}
STANDIN_BODIES = {
    "mint": b'{"expires_after": {"anchor": "created_at", "seconds": 60}, "session": {"type": "realtime", '
            b'"model": "gpt-realtime-2.1", "output_modalities": ["audio"], "audio": {"output": {"voice": "marin"}}}}',
    "relay": OFFER_SDP.encode(),
}


def wait_for_port(port, process, timeout=60.0):
    """Waits until something accepts connections on the port (or the process dies)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listened on port {port} within {timeout} s")


def stop(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class StandInProcess:
    """harness/standin.py in its own process, so its event loop never shares a GIL with the load."""

    def __init__(self, latency_ms, extra_args=()):
        self.port = free_port()
        self.process = subprocess.Popen(
            [PYTHON, "-m", "harness.standin", "--port", str(self.port),
             "--latency-ms", str(latency_ms), *extra_args],
            cwd=ROOT, stdout=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.process)

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}/v1"

    def close(self):
        stop(self.process)


@dataclass(frozen=True)
class ServerModel:
    """A gunicorn worker model: `sync`, `gthread` (with threads) or `gevent` (with worker_connections)."""

    worker_class: str
    workers: int
    threads: int = 1

    @property
    def label(self):
        if self.worker_class == "gthread":
            return f"gthread {self.workers}x{self.threads}"
        if self.worker_class == "gevent":
            return f"gevent {self.workers}x{self.threads}"
        return f"sync {self.workers}"

    @classmethod
    def parse(cls, text):
        """'gthread:2:64', 'sync:2', 'gevent:2:1000'."""
        kind, workers, *rest = text.split(":")
        return cls(kind, int(workers), int(rest[0]) if rest else 1)


class AppServer:
    """The real app (wsgi:app) under gunicorn with the repository's gunicorn.conf.py, or under `flask run`."""

    def __init__(self, upstream_url, model=None, *, server="gunicorn", extra_env=None, connect_mode="ephemeral"):
        self.folder = tempfile.mkdtemp(prefix="bench-app-")
        self.port = free_port()
        admins = os.path.join(self.folder, "admins.txt")
        from core.admins import add_admin

        add_admin(admins, ADMIN, PASSWORD)
        env = {
            **os.environ,
            "OPENAI_API_KEY": API_KEY,
            "OPENAI_BASE_URL": upstream_url,
            "OPENAI_REALTIME_CONNECT": connect_mode,
            "SECRET_KEY": "bench-secret-key",
            "FORCE_HTTPS": "0",
            "ADMIN_USERS_FILE": admins,
            "DATABASE_URL": f"sqlite:///{os.path.join(self.folder, 'console.db')}",
            "MINT_RATE_LIMIT": UNLIMITED,
            "LOGIN_RATE_LIMIT": UNLIMITED,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            **(extra_env or {}),
        }
        if model is not None:
            env.update(GUNICORN_WORKER_CLASS=model.worker_class, GUNICORN_WORKERS=str(model.workers),
                       GUNICORN_THREADS=str(model.threads), GUNICORN_WORKER_CONNECTIONS=str(model.threads))
        if server == "gunicorn":
            command = [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"]
        else:
            command = [PYTHON, "-m", "flask", "--app", "wsgi", "run", "--port", str(self.port), "--no-reload",
                       "--with-threads"]
        self.started = time.monotonic()
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                        stderr=open(os.path.join(self.folder, "server.log"), "wb"))
        wait_for_port(self.port, self.process)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def log(self):
        return Path(self.folder, "server.log").read_text(errors="replace")

    def worker_pids(self):
        return worker_pids(self.process.pid)

    def close(self):
        stop(self.process)
        shutil.rmtree(self.folder, ignore_errors=True)


def sign_in(base_url, timeout=30):
    """Signs the bench admin in through the real form; returns (Cookie header, CSRF token)."""
    import requests

    with requests.Session() as http:
        page = http.get(f"{base_url}/login", timeout=timeout).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        http.post(f"{base_url}/login", data={"username": ADMIN, "password": PASSWORD, "csrf_token": token},
                  timeout=timeout)
        page = http.get(f"{base_url}/admin/voice", timeout=timeout).text
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        cookie = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
    return cookie, csrf


@dataclass
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    error_detail: str = ""
    server_cpu_ms: float | None = None  # CPU (user + system) per request of the server's workers, and the stand-in's
    standin_cpu_ms: float | None = None

    @property
    def rate(self):
        return self.requests / self.seconds if self.seconds else 0.0


def run_wrk(url, *, concurrency, seconds, content_type, body, cookie="", csrf="", authorization="", timeout_s=10):
    """One wrk run (a C program, so the load generator is never the bottleneck); one thread, C connections."""
    with tempfile.NamedTemporaryFile(suffix=".body") as body_file:
        body_file.write(body)
        body_file.flush()
        env = {**os.environ, "BENCH_BODY_FILE": body_file.name, "BENCH_CONTENT_TYPE": content_type,
               "BENCH_COOKIE": cookie, "BENCH_X_CSRFTOKEN": csrf, "BENCH_AUTHORIZATION": authorization}
        output = subprocess.run(
            ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", f"--timeout={timeout_s}s",
             "-s", str(ROOT / "bench" / "post.lua"), url],
            env=env, capture_output=True, text=True, check=True,
        ).stdout
    line = next(line for line in output.splitlines() if line.startswith("BENCH-RESULT"))
    fields = dict(item.split("=") for item in line.split()[1:])
    errors = {name: int(fields[name]) for name in ("connect", "read", "write", "status", "timeout")}
    return LoadResult(
        requests=int(fields["requests"]) - errors["status"],
        seconds=int(fields["duration_us"]) / 1e6,
        p50_ms=int(fields["p50_us"]) / 1000,
        p99_ms=int(fields["p99_us"]) / 1000,
        errors=sum(errors.values()),
        error_detail=", ".join(f"{name} {count}" for name, count in errors.items() if count),
    )


async def _python_load(url, concurrency, seconds, content_type, body, headers):
    import aiohttp

    latencies, failures = [], {}
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def one_client():
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    async with http.post(url, data=body, headers={**headers, "Content-Type": content_type}) as reply:
                        await reply.read()
                        ok = reply.status < 400
                        key = reply.status
                except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                    ok, key = False, type(error).__name__
                if ok:
                    latencies.append(time.perf_counter() - started)
                else:
                    failures[key] = failures.get(key, 0) + 1

        started = time.monotonic()
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        elapsed = time.monotonic() - started
    latencies.sort()
    pick = (lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000) if latencies else (lambda q: 0)
    return LoadResult(len(latencies), elapsed, pick(0.5), pick(0.99), sum(failures.values()),
                      ", ".join(f"{key} {count}" for key, count in failures.items()))


def run_python_load(url, *, concurrency, seconds, content_type, body, cookie="", csrf="", authorization=""):
    """The same load from an asyncio aiohttp client, for machines without wrk (the CI load test)."""
    headers = {name: value for name, value in
               (("Cookie", cookie), ("X-CSRFToken", csrf), ("Authorization", authorization)) if value}
    return asyncio.run(_python_load(url, concurrency, seconds, content_type, body, headers))


def run_load(url, **kwargs):
    return run_wrk(url, **kwargs) if shutil.which("wrk") else run_python_load(url, **kwargs)


def worker_pids(master_pid):
    """A gunicorn master's workers (or the process itself when it has no children)."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    text = children.read_text() if children.exists() else ""
    return [int(pid) for pid in text.split()] or [master_pid]


def cpu_seconds(pids):
    """User + system CPU time so far, summed over the given processes."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def run_load_counting_cpu(url, server_pids, standin_pid, **kwargs):
    """run_load, plus how much CPU the server's workers and the stand-in spent per finished request."""
    server_before, standin_before = cpu_seconds(server_pids), cpu_seconds([standin_pid])
    result = run_load(url, **kwargs)
    if result.requests:
        result.server_cpu_ms = (cpu_seconds(server_pids) - server_before) * 1000 / result.requests
        result.standin_cpu_ms = (cpu_seconds([standin_pid]) - standin_before) * 1000 / result.requests
    return result


def memory_and_files(pids):
    """(resident memory in MiB, open file descriptors) summed over the given processes."""
    rss_kib, fds = 0, 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            rss_kib += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
            fds += len(os.listdir(f"/proc/{pid}/fd"))
        except (FileNotFoundError, ProcessLookupError):
            continue
    return rss_kib / 1024, fds
