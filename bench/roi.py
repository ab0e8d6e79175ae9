"""Benchmark: the ROI page's computations at 200k and 1M customers, and the one-page export.

    python bench/roi.py [--rows 200000 1000000]

For each size, seeded synthetic customers (bench/synthetic.py) get a seeded, imperfect model score
(the generator's own risk formula plus noise, so no training is timed here; that is bench/train.py's
subject), and the page's work is timed as if every customer were out of sample:

* case + tornado: ``business_case`` and ``sensitivity`` (what a slider move recomputes without a model);
* rules: which customers match 2+ segment rules (``segment_masks``);
* curve: ``profit_curve`` (EMPC, optimal rate and threshold from empulse; the 201-point curve and band);
* strategies: ``compare_strategies`` (nobody, everyone, rules, random, top-k, optimal);
* export: ``render_pdf`` and ``render_png`` of the presentation view, first call and repeated, in
  English and Chinese.

On the page the model-driven part runs on the holdout (a fifth of the dataset), so these sizes are
the worst case. Target (ours; the issue sets none): curve + strategies under 2 s at 1M, so a
changed assumption redraws within a couple of seconds even then; exports under 2 s.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before OpenMP loads: idle threads sleep, not spin

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import write_csv  # noqa: E402

import churn_core as cc  # noqa: E402

ECONOMICS = cc.Economics(clv=2_000, incentive_cost=100, contact_cost=10)


def model_score(dataset: cc.Dataset, *, seed: int = 1) -> np.ndarray:
    """The generator's risk formula with noise: an honest, imperfect ranking (ROC-AUC about 0.85)."""
    f = dataset.frame
    logit = (-2.8 + 2.38 * (f["international_plan"] == "yes") - 1.2 * (f["voice_mail_plan"] == "yes")
             + 2.75 * (f["number_customer_service_calls"] >= 4) + 0.35 * np.maximum(f["total_day_charge"] - 39, 0))
    noise = np.random.default_rng(seed).normal(0, 1.0, len(f))
    return 1 / (1 + np.exp(-(logit.to_numpy(dtype=float) + noise)))


def rule_mask(dataset: cc.Dataset) -> np.ndarray:
    """Customers matching two or more of the segment rules (the rule-based baseline's list)."""
    return cc.segment_masks(dataset)[0].to_numpy().sum(axis=1) >= 2


def timed(func, *args, repeat: int = 3, **kwargs) -> tuple[float, object]:
    """Median seconds of ``func(*args, **kwargs)`` over ``repeat`` calls, and its result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def page(lang: str, chart: cc.Chart) -> cc.OnePage:
    words = {"en": ("Retention business case", "Customers saved", "Summary text " * 20),
             "zh": ("客户挽留商业论证", "挽留客户", "该计划的目标是把流失率降到 9.8%，" * 8)}[lang]
    return cc.OnePage(lang=lang, title=words[0], subtitle="bench", kpis=((words[1], "376"), ("ROI", "1690%")),
                      chart_title=words[0], chart=chart, summary=words[2],
                      assumptions=tuple((f"a{i}", str(i)) for i in range(10)), footer="Churn Radar bench")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[200_000, 1_000_000])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    rows = []
    case_s, _ = timed(lambda: [cc.sensitivity(cc.PRESETS["telecom_8k"]) for _ in range(100)])
    for n in args.rows:
        with tempfile.TemporaryDirectory() as folder:
            dataset = cc.load_dataset(write_csv(n, Path(folder) / "customers.csv", seed=0))
        y = dataset.target().to_numpy()
        score = model_score(dataset)
        rules_s, masks = timed(rule_mask, dataset)
        curve_s, curve = timed(cc.profit_curve, y, score, economics=ECONOMICS)
        strat_s, comparison = timed(cc.compare_strategies, y, score, economics=ECONOMICS, rule_mask=masks, top_k=0.1)
        best = comparison.row("optimal")
        rows.append((f"{n:,}", f"{y.mean():.1%}", f"{case_s / 100 * 1e3:.2f}", f"{rules_s:.3f}", f"{curve_s:.3f}",
                     f"{strat_s:.3f}", f"{curve_s + strat_s:.2f}", f"{curve.optimal_rate:.1%}",
                     f"{best['profit'] / comparison.row('rules')['profit']:.1f}x"))
    table = curve.table
    chart = cc.Chart(x=tuple(table["rate"]), y=tuple(table["profit"]), low=tuple(table["profit_low"]),
                     high=tuple(table["profit_high"]), x_label="contacted", y_label="profit",
                     marker=(float(curve.best["rate"]), float(curve.best["profit"]), "optimum"))
    exports = []
    for lang in ("en", "zh"):
        first_pdf, _ = timed(cc.render_pdf, page(lang, chart), repeat=1)
        pdf_s, pdf = timed(cc.render_pdf, page(lang, chart))
        png_s, png = timed(cc.render_png, page(lang, chart))
        exports.append((lang, f"{first_pdf:.2f}", f"{pdf_s:.2f}", f"{png_s:.2f}", f"{len(pdf) / 1024:.0f}",
                        f"{len(png) / 1024:.0f}"))

    head = ("customers", "churn", "case+tornado ms", "rules s", "curve s", "strategies s", "model total s",
            "optimal rate", "optimal vs rules")
    print(_table(head, rows))
    print()
    print(_table(("export", "first PDF s", "PDF s", "PNG s", "PDF KB", "PNG KB"), exports))
    return 0


def _table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(c.rjust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
