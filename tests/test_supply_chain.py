"""The runtime dependencies install from a hashed lock that matches requirements.txt; `make test` audits it
(scripts/audit_dependencies.py), and these tests check what that audit decides."""

import re
import subprocess
from pathlib import Path

import responses

from scripts import audit_dependencies

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"


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


def test_the_audit_is_said_to_be_skipped_when_pypi_cannot_be_asked(capsys):
    assert audit_dependencies.main(problem=lambda: "cannot be reached: 404", run_audit=None) == 0
    assert "Dependency audit not run: cannot be reached: 404" in capsys.readouterr().out


def test_a_reported_vulnerability_fails_the_test_command_with_the_report(capsys):
    report = "flask 0.12 GHSA-562c-5r94-xh97 1.0"
    assert audit_dependencies.main(problem=lambda: None, run_audit=lambda lock: (False, report)) == 1
    assert report in capsys.readouterr().out


def test_a_clean_audit_passes(capsys):
    assert audit_dependencies.main(problem=lambda: None, run_audit=lambda lock: (True, "")) == 0
    assert "no known vulnerability" in capsys.readouterr().out


def test_pip_audit_runs_strict_over_the_lock_and_its_exit_code_decides():
    calls = []

    def pip_audit(command, **options):
        calls.append(command)
        return subprocess.CompletedProcess(command, 1, "flask 0.12 GHSA-562c-5r94-xh97", "")

    passed, report = audit_dependencies.audit(audit_dependencies.LOCK, run=pip_audit)
    assert not passed and "GHSA-562c" in report
    assert calls[0][1:4] == ["-m", "pip_audit", "-r"] and "--strict" in calls[0]


@responses.activate
def test_the_service_counts_as_reachable_only_when_it_lists_vulnerabilities():
    probe = audit_dependencies.SERVICE_PROBE
    responses.get(probe, status=404)
    assert "cannot be reached" in audit_dependencies.service_problem()
    responses.replace(responses.GET, probe, json={"info": {}})
    assert "without a vulnerabilities list" in audit_dependencies.service_problem()
    responses.replace(responses.GET, probe, json={"info": {}, "vulnerabilities": []})
    assert audit_dependencies.service_problem() is None
