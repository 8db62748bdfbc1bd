"""static/js keeps one style: ESLint (eslint.config.js, installed by `npm ci`) passes over all of it."""

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ESLINT = ROOT / "node_modules" / ".bin" / "eslint"


def test_static_js_passes_eslint():
    # Failing, not skipping: a missing linter would otherwise let style drift through unnoticed.
    if not ESLINT.exists():
        pytest.fail(f"{ESLINT.relative_to(ROOT)} is missing: run `npm ci` in {ROOT} first.")
    result = subprocess.run(
        [str(ESLINT), "static/js"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"eslint static/js exited {result.returncode}:\n{result.stdout}{result.stderr}"
