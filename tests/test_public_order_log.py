"""Out of time on a public order log: CDNOW (69,659 purchases of 23,570 customers, 1997-98).

The file is public research data, fetched by scripts/fetch_cdnow.py into data/public/ (gitignored); without it
these tests skip and say how to get it.
"""

from pathlib import Path

import pandas as pd
import pytest

import churn_core as cc
from churn_core.events import EventWindow, label_and_features, time_split, train_out_of_time

CDNOW = Path(__file__).resolve().parents[1] / "data" / "public" / "cdnow_master.csv"
pytestmark = pytest.mark.skipif(not CDNOW.is_file(), reason="data/public/cdnow_master.csv is absent: run "
                                "`python scripts/fetch_cdnow.py` (downloads the public CDNOW log) to include it")
WINDOW = EventWindow(window_days=90)  # a quarter: 18 months of orders leave 7 training cut-offs before the test


@pytest.fixture(scope="module")
def labelled():
    log = cc.read_events(CDNOW)
    assert (log.roles.id, log.roles.time, log.roles.time_format) == ("customer_id", "date", "yyyymmdd")
    return label_and_features(log, window=WINDOW)


def test_the_population_is_defined_and_the_split_is_by_time(labelled):
    split = time_split(labelled)
    assert split.test_cutoff == pd.Timestamp("1998-03-31")
    assert split.train_cutoffs[-1] <= split.test_cutoff - pd.Timedelta(days=90)
    assert split.test_rows == 9_526 and split.test_churn_rate == pytest.approx(0.7016, abs=1e-3)


def test_the_model_is_judged_against_the_best_recency_rule_out_of_time(labelled):
    result = train_out_of_time(labelled, models=("logistic_regression",))
    base, best = result.baseline, result.best()
    assert base.rule == "no visit in the last 120 days"
    assert base.roc_auc == pytest.approx(0.653, abs=0.005) and base.precision == pytest.approx(0.828, abs=0.005)
    assert best.holdout.roc_auc == pytest.approx(0.744, abs=0.01)
    assert best.roc_auc_ci[0] > max(base.roc_auc, base.ranking_auc)
    assert result.verdict == "better" and result.lift == pytest.approx(best.holdout.roc_auc - base.roc_auc)
