"""`make test`'s dependency audit: pip-audit over requirements.lock when its vulnerability service answers, and a
printed reason instead when it cannot be reached (a machine whose only network is the package registries)."""

import subprocess
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
# pip-audit's default service: PyPI's JSON API, which lists each release's known vulnerabilities.
SERVICE_PROBE = "https://pypi.org/pypi/flask/3.1.3/json"


def service_problem(probe=SERVICE_PROBE):
    """Why pip-audit's vulnerability service cannot be used now, in words, or None when it answers as pip-audit needs."""
    try:
        answer = requests.get(probe, timeout=5)
        answer.raise_for_status()
        body = answer.json()
    except (requests.RequestException, ValueError) as error:
        return f"pip-audit's vulnerability service (PyPI) cannot be reached: {error}"
    if not isinstance(body, dict) or "vulnerabilities" not in body:
        return f"pip-audit's vulnerability service ({probe}) answers without a vulnerabilities list"
    return None


def audit(requirements, run=subprocess.run):
    """(passed, report): pip-audit --strict over `requirements`; a package it cannot audit fails too."""
    finished = run(
        [sys.executable, "-m", "pip_audit", "-r", str(requirements), "--no-deps", "--disable-pip", "--strict",
         "--progress-spinner", "off"],
        capture_output=True, text=True, timeout=300,
    )
    return finished.returncode == 0, finished.stdout + finished.stderr


def main(problem=service_problem, run_audit=audit):
    """0 when the lock has no known vulnerability or the service cannot be asked (said why), 1 when it has one."""
    reason = problem()
    if reason:
        print(f"Dependency audit not run: {reason}")
        return 0
    passed, report = run_audit(LOCK)
    if passed:
        print("Dependency audit: no known vulnerability in requirements.lock")
        return 0
    print(f"Dependency audit: pip-audit found known vulnerabilities; upgrade the pins (docs/deployment.md):\n{report}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
