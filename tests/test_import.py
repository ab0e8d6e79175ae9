"""Importing churn_core pulls in no Streamlit and has no side effects (checked in a fresh interpreter)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHECK = """
import sys
import churn_core
loaded = sorted(m for m in sys.modules if m == "streamlit" or m.startswith("streamlit."))
assert "streamlit" not in sys.modules, loaded
"""


def test_import_does_not_load_streamlit_or_touch_the_database(tmp_path):
    assert importlib.util.find_spec("streamlit") is not None, "streamlit must be installed for this check to bite"
    db = tmp_path / "untouched.duckdb"
    env = {**os.environ, "CHURN_RADAR_DB": str(db)}
    done = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", "")
    assert not db.exists()
