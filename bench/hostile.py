"""Benchmark: every hostile upload through the command line, with its outcome, peak memory and time.

    python bench/hostile.py [--runs 3] [--full]

Each file of tests/hostile_files.py (HOSTILE) is written to a temp folder and read by a fresh
``python -m churn_core describe --data FILE --format json`` process, as a scheduled job would; an accepted
file is then trained on (``train --models logistic_regression``) into a throw-away database. For each the
table prints the outcome (the refusal's error code, or "loaded" / "trained"), the child's peak resident
memory (its own and its reading worker's, from ``os.wait4``), and the median wall and CPU time of
``--runs`` runs. ``--full`` adds the issue's full-size cases: a 1 GB shared-strings bomb, a 150 MB cell,
and a 201 MB file refused by its size.

Targets (issue 15): every file refused with a message or loaded, in under a minute, within about 5× its
size in memory (plus the interpreter's own ~150 MB), and never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before OpenMP loads: idle threads sleep, not spin

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import hostile_files as hf  # noqa: E402


def measured(args: list[str]) -> dict:
    """One run in a fresh helper, so the children's peak memory and CPU are this run's alone."""
    code = (
        "import json, resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run([sys.executable, '-m', 'churn_core', *sys.argv[1:]], capture_output=True, text=True)\n"
        "wall = time.perf_counter() - t\n"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(json.dumps({'rc': p.returncode, 'out': p.stdout[-4000:], 'err': p.stderr[-2000:], 'wall': wall,\n"
        "                  'cpu': u.ru_utime + u.ru_stime, 'rss_mb': u.ru_maxrss / 1024}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def outcome(result: dict, path: Path) -> str:
    """The refusal's error code (read again in this process: the CLI prints the message, not the code)."""
    if result["rc"] == 0:
        return "ok"
    if "Traceback" in result["err"]:
        return "TRACEBACK"
    import churn_core as cc

    try:
        cc.load_dataset(path)
    except cc.ChurnCoreError as err:
        return f"refused: {err.code}"
    return f"exit {result['rc']}"


def cases(full: bool) -> list[tuple[str, str, callable]]:
    out = [(h.file, h.problem, h.make) for h in hf.HOSTILE]
    if full:
        out += [("bomb_1gb.xlsx", "shared strings 1 GB unpacked", lambda: hf.shared_strings_bomb(1024 ** 3)),
                ("cell_150mb.csv", "one 150 MB cell", lambda: hf.long_cell(150 * 1024 * 1024)),
                ("too_big.csv", "201 MB of rows (over the 200 MB limit)", lambda: b"a,churn\n" + b"1,yes\n" * (
                    201 * 1024 * 1024 // 6))]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="churn-hostile-") as tmp:
        for name, problem, make in cases(args.full):
            path = Path(tmp) / name
            path.write_bytes(make())
            size_kb = path.stat().st_size / 1024
            results = [measured(["describe", "--data", str(path), "--format", "json"]) for _ in range(args.runs)]
            first = results[0]
            what = "loaded" if first["rc"] == 0 else outcome(first, path)
            if first["rc"] == 0:
                db = Path(tmp) / f"{name}.duckdb"
                trained = measured(["train", "--data", str(path), "--models", "logistic_regression", "--db", str(db),
                                    "--format", "json"])
                what = "trained" if trained["rc"] == 0 else f"loaded; train: {outcome(trained, path)}"
            rows.append((name, problem, size_kb, what, statistics.median(r["wall"] for r in results),
                         statistics.median(r["cpu"] for r in results), max(r["rss_mb"] for r in results)))
            path.unlink()
    print(f"{'file':<26} {'on disk':>10} {'outcome':<30} {'wall s':>7} {'CPU s':>7} {'peak MB':>8}  what it is")
    for name, problem, size_kb, what, wall, cpu, rss in rows:
        size = f"{size_kb / 1024:.1f} MB" if size_kb >= 1024 else f"{size_kb:.0f} KB"
        print(f"{name:<26} {size:>10} {what:<30} {wall:>7.2f} {cpu:>7.2f} {rss:>8.0f}  {problem}")


if __name__ == "__main__":
    main()
