"""churn_core.events.training: the time split, the recency baseline, rules, and out-of-time training."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from churn_core import (
    Condition,
    EventWindow,
    LabelledEvents,
    ParameterError,
    Rule,
    RuleSet,
    SchemaError,
    default_rules,
    evaluate_rules,
    generate_visits,
    label_and_features,
    load_model,
    read_events,
    recency_baseline,
    save_model,
    suggest_window,
    time_split,
    train_out_of_time,
)
from churn_core.events.training import rolling_folds


@pytest.fixture(scope="module")
def demo():
    return generate_visits(n_customers=3000, years=3, seed=7)


@pytest.fixture(scope="module")
def labelled(demo) -> LabelledEvents:
    log = read_events(demo.visits, customers=demo.customers)
    return label_and_features(log, window=suggest_window(log).window)


@pytest.fixture(scope="module")
def progress_calls() -> list:
    return []


@pytest.fixture(scope="module")
def trained(labelled, progress_calls):
    return train_out_of_time(labelled, seed=0, progress=lambda stage, done: progress_calls.append((stage, done)))


def _with_frame(labelled: LabelledEvents, frame: pd.DataFrame) -> LabelledEvents:
    return dataclasses.replace(labelled, frame=frame)


# ---------------------------------------------------------------------------------------------------------
# Time split


def test_time_split_leaves_a_full_label_window_between_training_and_test(labelled):
    split = time_split(labelled)
    H = labelled.window.window_days
    frame = labelled.frame
    assert split.test_cutoff == frame.loc[frame["labelled"], "cutoff"].max()
    train_cut = frame["cutoff"].iloc[split.train_index]
    assert (split.test_cutoff - train_cut.max()).days >= H
    assert split.gap_days >= H and split.train_cutoffs[-1] == train_cut.max()
    assert (frame["cutoff"].iloc[split.test_index] == split.test_cutoff).all()
    assert frame["churned"].iloc[np.r_[split.train_index, split.test_index]].notna().all()
    assert (split.train_rows, split.test_rows) == (len(split.train_index), len(split.test_index))
    assert split.test_churn_rate == pytest.approx(frame["churned"].iloc[split.test_index].astype(float).mean())
    row = split.to_frame().iloc[0]
    assert row["window_days"] == H and row["lookback_days"] == 365 and row["train_cutoffs"] == 15


def test_time_split_fails_on_a_log_too_short_to_train_out_of_time(labelled):
    second = sorted(labelled.frame["cutoff"].unique())[1]
    with pytest.raises(SchemaError, match=r"No cut-off is at least 240 days .* needs about 660 days") as err:
        time_split(labelled, test_cutoff=second)
    assert err.value.code == "no_training_cutoff" and err.value.params["needed_days"] == 660
    short = generate_visits(n_customers=200, years=1, seed=1)
    log = read_events(short.visits, customers=short.customers)
    unlabelled = label_and_features(log, window=EventWindow(window_days=240),
                                    cutoffs=[log.last_date - pd.Timedelta(days=30)])
    with pytest.raises(SchemaError, match="No cut-off of the event log is fully labelled") as err:
        time_split(unlabelled)
    assert err.value.code == "no_labelled_cutoff"
    with pytest.raises(ParameterError, match="must be a labelled cut-off"):
        time_split(labelled, test_cutoff="2020-01-31")


def test_training_needs_room_for_a_validation_fold(labelled):
    dates = sorted(labelled.frame["cutoff"].unique())
    test = next(d for d in dates if (d - dates[0]).days >= 240 + 60)  # training cut-offs span only ~2 months
    with pytest.raises(SchemaError, match="no out-of-time validation fold fits") as err:
        train_out_of_time(labelled, split=time_split(labelled, test_cutoff=test), models=("logistic_regression",))
    assert err.value.code == "no_validation_cutoff"


def test_rolling_folds_fit_only_on_cutoffs_a_window_before_each_validation_block():
    dates = pd.date_range("2024-01-31", periods=12, freq="ME")
    values = np.repeat(dates.to_numpy(), 2)
    folds = rolling_folds(values, list(dates), folds=3, window_days=120)
    assert len(folds) == 3
    for fit, valid in folds:
        assert values[fit].max() <= values[valid].min() - np.timedelta64(120, "D")
    validated = np.concatenate([v for _, v in folds])
    assert sorted(values[validated]) == sorted(values[values >= np.datetime64("2024-05-31")])


# ---------------------------------------------------------------------------------------------------------
# Recency baseline


def test_baseline_threshold_is_chosen_on_training_rows_only(labelled):
    split = time_split(labelled)
    base = recency_baseline(labelled, split)
    assert base.rule == f"no visit in the last {base.days:g} days" and 60 <= base.days <= 365
    flipped = labelled.frame.copy()
    test_y = flipped["churned"].iloc[split.test_index]
    flipped.loc[flipped.index[split.test_index], "churned"] = (1 - test_y).to_numpy()
    other = recency_baseline(_with_frame(labelled, flipped), split)
    assert other.days == base.days and other.train_auc == base.train_auc
    assert other.roc_auc == pytest.approx(1 - base.roc_auc)  # the test rows did change
    frame = labelled.frame.iloc[split.test_index]
    flag = frame["days_since_last_visit"] > base.days
    assert base.flagged == int(flag.sum()) and base.flagged_share == pytest.approx(flag.mean())
    assert base.precision == pytest.approx(frame.loc[flag, "churned"].astype(float).mean())


# ---------------------------------------------------------------------------------------------------------
# Rules

SIX = pd.DataFrame({
    "customer_id": list("ABCDEF"),
    "days_since_last_visit": [100.0, 120, 95, 10, 200, 50],
    "days_since_last_event": [100.0, 30, 95, 10, 200, 50],
    "visits_365d": [5.0, 4, 3, 6, 8, 2],
    "spend_90d": [0.0, 100, 0, 500, 0, 300],
    "spend_trend": [-400.0, -300, -200, 100, 0, 0],
    "visits_trend_ratio": [0.0, 0.5, 0.0, 2.0, np.nan, 1.0],
    "warranty_end_days": [200.0, 10, 500, 20, -5, 25],
    "churned": [1, 1, 0, 0, 1, 0],
})


def six_customers(drop=()) -> tuple[LabelledEvents, object]:
    test = SIX.assign(cutoff=pd.Timestamp("2025-12-31"))
    train = SIX.assign(cutoff=pd.Timestamp("2025-01-31"))
    frame = pd.concat([train, test], ignore_index=True).drop(columns=list(drop))
    frame["labelled"] = True
    frame["churned"] = frame["churned"].astype("Int64")
    names = tuple(c for c in frame.columns if c not in ("customer_id", "cutoff", "labelled", "churned"))
    labelled = LabelledEvents(frame=frame, population=pd.DataFrame(), lapsed=pd.DataFrame(),
                              window=EventWindow(window_days=120), cutoffs=(), feature_names=names)
    return labelled, time_split(labelled)


def test_rules_on_six_customers_give_exact_counts_rates_and_lead_times():
    labelled, split = six_customers()
    table = evaluate_rules(labelled, split, rules=default_rules(labelled.feature_names)).to_frame().set_index("rule")
    expected = {  # flagged, churn rate of the flagged, caught, share of churners caught, lead time (365 - since)
        "overdue_regular": (3, 1.0, 3, 1.0, 265.0),  # A B E
        "spend_halved": (3, 2 / 3, 2, 2 / 3, 300.0),  # A B C (E's earlier spend is 0: no ratio)
        "warranty_ending": (3, 1 / 3, 1, 1 / 3, 335.0),  # B D F
        "visits_halved": (3, 2 / 3, 2, 2 / 3, 300.0),  # A B C
        "at_least_2": (3, 2 / 3, 2, 2 / 3, 300.0),  # A (3 rules) B (4) C (2)
    }
    for rule, (flagged, rate, caught, share, lead) in expected.items():
        row = table.loc[rule]
        assert row["applicable"], rule
        assert (row["flagged"], row["caught"]) == (flagged, caught), rule
        assert row["churn_rate"] == pytest.approx(rate) and row["caught_share"] == pytest.approx(share), rule
        assert row["lead_time_days"] == lead, rule
    assert table.loc["overdue_regular", "lift"] == pytest.approx(2.0)  # 100% against the 50% base rate


def test_rules_with_missing_columns_are_reported_not_applicable():
    labelled, split = six_customers(drop=("spend_trend", "warranty_end_days"))
    result = evaluate_rules(labelled, split, rules=default_rules(labelled.feature_names))
    table = result.to_frame().set_index("rule")
    assert len(table) == 6  # five rules and the "at least 2" flag: none dropped
    assert not table.loc["spend_halved", "applicable"] and table.loc["spend_halved", "missing"] == "spend_trend_ratio"
    assert not table.loc["recent_complaint", "applicable"]
    assert table.loc["recent_complaint", "missing"] == "complaints_365d"
    assert np.isnan(table.loc["warranty_ending", "flagged"])
    assert table.loc["at_least_2", "flagged"] == 2  # A and B meet both applicable rules (overdue, visits halved)
    assert table.loc["at_least_2", "churn_rate"] == 1.0
    assert (result.customers, result.churners) == (6, 3)


def test_rules_are_configurable_and_find_complaint_columns():
    picked = default_rules(["complaint_visits_12m", "days_since_last_visit"]).rules
    assert picked[2].conditions == (Condition("complaint_visits_12m", ">", 0),)
    labelled, split = six_customers()
    mine = RuleSet(rules=(Rule("big_spender_gone", (Condition("spend_90d", "==", 0),
                                                    Condition("visits_365d", ">=", 5))),), k=1)
    table = evaluate_rules(labelled, split, rules=mine).to_frame().set_index("rule")
    assert table.loc["big_spender_gone", "flagged"] == 2  # A and E
    assert table.loc["at_least_1", "caught"] == 2
    with pytest.raises(ParameterError, match="operator must be one of"):
        Condition("spend_90d", "!=", 0)
    with pytest.raises(ParameterError, match="'k' parameter of RuleSet"):
        RuleSet(rules=(), k=0)


# ---------------------------------------------------------------------------------------------------------
# Out-of-time training


def test_models_beat_the_recency_rule_out_of_time_on_the_demo(trained, progress_calls):
    best, base = trained.best(), trained.baseline
    print("\n" + trained.split.to_frame().T.to_string())
    print(trained.to_frame()[["model", "roc_auc", "pr_auc", "brier", "ece", "precision", "recall", "threshold",
                              "roc_auc_ci_low", "roc_auc_ci_high", "cv_roc_auc_mean"]].to_string())
    print(f"baseline: {base.rule}: AUC {base.roc_auc:.3f} precision {base.precision:.3f} recall {base.recall:.3f} "
          f"flagged {base.flagged_share:.1%}; ranking AUC {base.ranking_auc:.3f}; lift {trained.lift:.3f}; "
          f"verdict {trained.verdict}")
    print(trained.rules.to_frame().drop(columns=["description"]).to_string())
    print(trained.deciles.to_string())
    assert {m.name for m in trained.models} == {"logistic_regression", "xgboost"}
    fractions = [done for _, done in progress_calls]
    assert fractions == sorted(fractions) and progress_calls[-1] == ("done", 1.0)
    assert best.holdout.roc_auc > base.roc_auc and best.holdout.roc_auc > base.ranking_auc
    assert trained.verdict == "better" and best.roc_auc_ci[0] > max(base.roc_auc, base.ranking_auc)
    assert trained.lift == pytest.approx(best.holdout.roc_auc - base.roc_auc) and trained.lift > 0.03
    assert len(trained.y_test) == trained.split.test_rows == len(best.test_proba)
    assert (trained.test_index == trained.split.test_index).all()
    assert not {"churned", "labelled", "cutoff", "customer_id"} & set(trained.features)
    assert len(best.cv) == 3 and len(best.fold_models) == 3
    assert np.isnan(best.oof_raw[trained.fold_of < 0]).all() and not np.isnan(best.oof_raw[trained.fold_of >= 0]).any()
    folds = trained.cv_folds
    assert ((folds["first_valid_cutoff"] - folds["last_fit_cutoff"]).dt.days >= 240).all()
    deciles = trained.deciles
    assert len(deciles) == 10 and deciles["actual"].iloc[0] > 2 * deciles["actual"].iloc[-1]
    assert abs(deciles["predicted"] - deciles["actual"]).max() < 0.15  # calibrated on out-of-time predictions


def test_out_of_time_estimator_round_trips_through_skops(trained, labelled, tmp_path):
    best = trained.best()
    X = labelled.frame.iloc[trained.test_index]
    sha = save_model(best.estimator, tmp_path / "m.skops")
    loaded = load_model(tmp_path / "m.skops", sha256=sha)
    np.testing.assert_allclose(loaded.predict_proba(X)[:, 1], best.test_proba)
    np.testing.assert_allclose(loaded.predict_raw(X), best.test_proba_raw)
    np.testing.assert_allclose(loaded.calibrate(best.test_proba_raw), best.test_proba)


def test_churn_that_is_noise_gets_no_signal(labelled):
    frame = labelled.frame.copy()
    rows = np.flatnonzero(frame["labelled"].to_numpy())
    shuffled = frame["churned"].iloc[rows].to_numpy()[np.random.default_rng(2).permutation(len(rows))]
    frame.loc[frame.index[rows], "churned"] = shuffled
    result = train_out_of_time(_with_frame(labelled, frame), models=("logistic",))  # the short name works too
    assert [m.name for m in result.models] == ["logistic_regression"]
    assert result.verdict in ("no_signal", "no_better")
    assert result.best().holdout.roc_auc < 0.55 and result.baseline.ranking_auc < 0.55


def test_events_after_the_test_cutoff_change_no_training_row(demo, labelled):
    split = time_split(labelled)
    visits = demo.visits.copy()
    later = visits["visit_date"] > split.test_cutoff
    assert later.sum() > 1000
    rng = np.random.default_rng(0)
    visits.loc[later, "customer_id"] = rng.permutation(visits.loc[later, "customer_id"].to_numpy())
    visits.loc[later, "amount_cny"] = rng.permutation(visits.loc[later, "amount_cny"].to_numpy())
    log = read_events(visits, customers=demo.customers)
    again = label_and_features(log, window=labelled.window, cutoffs=labelled.cutoffs)
    other = time_split(again)
    assert other.test_cutoff == split.test_cutoff
    columns = ["customer_id", "cutoff", *labelled.feature_names, "churned"]
    pd.testing.assert_frame_equal(labelled.frame.iloc[split.train_index][columns],
                                  again.frame.iloc[other.train_index][columns])
    changed = (labelled.frame["churned"].iloc[split.test_index].to_numpy()
               != again.frame["churned"].iloc[other.test_index].to_numpy())
    assert changed.any()  # the shuffle did reach the test labels
