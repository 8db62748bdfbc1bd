"""Shared by the tests and the benchmarks (never imported by the app): OpenAI payloads, the stand-in upstream,
the app under gunicorn, load generators, real servers (nginx, coturn, Redis, PostgreSQL) and headless Chromium."""
