"""Property: a table with hostile names, values and types goes load → validate → train → score, or is refused.

Hypothesis generates small customer tables: column names with markup, brackets, ``<``, control characters,
Chinese, names equal once made safe, very long names; values with ±inf, NaN, 30-digit integers, text among
numbers, ``<`` in categories; targets spelt every way. Each one is written as a CSV and pushed through
``load_dataset`` (which validates), ``run_training`` on a store (a small logistic regression and XGBoost,
2-fold CV: the models are saved and loaded back as files) and ``score_customers`` on the same file without
its target. Each example ends in a clean refusal (a ``ChurnCoreError``) or in scores; any other exception
fails the test.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import churn_core as cc
from churn_core.scoring import score_customers

pytestmark = pytest.mark.slow  # 40 tables, most trained and saved: about 30 s on 2 cores

HOSTILE_NAMES = [
    "a[1]", "b<2", "c]", "<script>alert(1)</script>", "**bold** _it_", "![x](http://127.0.0.1/p.png)",
    "=SUM(A1)", "plan=<basic>", "x\ty", "名字[1]", "月费<元>", "a_1_", "a[1]x", "service_calls[n]",
    "minutes<day>", "total_charge", "L" * 300, "L" * 299 + "[", "/etc/passwd", "..\\..\\x", "$(rm -rf)",
]
characters = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from("[]<>=\t\n")
name_text = st.text(alphabet=characters, min_size=1, max_size=90)
names = st.one_of(st.sampled_from(HOSTILE_NAMES), name_text)
HUGE = [10**30, -(10**25), 2**63, 2**64 + 1]
CATEGORIES = ["<basic>", "pro[x]", "a]b", "<", "=1+1", "普通", "  padded  ", "", "<b>bold</b>"]
TARGETS = {
    "yes/no": ["Yes", "yes ", "YES", "no", " No"],
    "codes": ["0", "0.0", "false", "1", "1.0", "true"],
    "words": ["churned", "stayed"],
    "chinese": ["已流失", "在网"],
    "ambiguous": ["a", "b"],
    "three": ["yes", "no", "maybe"],
}


@st.composite
def column(draw, n: int) -> list:
    """One feature column of ``n`` values, of a hostile kind."""
    kind = draw(st.sampled_from(["float", "int", "huge", "mixed", "category", "flag", "constant", "empty"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if kind == "float":
        values = list(rng.normal(50, 20, n).round(2))
        specials = draw(st.lists(st.sampled_from([np.inf, -np.inf, np.nan, 1e308, -1e308, 1e-300]), max_size=4))
    elif kind == "int":
        values = list(rng.integers(0, 9, n))
        specials = draw(st.lists(st.sampled_from(HUGE + ["inf"]), max_size=3))
    elif kind == "huge":
        values = [int(v) * 10**25 + 7 for v in rng.integers(10**4, 10**5, n)]
        specials = draw(st.lists(st.sampled_from(HUGE), max_size=2))
    elif kind == "mixed":
        values = list(rng.integers(0, 100, n).astype(object))
        specials = draw(st.lists(st.sampled_from(["n/a", "12 calls", "1,5", "<3", "", "—"]), min_size=1, max_size=5))
    elif kind == "category":
        levels = draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=5, unique=True))
        values = list(rng.choice(levels, n))
        specials = []
    elif kind == "flag":
        values = list(rng.choice(["Yes", "no", "TRUE", "false"], n))
        specials = []
    elif kind == "constant":
        values, specials = ["same"] * n, []
    else:
        values, specials = [None] * n, []
    for value in specials:
        values[draw(st.integers(0, n - 1))] = value
    return values


@st.composite
def tables(draw) -> tuple[pd.DataFrame, str]:
    """A customer table and its target column's name."""
    n = draw(st.integers(40, 90))
    features = draw(st.lists(names, min_size=1, max_size=5))
    target = draw(st.sampled_from(["churn", " Churn ", "是否流失", "Exited", "churn[1]"]))
    spelling = TARGETS[draw(st.sampled_from(sorted(TARGETS)))]
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    frame = pd.DataFrame({f"__{i}": draw(column(n)) for i in range(len(features))})
    frame.columns = features  # names may repeat: the reader renames the copies
    if draw(st.booleans()):
        ids = [f"C{i:04d}" for i in range(n)]
        if draw(st.booleans()):
            ids[1] = ids[0]
        frame.insert(0, "customer_id", ids)
    frame[target] = rng.choice(spelling, n)
    return frame, target


def refused_or_scored(frame: pd.DataFrame, target: str, folder: Path) -> str:
    """Push a table through the pipeline; the outcome: "scored" or the refusal's code."""
    data = frame.to_csv(index=False).encode()
    try:
        dataset = cc.load_dataset(data, filename="hostile.csv")
        store = cc.Store(folder / "hostile.duckdb")
        version = store.save_dataset(dataset).version
        _, result = cc.run_training(store, store.load_dataset(version), promote=True, artifact_root=folder / "models",
                                    models=("logistic_regression", "xgboost"), cv_folds=2)
        unlabelled = frame.loc[:, [c != target for c in frame.columns]].to_csv(index=False).encode()
        new = cc.load_dataset(unlabelled, filename="new.csv", require_target=False, roles=dataset.roles.remap(
            target=None, positive_label=None))
        scored = score_customers(new, store=store, explain="all")
    except cc.ChurnCoreError as err:
        assert str(err) and err.code, "a refusal says what was wrong, with a code"
        return err.code
    p = scored.frame["probability"].to_numpy(dtype=float)
    assert len(p) == len(frame) and np.isfinite(p).all() and ((p > 0) & (p < 1)).all()
    shown = {str(c) for c in dataset.frame.columns} | {"total_charge", "total_minutes", "charge_per_minute"}
    assert set(result.features) <= shown
    for m in result.models:  # reports use the columns' own names, never the models' safe ones
        assert all(f in shown or any(f.startswith(f"{c}=") for c in dataset.roles.categorical) for f in m.features)
    assert set(scored.frame["reason_1"].dropna()) <= shown
    return "scored"


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(tables())
def test_a_hostile_table_is_refused_cleanly_or_trained_and_scored(table):
    frame, target = table
    with tempfile.TemporaryDirectory() as folder:
        outcome = refused_or_scored(frame, target, Path(folder))
    event(outcome)


def test_the_property_reaches_training_and_scoring():
    """The generator is not all refusals: a table of the kinds above, with a plain target, is scored."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a[1]": rng.normal(size=80), "b<2": rng.integers(0, 9, 80).astype(object),
                          "plan": rng.choice(CATEGORIES[:3], 80), "L" * 300: rng.normal(size=80),
                          "churn": rng.choice(TARGETS["yes/no"], 80)})
    frame.loc[[1, 2], "a[1]"] = [np.inf, -np.inf]
    frame.loc[5, "b<2"] = 10**30
    with tempfile.TemporaryDirectory() as folder:
        assert refused_or_scored(frame, "churn", Path(folder)) == "scored"
