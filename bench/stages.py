"""What the stage-by-stage benchmarks share: sizes like "200k", a timer per stage with its peak RSS, medians."""

from __future__ import annotations

import statistics
import time
from pathlib import Path


def size(text: str) -> int:
    """ "200k" -> 200000, "1m" -> 1000000."""
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM back to the current RSS


def peak_gb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024 ** 2
    return float("nan")


class Stages(dict):
    """Stage name -> {wall_s, cpu_s, peak_rss_gb}; ``run(name, fn)`` times ``fn()`` (its peak RSS reset first)
    and returns what it returns."""

    def run(self, name: str, fn):
        reset_peak()
        start, cpu = time.perf_counter(), time.process_time()
        out = fn()
        self[name] = {"wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu,
                      "peak_rss_gb": peak_gb()}
        return out


def median_of(runs: list[dict]) -> dict:
    """The first run with each stage's figures replaced by their median over ``runs``."""
    out = dict(runs[0])
    out["stages"] = {name: {k: statistics.median(r["stages"][name][k] for r in runs) for k in first}
                     for name, first in runs[0]["stages"].items()}
    return out
