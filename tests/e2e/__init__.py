"""Browser tests: headless Debian Chromium through Playwright against the sandbox and the app."""
