"""The runtime dependencies install from a hashed lock that matches requirements.txt and has no known vulnerability."""

import re
import subprocess
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
PIP_AUDIT = ROOT / ".venv" / "bin" / "pip-audit"
# pip-audit's default service: PyPI's JSON API, which lists each release's known vulnerabilities.
VULNERABILITY_SERVICE = "https://pypi.org/pypi/flask/3.1.3/json"


def pins(path):
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([^\s;\\]+)", line)
        if match:
            found[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(3)
    return found


def test_the_lock_pins_every_runtime_requirement_at_its_version_with_hashes():
    locked = pins(LOCK)
    for name, version in pins(ROOT / "requirements.txt").items():
        assert locked.get(name) == version, f"requirements.lock has {name}=={locked.get(name)}, requirements.txt {version}"
    for block in re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text()):
        if "==" in block.split("\n", 1)[0]:
            assert "--hash=sha256:" in block, f"no hash for {block.splitlines()[0]}"


def audit(requirements):
    """Runs pip-audit on a requirements file: (passed, report). Skips when the vulnerability service is out of reach."""
    try:
        answer = requests.get(VULNERABILITY_SERVICE, timeout=5)
        answer.raise_for_status()
        if "vulnerabilities" not in answer.json():
            raise requests.RequestException(f"{VULNERABILITY_SERVICE} answers without a vulnerabilities list")
    except (requests.RequestException, ValueError) as error:
        reason = f"pip-audit's vulnerability service (PyPI) cannot be reached: {error}"
        print(reason)
        pytest.skip(reason)
    finished = subprocess.run(
        [str(PIP_AUDIT), "-r", str(requirements), "--no-deps", "--disable-pip", "--strict",
         "--progress-spinner", "off"],
        capture_output=True, text=True, timeout=300,
    )
    return finished.returncode == 0, finished.stdout + finished.stderr


def test_no_locked_runtime_dependency_has_a_known_vulnerability():
    passed, report = audit(LOCK)
    assert passed, f"pip-audit found known vulnerabilities; upgrade the pins (docs/deployment.md):\n{report}"


def test_the_audit_fails_on_a_vulnerable_pin(tmp_path):
    vulnerable = tmp_path / "requirements.txt"
    vulnerable.write_text("flask==0.12\n")  # CVE-2018-1000656 and others
    passed, report = audit(vulnerable)
    assert not passed and "flask" in report.lower()
