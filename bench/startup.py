"""Start-up cost: import time of the app (`python -X importtime -c "import app"`, summarized) and the time
from process start to the first served request under gunicorn and under `flask run`.

    .venv/bin/python -m bench.startup
"""

import subprocess
import time

from harness.load import PYTHON, ROOT, AppServer, StandInProcess

RUNS = 3


def import_time():
    """(wall seconds of `import app` in a fresh interpreter, [(cumulative µs, top-level package)])."""
    walls = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run([PYTHON, "-c", "import app"], cwd=ROOT, check=True)
        walls.append(time.perf_counter() - started)
    baseline = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run([PYTHON, "-c", "pass"], cwd=ROOT, check=True)
        baseline.append(time.perf_counter() - started)
    trace = subprocess.run([PYTHON, "-X", "importtime", "-c", "import app"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stderr
    direct = []
    for line in trace.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:"):].split("|")
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        if depth == 1:  # what app.py imports itself (each with everything it pulls in)
            direct.append((int(cumulative), name.strip()))
    return min(walls), min(baseline), sorted(direct, reverse=True)


def first_request(server):
    """Seconds from process start until /login answers 200."""
    import requests

    standin = StandInProcess(0)
    app = AppServer(standin.base_url, server=server)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{app.url}/login", timeout=5).status_code == 200:
                    return time.monotonic() - app.started
            except requests.ConnectionError:
                time.sleep(0.01)
        raise RuntimeError("no answer within 60 s")
    finally:
        app.close()
        standin.close()


def main():
    wall, baseline, packages = import_time()
    print(f"import app: {wall * 1000:.0f} ms wall in a fresh interpreter "
          f"({(wall - baseline) * 1000:.0f} ms over a bare `python -c pass` at {baseline * 1000:.0f} ms)")
    print("what app.py imports, largest first (cumulative, -X importtime):")
    for microseconds, name in packages[:8]:
        print(f"  {microseconds / 1000:7.1f} ms  {name}")
    for server in ("gunicorn", "flask"):
        best = min(first_request(server) for _ in range(RUNS))
        print(f"{server}: first request served {best * 1000:.0f} ms after process start (best of {RUNS})")


if __name__ == "__main__":
    main()
