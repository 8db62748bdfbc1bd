"""The Python code keeps its import order and has no unused or undefined names: ruff (pyproject.toml) passes."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_python_code_passes_ruff():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"ruff check . exited {result.returncode}:\n{result.stdout}{result.stderr}"
