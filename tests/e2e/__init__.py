"""Browser tests. A package so its conftest.py does not replace tests/conftest.py as the module `conftest`
(the unit tests import their helpers from it); e2e_harness stays importable by its plain name, as
bench/bench_connect.py imports it."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
