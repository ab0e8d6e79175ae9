"""churn_core.evaluation: curves agree with scikit-learn, thinning keeps the ends, calibration, gains and
the threshold sweep are right on known data, and bad inputs are refused with named parameters."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

import churn_core as cc
from churn_core.evaluation import (
    calibration_bins,
    confusion_at,
    gains_table,
    pr_curve_points,
    roc_curve_points,
    threshold_sweep,
)
from churn_core.modeling import expected_calibration_error


def _scored(n: int, *, seed: int = 0, grid: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated synthetic scores: p ~ Beta(1, 4), y ~ Bernoulli(p); ``grid`` rounds p to create ties."""
    rng = np.random.default_rng(seed)
    p = rng.beta(1, 4, n)
    y = (rng.random(n) < p).astype(int)
    return y, (np.round(p / grid) * grid if grid else p)


CONTINUOUS = _scored(5_000)
TIED = _scored(5_000, seed=1, grid=0.05)
SMALL = (np.array([0, 0, 1, 1, 0, 1, 0, 0, 1, 0]), np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.05, 0.6, 0.7, 0.3]))
DATA = pytest.mark.parametrize("y, p", [CONTINUOUS, TIED, SMALL], ids=["continuous", "tied-scores", "ten-rows"])


@pytest.fixture(scope="module")
def calibrated() -> tuple[np.ndarray, np.ndarray]:
    return _scored(200_000, seed=7)


# -- ROC and precision-recall -------------------------------------------------------------------------------

@DATA
def test_areas_agree_with_sklearn(y, p):
    assert roc_curve_points(y, p).auc == pytest.approx(skm.roc_auc_score(y, p), rel=1e-12)
    assert pr_curve_points(y, p).auc == pytest.approx(skm.average_precision_score(y, p), rel=1e-12)


@pytest.mark.parametrize("max_points", [2, 7, 200], ids=["two", "seven", "default"])
@pytest.mark.parametrize("kind", ["roc", "pr"])
def test_thinning_keeps_both_ends_and_the_limit(kind, max_points):
    y, p = CONTINUOUS
    if kind == "roc":
        curve = roc_curve_points(y, p, max_points=max_points)
        full_x, full_y, _ = skm.roc_curve(y, p, drop_intermediate=True)
    else:
        curve = pr_curve_points(y, p, max_points=max_points)
        full_y, full_x, _ = skm.precision_recall_curve(y, p)
        full_x, full_y = full_x[::-1], full_y[::-1]
    assert len(full_x) > 200  # the data really needed thinning
    assert 2 <= len(curve.x) <= max_points
    assert len(curve.x) == len(curve.y) == len(curve.thresholds)
    assert (curve.x[0], curve.y[0]) == (full_x[0], full_y[0])
    assert (curve.x[-1], curve.y[-1]) == (full_x[-1], full_y[-1])
    assert np.all(np.diff(curve.x) >= 0)


def test_thinned_roc_keeps_its_shape():
    y, p = CONTINUOUS
    curve = roc_curve_points(y, p)
    assert np.trapezoid(curve.y, curve.x) == pytest.approx(curve.auc, abs=0.002)


def test_short_curves_are_returned_whole_with_their_thresholds():
    y, p = SMALL
    fpr, tpr, thresholds = skm.roc_curve(y, p, drop_intermediate=True)
    roc = roc_curve_points(y, p)
    np.testing.assert_array_equal(roc.to_frame()["fpr"], fpr)
    np.testing.assert_array_equal(roc.to_frame()["tpr"], tpr)
    np.testing.assert_array_equal(roc.thresholds, thresholds)  # the first is inf: nobody contacted
    pr = pr_curve_points(y, p).to_frame()
    assert list(pr.columns) == ["recall", "precision", "threshold"]
    assert pr["threshold"].isna().tolist() == [True] + [False] * (len(pr) - 1)  # recall 0 has no threshold


def test_pr_baseline_is_the_churners_share():
    y, p = CONTINUOUS
    curve = pr_curve_points(y, p)
    assert curve.kind == "pr" and roc_curve_points(y, p).kind == "roc"
    assert curve.baseline == pytest.approx(y.mean())
    assert curve.y[-1] == pytest.approx(y.mean())  # recall 1: everyone contacted


# -- calibration ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("strategy", ["quantile", "uniform"])
def test_calibrated_scores_sit_on_the_diagonal(calibrated, strategy):
    y, p = calibrated
    result = calibration_bins(y, p, strategy=strategy)
    assert result.ece < 0.01
    frame = result.to_frame()
    assert frame["customers"].sum() == len(y)
    assert frame["churners"].sum() == y.sum()
    big = frame["customers"] >= 1000
    assert np.abs(frame.loc[big, "observed"] - frame.loc[big, "predicted"]).max() < 0.03
    assert ((frame["ci_low"] <= frame["observed"]) & (frame["observed"] <= frame["ci_high"])).all()
    assert result.brier == pytest.approx(skm.brier_score_loss(y, p))


def test_squared_scores_are_visibly_miscalibrated(calibrated):
    y, p = calibrated
    good = calibration_bins(y, p).ece
    bad = calibration_bins(y, p**2)
    assert bad.ece > 0.05 > 5 * good
    assert (bad.observed > bad.predicted).all()  # p**2 underestimates every bin


def test_quantile_bins_are_equal_sized_and_uniform_ece_matches_modeling(calibrated):
    y, p = calibrated
    sizes = calibration_bins(y, p, bins=10).customers
    assert len(sizes) == 10 and sizes.max() - sizes.min() <= 1
    uniform = calibration_bins(y, p, bins=10, strategy="uniform")
    assert uniform.ece == pytest.approx(expected_calibration_error(y, p, bins=10), abs=1e-12)
    np.testing.assert_allclose(uniform.lower, np.linspace(0, 1, 11)[:-1], atol=1e-12)  # no bin is empty here


def test_tied_probabilities_merge_quantile_bins():
    y = np.array([0, 1, 0, 1, 0, 0, 1, 0])
    p = np.full(8, 0.25)
    result = calibration_bins(y, p, bins=4)
    assert result.customers.tolist() == [8]
    assert result.observed.tolist() == [0.375]
    assert result.ece == pytest.approx(0.125)


# -- gains and lift ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("base_rate", [0.05, 0.1, 0.3, 0.5], ids=["5%", "10%", "30%", "50%"])
@pytest.mark.parametrize("tied", [False, True], ids=["distinct-scores", "scores-equal-labels"])
def test_perfect_ranking_fills_the_top_decile_with_churners(base_rate, tied):
    n = 10_000
    rng = np.random.default_rng(3)
    y = np.zeros(n, dtype=int)
    y[rng.choice(n, size=int(n * base_rate), replace=False)] = 1
    p = y.astype(float) if tied else np.where(y == 1, 0.5, 0.0) + rng.random(n) * 0.5
    gains = gains_table(y, p)
    assert gains.captured[0] == pytest.approx(min(1.0, 0.1 / base_rate))
    assert gains.captured[-1] == pytest.approx(1.0) and gains.contacted[-1] == pytest.approx(1.0)
    assert gains.cumulative_lift[-1] == pytest.approx(1.0)
    assert (gains.curve_contacted[0], gains.curve_captured[0]) == (0.0, 0.0)
    assert (gains.curve_contacted[-1], gains.curve_captured[-1]) == pytest.approx((1.0, 1.0))
    assert len(gains.curve()) <= 200


def test_random_ranking_has_lift_one():
    rng = np.random.default_rng(5)
    y = (rng.random(200_000) < 0.15).astype(int)
    gains = gains_table(y, rng.random(200_000))
    np.testing.assert_allclose(gains.lift, 1.0, atol=0.08)
    np.testing.assert_allclose(gains.captured, gains.contacted, atol=0.02)


def test_gains_by_hand():
    # Sorted by probability: 0.9(1) 0.8(1) 0.7(1) 0.6(0) 0.4(0) 0.35(1) 0.3(0) 0.2(0) 0.1(0) 0.05(0)
    y, p = SMALL
    frame = gains_table(y, p, bins=5).to_frame()
    assert frame["customers"].tolist() == [2, 2, 2, 2, 2]
    assert frame["churners"].tolist() == [2, 1, 1, 0, 0]
    assert frame["churn_rate"].tolist() == [1.0, 0.5, 0.5, 0.0, 0.0]
    assert frame["contacted"].tolist() == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert frame["captured"].tolist() == pytest.approx([0.5, 0.75, 1.0, 1.0, 1.0])
    assert frame["lift"].tolist() == pytest.approx([2.5, 1.25, 1.25, 0.0, 0.0])
    assert frame["cumulative_lift"].tolist() == pytest.approx([2.5, 1.875, 5 / 3, 1.25, 1.0])
    assert frame[["max_proba", "min_proba"]].iloc[0].tolist() == [0.9, 0.8]


def test_ties_keep_input_order_and_groups_differ_by_at_most_one():
    tied = gains_table([1, 0, 0, 1], [0.5, 0.5, 0.5, 0.5], bins=2)
    assert tied.churners.tolist() == [1, 1]
    assert gains_table([0, 1, 1, 0], [0.5, 0.5, 0.5, 0.5], bins=2).churners.tolist() == [1, 1]
    assert gains_table([1, 1, 0, 0], [0.5, 0.5, 0.5, 0.5], bins=2).churners.tolist() == [2, 0]
    # ...but the smooth curve contacts tied customers together: a straight line to (1, 1).
    assert tied.curve().to_numpy().tolist() == [[0.0, 0.0], [1.0, 1.0]]
    rng = np.random.default_rng(2)  # three tied scores over 1000 rows: numpy's default sort would reorder them
    y, p = rng.integers(0, 2, 1000), rng.choice([0.2, 0.5, 0.8], 1000)
    by_hand = y[sorted(range(1000), key=lambda i: -p[i])]  # Python's sort is stable
    assert gains_table(y, p).churners.tolist() == by_hand.reshape(10, 100).sum(axis=1).tolist()
    sizes = gains_table(np.arange(13) % 2, np.linspace(0, 1, 13), bins=5).customers
    assert sizes.sum() == 13 and sizes.max() - sizes.min() <= 1


# -- confusion matrix and threshold sweep -----------------------------------------------------------------

@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.35, 0.5, 0.9, 1.0],
                         ids=["zero", "on-a-score", "tied-score", "half", "top-score", "one"])
def test_confusion_matches_sklearn(threshold):
    y, p = SMALL
    result = confusion_at(y, p, threshold=threshold)
    pred = p >= threshold
    (tn, fp), (fn, tp) = skm.confusion_matrix(y, pred, labels=[0, 1])
    assert (result.tn, result.fp, result.fn, result.tp) == (tn, fp, fn, tp)
    assert result.matrix().to_numpy().tolist() == [[tn, fp], [fn, tp]]
    assert (result.precision, result.recall, result.f1, result.accuracy) == pytest.approx((
        skm.precision_score(y, pred, zero_division=0), skm.recall_score(y, pred),
        skm.f1_score(y, pred, zero_division=0), skm.accuracy_score(y, pred)))


def test_confusion_matrix_is_labelled_in_plain_english():
    matrix = confusion_at(*SMALL, threshold=0.5).matrix()
    assert (matrix.index.name, matrix.columns.name) == ("actual", "predicted")
    assert list(matrix.index) == list(matrix.columns) == ["retained", "churned"]
    assert confusion_at(*SMALL, threshold=0.5).to_frame().loc[0, "tp"] == 3


@pytest.mark.parametrize("y, p", [TIED, SMALL], ids=["scores-on-the-threshold-grid", "ten-rows"])
def test_sweep_matches_sklearn_at_every_threshold(y, p):
    sweep = threshold_sweep(y, p, points=21)
    assert sweep["threshold"].tolist()[:4] == [0.0, 0.05, 0.1, 0.15]  # exact, so ties land on the right side
    for row in sweep.itertuples():
        pred = p >= row.threshold
        assert row.contacted == pred.sum()
        assert (row.precision, row.recall, row.f1) == pytest.approx((
            skm.precision_score(y, pred, zero_division=0), skm.recall_score(y, pred),
            skm.f1_score(y, pred, zero_division=0))), row.threshold
        assert row.share_contacted == pytest.approx(pred.mean())


def test_sweep_agrees_with_confusion_at():
    y, p = TIED
    sweep = threshold_sweep(y, p).set_index("threshold")
    for threshold in (0.1, 0.25, 0.3, 0.55):
        result = confusion_at(y, p, threshold=threshold)
        assert sweep.loc[threshold, "tp"] == result.tp
        assert sweep.loc[threshold, "f1"] == pytest.approx(result.f1)
    assert len(sweep) == 101


# -- inputs ----------------------------------------------------------------------------------------------

Y, P = SMALL
BAD_INPUTS = [
    pytest.param(lambda: calibration_bins(Y, np.r_[-0.2, P[1:-1], 1.3]),
                 r"The 'proba' parameter of calibration_bins must be probabilities in \[0, 1\]\. "
                 r"Got values from -0\.2 to 1\.3 instead\.", id="proba-out-of-range"),
    pytest.param(lambda: roc_curve_points(Y, np.r_[np.nan, P[1:]]),
                 "'proba' parameter of roc_curve_points must not contain missing values. Got 1", id="proba-nan"),
    pytest.param(lambda: pr_curve_points(Y, P[:-1]),
                 "'y_true' and 'proba' parameters of pr_curve_points must have the same length. Got 10 and 9",
                 id="lengths-differ"),
    pytest.param(lambda: gains_table(np.r_[2, Y[1:]], P), r"only 0 \(retained\) and 1 \(churned\). Got \[2\]",
                 id="y-not-binary"),
    pytest.param(lambda: confusion_at(["yes", "no"], [0.2, 0.4], threshold=0.5),
                 "'y_true' parameter of confusion_at must be numeric", id="y-strings"),
    pytest.param(lambda: threshold_sweep(np.zeros(10), P), r"both churned \(1\) and retained \(0\).*Got only \[0\]",
                 id="one-class"),
    pytest.param(lambda: roc_curve_points(Y, np.c_[1 - P, P]), r"one-dimensional.*predict_proba\(X\)\[:, 1\]",
                 id="proba-two-columns"),
    pytest.param(lambda: roc_curve_points([], []), "'y_true' parameter of roc_curve_points must not be empty",
                 id="empty"),
    pytest.param(lambda: calibration_bins(Y, P, strategy="kmeans"),
                 "'strategy' parameter of calibration_bins must be 'quantile' or 'uniform'. Got 'kmeans'",
                 id="bad-strategy"),
    pytest.param(lambda: calibration_bins(Y, P, bins=0), "'bins' parameter of calibration_bins must be an integer "
                 "of at least 1. Got 0", id="no-bins"),
    pytest.param(lambda: roc_curve_points(Y, P, max_points=1), "'max_points' .* at least 2. Got 1",
                 id="one-point"),
    pytest.param(lambda: gains_table(Y, P, bins=11), r"at most the number of customers \(10\). Got 11",
                 id="more-bins-than-customers"),
    pytest.param(lambda: confusion_at(Y, P, threshold=1.5), r"'threshold' parameter of confusion_at must be in "
                 r"\[0, 1\]. Got 1.5", id="threshold-above-one"),
    pytest.param(lambda: threshold_sweep(Y, P, points=1.5), "'points' .* integer of at least 2. Got 1.5",
                 id="fractional-points"),
]


@pytest.mark.parametrize("call, message", BAD_INPUTS)
def test_bad_inputs_are_refused_with_the_parameter_named(call, message):
    with pytest.raises(cc.ParameterError, match=message) as caught:
        call()
    assert caught.value.code == "bad_parameter"
    assert isinstance(caught.value, ValueError)


def test_pandas_and_boolean_inputs_are_accepted():
    import pandas as pd

    y, p = SMALL
    series = roc_curve_points(pd.Series(y.astype(bool), index=range(100, 110)), pd.Series(p))
    assert series.auc == pytest.approx(skm.roc_auc_score(y, p))
