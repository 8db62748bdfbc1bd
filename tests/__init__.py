"""The test suite: unit tests with `responses`, real-server tests and headless-Chromium tests (tests/e2e)."""
