"""Production gunicorn settings, read from the environment (`gunicorn -c gunicorn.conf.py wsgi:app`).

Minimal version created by the benchmark work (issue 6); the production work (issue 5) may extend it.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# One process per core: the app mostly waits on OpenAI, so concurrency comes from threads, not processes.
workers = int(os.environ.get("GUNICORN_WORKERS", os.cpu_count() or 2))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
# Every in-flight mint holds a thread while it waits on OpenAI. bench/bench_mint.py (README "Performance and
# reliability", L = 100 ms, 2 cores): sync 2 workers reaches 0.01 of the ceiling at C=64, gthread 2x16 0.46,
# 2x64 0.47, 2x128 0.46 (CPU-bound beyond ~64 threads); gevent 2x1000 was 0.95 in one run, 0.75 in the next.
threads = int(os.environ.get("GUNICORN_THREADS", "64"))
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))  # gevent only
backlog = 2048
keepalive = 5
timeout = 60  # longer than OPENAI_TIMEOUT_SECONDS plus retries, so a slow upstream never kills a worker
graceful_timeout = 20
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
