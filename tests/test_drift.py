"""churn_core.drift: the PSI and the noise test by hand, shifts detected and not, samples of the training file
not flagged, the churn rate, missing values, column bookkeeping, errors."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

import churn_core as cc

# Two bins holding 50% / 50% of the reference and 80% / 20% of the current rows.
HAND_PSI = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
# The same counts, 100 rows a side, as a 2x2 table: Pearson's chi-square, and its p-value with 1 dof.
HAND_CHI2 = 200 * (50 * 20 - 80 * 50) ** 2 / (100 * 100 * 130 * 70)
HAND_P = math.erfc(math.sqrt(HAND_CHI2 / 2))


def normal(n: int, mean: float = 0.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(mean, 1.0, n)


def customers(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "customer_id": [f"C{i:05d}" for i in range(n)],
        "tenure": rng.integers(1, 72, n),
        "monthly_charges": rng.normal(60, 15, n).round(2),
        "contract": rng.choice(["month", "year", "two_year"], n),
        "churn": rng.choice(["yes", "no"], n, p=[0.2, 0.8]),
    })


# -- psi ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("values", [
    pytest.param(normal(5_000), id="continuous"),
    pytest.param(np.repeat([0.0, 1.0, 2.0, 5.0], 25), id="four-values"),
    pytest.param(np.r_[normal(90), [np.nan] * 10], id="with-missing"),
    pytest.param(pd.Series(list("aabbbc") * 10, dtype="category"), id="category"),
    pytest.param(["yes", "no", None, "yes"] * 10, id="text-list"),
])
def test_identical_distributions_have_zero_psi(values):
    assert cc.psi(values, values) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(("expected", "actual"), [
    pytest.param([0] * 50 + [1] * 50, [0] * 80 + [1] * 20, id="numeric-two-values"),
    pytest.param(["a"] * 50 + ["b"] * 50, ["a"] * 80 + ["b"] * 20, id="categorical"),
    pytest.param([1.0] * 5 + [2.0] * 5, [1.0] * 8 + [2.0] * 2, id="small-sample-same-shares"),
])
def test_psi_matches_the_hand_computed_value(expected, actual):
    # With bins=2 the one quantile edge (the reference median, 0.5) splits the two values apart.
    assert cc.psi(expected, actual, bins=2) == pytest.approx(HAND_PSI, rel=1e-9)
    assert HAND_PSI == pytest.approx(0.4158883, abs=1e-7)


def test_psi_bins_are_reference_quantiles_with_open_outer_edges():
    reference = np.arange(1.0, 101.0)  # deciles: 10 rows per bin
    beyond = np.r_[np.full(50, -1e9), np.full(50, 1e9)]  # far outside the reference range: first and last bin
    e, a = np.full(10, 0.1), np.r_[0.5, np.full(8, 1e-4), 0.5]
    assert cc.psi(reference, beyond) == pytest.approx(float(np.sum((a - e) * np.log(a / e))), rel=1e-9)


def test_discrete_values_get_deduplicated_right_closed_bins():
    # Tertile edges of 1,1,1,2,2,2,3,3,3 are 1 and 2: bins (-inf, 1], (1, 2], (2, inf), a third each.
    e, a = np.full(3, 1 / 3), np.array([1.0, 1e-4, 1e-4])
    expected = float(np.sum((a - e) * np.log(a / e)))
    assert cc.psi([1, 1, 1, 2, 2, 2, 3, 3, 3], [1] * 9, bins=3) == pytest.approx(expected)
    # Ten bins add interpolated edges (1.4, 1.8...) whose extra bins are empty on both sides: they add nothing.
    assert cc.psi([1, 1, 1, 2, 2, 2, 3, 3, 3], [1] * 9, bins=10) == pytest.approx(expected)


def test_empty_bins_are_floored_not_infinite():
    value = cc.psi([0.0] * 50 + [1.0] * 50, [0.0] * 100, bins=2)
    assert math.isfinite(value)
    assert value == pytest.approx((1 - 0.5) * math.log(1 / 0.5) + (1e-4 - 0.5) * math.log(1e-4 / 0.5))


@pytest.mark.parametrize(("shift", "n", "status"), [
    pytest.param(1.0, 20_000, "shifted", id="plus-one-sd-shifted"),
    pytest.param(0.05, 100_000, "stable", id="plus-0.05-sd-stable"),
])
def test_shifted_normal_mean(shift, n, status):
    report = cc.drift_report(pd.DataFrame({"x": normal(n, seed=1)}), pd.DataFrame({"x": normal(n, shift, seed=2)}))
    row = report.features.iloc[0]
    assert (row["feature"], row["kind"], row["status"]) == ("x", "numeric", status)
    assert row["current_mean"] - row["reference_mean"] == pytest.approx(shift, abs=0.03)


def test_categorical_shift_is_detected():
    reference = pd.Series(["month"] * 50 + ["year"] * 30 + ["two_year"] * 20)
    current = pd.Series(["month"] * 85 + ["year"] * 10 + ["two_year"] * 5)
    report = cc.drift_report(pd.DataFrame({"contract": reference}), pd.DataFrame({"contract": current}))
    assert report.shifted == ("contract",)
    assert report.features.at[0, "kind"] == "categorical"
    assert math.isnan(report.features.at[0, "reference_mean"])


def test_new_categories_are_pooled_into_one_other_bin():
    reference = ["a"] * 50 + ["b"] * 50
    # Two unseen levels of 10% each count as one 20% "other" bin (the reference holds none there).
    e = np.array([0.5, 0.5, 1e-4])
    a = np.array([0.4, 0.4, 0.2])
    expected = float(np.sum((a - e) * np.log(a / e)))
    assert cc.psi(reference, ["a"] * 40 + ["b"] * 40 + ["x"] * 10 + ["y"] * 10) == pytest.approx(expected)
    assert cc.psi(reference, ["a"] * 40 + ["b"] * 40 + ["x"] * 20) == pytest.approx(expected)


@pytest.mark.parametrize(("reference", "current"), [
    pytest.param(normal(1_000), [np.nan] * 1_000, id="numeric"),
    pytest.param(["a", "b"] * 500, [None] * 1_000, id="categorical"),
])
def test_missing_values_are_a_bin_of_their_own(reference, current):
    # All current rows sit in the missing bin, which the reference leaves empty: the floor makes it large.
    assert cc.psi(reference, current) > 5
    assert cc.psi(current, current) == pytest.approx(0.0)


def test_missing_share_change_alone_is_drift():
    values = normal(10_000)
    holes = values.copy()
    holes[::2] = np.nan  # the same distribution where present, half of it missing
    report = cc.drift_report(pd.DataFrame({"x": values}), pd.DataFrame({"x": holes}))
    assert report.shifted == ("x",)
    assert report.features.loc[0, ["reference_missing", "current_missing"]].tolist() == [0.0, 0.5]


def test_bool_reference_column_is_categorical():
    report = cc.drift_report(pd.DataFrame({"flag": [True, False] * 50}), pd.DataFrame({"flag": [True] * 100}))
    assert report.features.at[0, "kind"] == "categorical"
    assert report.shifted == ("flag",)


def test_numbers_arriving_as_text_are_parsed():
    reference = pd.DataFrame({"x": normal(2_000)})
    current = pd.DataFrame({"x": [f" {v:.6f} " for v in reference["x"]]})
    current.loc[:99, "x"] = "n/a"  # 5% that does not parse counts as missing
    row = cc.drift_report(reference, current).features.iloc[0]
    assert row["kind"] == "numeric"
    assert row["current_missing"] == pytest.approx(0.05)
    assert row["current_mean"] == pytest.approx(reference["x"].iloc[100:].mean(), abs=1e-6)


# -- drift_report: columns and statuses --------------------------------------------------------------

def test_report_lists_missing_and_extra_columns_and_skips_target_and_id():
    frame = customers()
    roles = cc.detect_roles(frame)
    assert (roles.target, roles.id) == ("churn", "customer_id")
    current = frame.drop(columns=["churn", "customer_id", "contract"]).assign(promo_code="X")
    report = cc.drift_report(frame, current, roles=roles)
    assert set(report.features["feature"]) == {"tenure", "monthly_charges"}
    assert report.missing_columns == ("contract",)
    assert report.extra_columns == ("promo_code",)
    assert not report.ok


def test_without_roles_every_shared_column_is_compared():
    frame = customers()
    report = cc.drift_report(frame, frame)
    assert set(report.features["feature"]) == set(frame.columns)
    assert report.ok


def test_ignored_columns_are_skipped():
    frame = customers().assign(note="free text")
    roles = cc.detect_roles(frame).replace(ignored=("note", "contract"))
    report = cc.drift_report(frame, frame.drop(columns=["note"]), roles=roles)
    assert set(report.features["feature"]) == {"tenure", "monthly_charges"}
    assert report.missing_columns == ()


def test_columns_limits_the_comparison():
    frame = customers()
    report = cc.drift_report(frame, frame.drop(columns=["contract"]), columns=["tenure", "contract"])
    assert report.features["feature"].tolist() == ["tenure"]
    assert report.missing_columns == ("contract",)


@pytest.mark.parametrize(("warn", "alert", "status"), [
    pytest.param(0.1, 0.25, "shifted", id="defaults"),
    pytest.param(0.3, 0.5, "moderate", id="between-warn-and-alert"),
    pytest.param(0.5, 1.0, "stable", id="below-warn"),
    pytest.param(HAND_PSI, 1.0, "moderate", id="exactly-warn-is-moderate"),
    pytest.param(0.1, HAND_PSI, "shifted", id="exactly-alert-is-shifted"),
])
def test_status_follows_the_thresholds(warn, alert, status):
    report = cc.drift_report(pd.DataFrame({"x": [0] * 50 + [1] * 50}), pd.DataFrame({"x": [0] * 80 + [1] * 20}),
                             bins=2, warn=warn, alert=alert)
    assert report.features.at[0, "psi"] == pytest.approx(HAND_PSI)
    assert report.features.at[0, "status"] == status
    assert report.ok is (status != "shifted")


def test_p_value_is_the_chi_square_test_on_the_psi_bins():
    report = cc.drift_report(pd.DataFrame({"x": [0] * 50 + [1] * 50}), pd.DataFrame({"x": [0] * 80 + [1] * 20}),
                             bins=2)
    assert HAND_P == pytest.approx(8.7e-6, rel=0.01)
    assert report.features.at[0, "p_value"] == pytest.approx(HAND_P, rel=1e-9)
    assert report.p_threshold == 0.01  # one feature: alpha itself


def test_p_value_with_several_bins_matches_scipy():
    from scipy.stats import chi2_contingency

    reference = ["month"] * 50 + ["year"] * 30 + ["two_year"] * 20
    current = ["month"] * 60 + ["year"] * 25 + ["two_year"] * 15
    report = cc.drift_report(pd.DataFrame({"contract": reference}), pd.DataFrame({"contract": current}))
    expected = chi2_contingency([[50, 30, 20], [60, 25, 15]], correction=False).pvalue
    assert report.features.at[0, "p_value"] == pytest.approx(expected, rel=1e-9)
    assert 0.3 < expected < 0.4


@pytest.mark.parametrize(("alpha", "status"), [
    pytest.param(0.01, "shifted", id="p-below-alpha"),
    pytest.param(HAND_P * 1.01, "shifted", id="p-just-below-alpha"),
    pytest.param(HAND_P * 0.99, "noise", id="p-just-above-alpha"),
    pytest.param(1e-6, "noise", id="p-above-alpha"),
])
def test_a_material_psi_within_noise_is_not_shifted(alpha, status):
    report = cc.drift_report(pd.DataFrame({"x": [0] * 50 + [1] * 50}), pd.DataFrame({"x": [0] * 80 + [1] * 20}),
                             bins=2, alpha=alpha)
    assert report.features.at[0, "psi"] > report.alert
    assert report.features.at[0, "status"] == status
    assert report.shifted == (("x",) if status == "shifted" else ())


def test_alpha_is_divided_by_the_number_of_features():
    reference = pd.DataFrame({"x": [0] * 50 + [1] * 50})
    current = pd.DataFrame({"x": [0] * 80 + [1] * 20})
    # With 900 more features the per-feature threshold is 0.01 / 901, about 1.1e-5: still above 8.7e-6.
    # With 1200 it is 8.3e-6, below it, so x is no longer shifted.
    for extra, status in ((900, "shifted"), (1200, "noise")):
        same = pd.DataFrame(0, index=range(100), columns=[f"same_{i}" for i in range(extra)])
        report = cc.drift_report(pd.concat([reference, same], axis=1), pd.concat([current, same], axis=1), bins=2)
        assert report.p_threshold == pytest.approx(0.01 / (extra + 1))
        assert report.features.set_index("feature").at["x", "status"] == status


def test_few_rows_with_a_large_psi_are_noise():
    reference = pd.DataFrame({"x": normal(5_000)})
    report = cc.drift_report(reference, pd.DataFrame({"x": normal(12, seed=3)}))
    row = report.features.iloc[0]
    assert row["psi"] > 0.25  # PSI alone would call this a shift
    assert row["p_value"] > 0.05
    assert row["status"] == "noise" and report.shifted == ()


def test_rare_levels_are_pooled_before_the_test():
    # One of 20 current rows lands on a level the reference holds once in 1000 rows. Unpooled, that cell
    # alone (expected 0.04 rows) would give p below 1e-5; pooled with the smallest level it is noise.
    reference = pd.Series(["a"] * 500 + ["b"] * 499 + ["rare"])
    current = pd.Series(["a"] * 10 + ["b"] * 9 + ["rare"])
    row = cc.drift_report(pd.DataFrame({"c": reference}), pd.DataFrame({"c": current})).features.iloc[0]
    assert row["psi"] > 0.1
    assert row["p_value"] > 0.5
    assert row["status"] == "noise"
    # A new level that many current rows hold is still a shift after pooling.
    moved = pd.Series(["a"] * 35 + ["b"] * 35 + ["new"] * 30)
    report = cc.drift_report(pd.DataFrame({"c": reference}), pd.DataFrame({"c": moved}))
    assert report.shifted == ("c",)
    assert report.features.at[0, "p_value"] < 1e-10


def test_features_are_sorted_by_psi_and_to_dict_is_json():
    reference = pd.DataFrame({"same": normal(5_000), "moved": normal(5_000, seed=1), "gone": 1.0,
                              "text": ["a", "b"] * 2_500})
    current = pd.DataFrame({"same": normal(5_000, seed=2), "moved": normal(5_000, 1.0, seed=3),
                            "text": ["a"] * 5_000, "new": 0})
    report = cc.drift_report(reference, current)
    assert report.to_frame() is report.features
    assert report.features["psi"].is_monotonic_decreasing
    assert report.features["feature"].iloc[-1] == "same"
    assert report.shifted == tuple(report.features["feature"].iloc[:2])
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["ok"] is False
    assert (data["missing_columns"], data["extra_columns"]) == (["gone"], ["new"])
    assert (data["reference_rows"], data["current_rows"]) == (5_000, 5_000)
    text = next(f for f in data["features"] if f["name"] == "text")
    assert text["reference_mean"] is None and text["status"] == "shifted" and text["p_value"] < 1e-10
    assert {"name", "psi", "p_value", "status"} <= set(text) and "feature" not in text
    assert (data["alpha"], data["p_threshold"], data["churn_rate"]) == (0.01, 0.01 / 3, None)


# -- on the bundled sample ---------------------------------------------------------------------------

def test_bundled_random_halves_do_not_drift(bundled):
    order = np.random.default_rng(7).permutation(bundled.n_rows)
    half = bundled.n_rows // 2
    report = cc.drift_report(bundled.frame.iloc[order[:half]], bundled.frame.iloc[order[half:]],
                             roles=bundled.roles)
    assert report.shifted == ()
    assert report.ok
    assert bundled.roles.target not in set(report.features["feature"])
    assert len(report.features) == len(bundled.frame.columns) - 1


def test_bundled_scaled_usage_column_is_flagged(bundled):
    minutes = next(c for c in bundled.roles.numeric if re.search(r"day.*minutes", c))
    current = bundled.frame.drop(columns=[bundled.roles.target]).assign(**{minutes: bundled.frame[minutes] * 1.5})
    report = cc.drift_report(bundled, current)  # a Dataset: its roles drop the target
    assert report.shifted == (minutes,)
    assert report.features.at[0, "feature"] == minutes
    assert report.missing_columns == ()
    assert report.features.at[0, "current_mean"] == pytest.approx(1.5 * report.features.at[0, "reference_mean"])


def test_samples_of_the_training_file_are_not_flagged(bundled):
    # Before the noise test, PSI alone flagged 13 of these 20 samples (the 51-level state column).
    reports = [cc.drift_report(bundled, bundled.frame.sample(200, random_state=seed)) for seed in range(20)]
    flagged = [seed for seed, report in enumerate(reports) if report.shifted]
    assert len(flagged) <= 1, f"seeds flagged: {flagged}"
    state_psi = [report.features.set_index("feature").at["state", "psi"] for report in reports]
    assert sum(value >= 0.25 for value in state_psi) >= 10  # so the rule, not a small PSI, keeps them quiet
    assert all(report.churn_rate is not None and not report.churn_rate.changed for report in reports)


def test_top_quartile_of_day_minutes_is_flagged(bundled):
    minutes = next(c for c in bundled.roles.numeric if re.search(r"day.*minutes", c))
    frame = bundled.frame
    top = frame[frame[minutes] >= frame[minutes].quantile(0.75)].sample(200, random_state=0)
    report = cc.drift_report(bundled, top)
    assert minutes in report.shifted
    row = report.features.set_index("feature").loc[minutes]
    assert row["psi"] >= 0.25 and row["p_value"] < report.p_threshold
    assert report.features.set_index("feature").at["state", "status"] != "shifted"


# -- the churn rate ----------------------------------------------------------------------------------

def test_all_churners_change_the_churn_rate(bundled):
    target = bundled.roles.target
    churners = bundled.frame[bundled.frame[target] == 1].sample(200, random_state=0)
    change = cc.drift_report(bundled, churners).churn_rate
    assert change.reference == pytest.approx(bundled.frame[target].mean())
    assert (change.current, change.reference_rows, change.current_rows) == (1.0, bundled.n_rows, 200)
    assert change.p_value < 1e-50
    assert change.changed


def test_a_random_sample_keeps_the_churn_rate(bundled):
    target = bundled.roles.target
    sample = bundled.frame.sample(200, random_state=0)
    change = cc.drift_report(bundled, sample).churn_rate
    assert change.current == pytest.approx(sample[target].mean())
    assert change.p_value > 0.01 and not change.changed
    assert change.to_frame().loc[0, ["reference", "current", "p_value"]].tolist() == [
        change.reference, change.current, change.p_value]


def test_churn_rate_p_value_is_the_two_proportion_test():
    reference = pd.DataFrame({"x": range(100), "churn": [1] * 50 + [0] * 50})
    current = pd.DataFrame({"x": range(100), "churn": [1] * 80 + [0] * 20})
    roles = cc.ColumnRoles(target="churn", positive_label="1")
    change = cc.drift_report(reference, current, roles=roles).churn_rate
    assert (change.reference, change.current) == (0.5, 0.8)
    assert change.p_value == pytest.approx(HAND_P, rel=1e-9)


def test_without_a_target_in_the_current_file_there_is_no_churn_rate(bundled):
    current = bundled.frame.drop(columns=[bundled.roles.target]).sample(200, random_state=0)
    report = cc.drift_report(bundled, current)
    assert report.churn_rate is None
    assert report.to_dict()["churn_rate"] is None


def test_raw_target_labels_are_coded_with_the_current_roles(bundled):
    target = bundled.roles.target
    sample = bundled.frame.sample(300, random_state=1)
    raw = sample.assign(**{target: np.where(sample[target] == 1, "Left", "Stayed")})
    # By default the reference's label ("yes") is used: no row says "yes", so the rate would read 0.
    assert cc.drift_report(bundled, raw).churn_rate.current == 0.0
    change = cc.drift_report(bundled, raw, current_roles=bundled.roles.replace(positive_label="left")).churn_rate
    assert change.current == pytest.approx(sample[target].mean())
    assert change.current > 0


# -- errors ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("options", "message"), [
    pytest.param({"bins": 1}, "The 'bins' parameter of drift_report must be at least 2. Got 1 instead.",
                 id="bins-1"),
    pytest.param({"bins": 2.5}, "The 'bins' parameter of drift_report must be a whole number. Got 2.5 instead.",
                 id="bins-float"),
    pytest.param({"warn": 0.3, "alert": 0.2}, "The 'warn' parameter of drift_report must be below 'alert' (0.2). "
                 "Got 0.3 instead.", id="warn-above-alert"),
    pytest.param({"warn": 0.2, "alert": 0.2}, "must be below 'alert' (0.2). Got 0.2 instead.", id="warn-equals-alert"),
    pytest.param({"warn": -0.1}, "The 'warn' parameter of drift_report must be a number of at least 0. "
                 "Got -0.1 instead.", id="negative-warn"),
    pytest.param({"alert": float("nan")}, "The 'alert' parameter of drift_report must be a number of at least 0.",
                 id="nan-alert"),
    *[pytest.param({"alpha": value}, "The 'alpha' parameter of drift_report must be a number strictly between 0 "
                   f"and 1. Got {value!r} instead. Pass e.g. alpha=0.01.", id=f"alpha-{value!r}")
      for value in (0, 1, 1.5, -0.01, float("nan"), "0.01", True)],
])
def test_bad_parameters_raise(options, message):
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(cc.ParameterError, match=re.escape(message)) as caught:
        cc.drift_report(frame, frame, **options)
    assert caught.value.code == "bad_parameter"


def test_psi_rejects_bad_bins_and_empty_input():
    with pytest.raises(cc.ParameterError, match=re.escape("The 'bins' parameter of psi must be at least 2. Got 0")):
        cc.psi([1.0], [1.0], bins=0)
    with pytest.raises(cc.ParameterError, match="The 'actual' parameter of psi must hold at least one value"):
        cc.psi([1.0], [])


def test_no_shared_columns_raises_schema_error():
    reference = customers()
    with pytest.raises(cc.SchemaError, match=r"shares no feature columns .* \(reference columns: customer_id, "
                       r"tenure, monthly_charges, contract, churn; current columns: x, y\)\. Compare") as caught:
        cc.drift_report(reference, pd.DataFrame({"x": [1], "y": [2]}))
    assert caught.value.code == "no_shared_columns"
    # Sharing only the target (and the id) is sharing no feature.
    current = pd.DataFrame({"x": [1], "customer_id": ["C1"], "churn": ["no"]})
    with pytest.raises(cc.SchemaError, match=r"reference columns: tenure, monthly_charges, contract;") as caught:
        cc.drift_report(reference, current, roles=cc.detect_roles(reference))
    assert caught.value.code == "no_shared_columns"


@pytest.mark.parametrize(("reference", "current", "error", "message"), [
    pytest.param(pd.DataFrame({"x": [1.0]}), pd.DataFrame({"x": []}), cc.SchemaError,
                 "The current data has no rows", id="empty-current"),
    pytest.param(pd.DataFrame({"x": [1.0]}), [1.0], cc.ParameterError,
                 "The 'current' parameter of drift_report must be a Dataset or a DataFrame. Got list instead.",
                 id="not-a-frame"),
])
def test_unusable_tables_raise(reference, current, error, message):
    with pytest.raises(error, match=re.escape(message)):
        cc.drift_report(reference, current)


def test_unknown_column_in_columns_raises():
    frame = customers()
    with pytest.raises(cc.SchemaError, match=r"names columns that are not in the reference data: \['tenur'\]") as c:
        cc.drift_report(frame, frame, columns=["tenur"])
    assert c.value.code == "column_missing"
