"""Imports run one way (pyproject.toml's import-linter contracts, checked by `lint-imports` in make test); these tests
check what those contracts cannot see: what importing a module actually loads, and app.py, which is not a package."""

import json
import subprocess
import sys

from harness.load import ROOT

AROUND_THE_APP = ("tests", "bench", "docs", "scripts", "harness", "sandbox", "examples")


def loaded_packages(module):
    """The top-level packages a fresh interpreter has loaded after importing `module`."""
    code = f"import json, sys, {module}; print(json.dumps(sorted({{name.split('.')[0] for name in sys.modules}})))"
    finished = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    return set(json.loads(finished.stdout))


def test_importing_the_agents_tools_imports_no_chat():
    loaded = loaded_packages("agent.mcp_tools")
    assert "agent" in loaded
    assert "chat" not in loaded


def test_importing_the_app_imports_none_of_the_tools_around_it():
    loaded = loaded_packages("app")
    assert {"blueprints", "chat", "core"} <= loaded
    assert loaded.isdisjoint(AROUND_THE_APP)
