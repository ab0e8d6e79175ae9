"""The seeded after-sales demo generator (churn_core/events/demo.py)."""

from __future__ import annotations

import gzip
import importlib.util
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn_core.errors import ParameterError
from churn_core.events.demo import VISIT_TYPES, AfterSalesDemo, CampaignEffect, generate_visits


@pytest.fixture(scope="module")
def demo() -> AfterSalesDemo:
    return generate_visits()


def _lapsed_by_the_log(demo: AfterSalesDemo, days: int = 180) -> tuple[pd.Timestamp, np.ndarray]:
    """Lapsed as the data alone shows it: no visit in the last ``days`` days of the log."""
    cut = pd.Timestamp(demo.end) - pd.Timedelta(days=days)
    last = demo.visits.groupby("customer_id", observed=True)["visit_date"].max()
    lapsed = (last <= cut).reindex(demo.customers["customer_id"]).fillna(True).to_numpy(bool)
    return cut, lapsed


def test_the_same_seed_gives_the_same_frames_and_another_seed_does_not():
    a, b = generate_visits(2_000, seed=3), generate_visits(2_000, seed=3)
    pd.testing.assert_frame_equal(a.visits, b.visits)
    pd.testing.assert_frame_equal(a.customers, b.customers)
    pd.testing.assert_frame_equal(a.lapses, b.lapses)
    c = generate_visits(2_000, seed=4)
    assert not c.visits.equals(a.visits)
    assert not c.customers["purchase_date"].equals(a.customers["purchase_date"])


def test_columns_dtypes_and_shapes(demo):
    v, c = demo.visits, demo.customers
    assert demo.to_frame() is v
    assert list(v.columns) == ["customer_id", "visit_date", "visit_type", "amount_cny", "complaint", "nps",
                               "first_time_fix"]
    assert list(c.columns) == ["customer_id", "purchase_date", "model", "region", "warranty_end"]
    assert len(c) == 20_000 and c["customer_id"].is_unique
    assert 100_000 < len(v) < 250_000  # a few visits a year per owner
    assert pd.api.types.is_datetime64_any_dtype(v["visit_date"])
    assert pd.api.types.is_datetime64_any_dtype(c["purchase_date"])
    assert pd.api.types.is_datetime64_any_dtype(c["warranty_end"])
    assert set(v["visit_type"].unique()) == set(VISIT_TYPES)
    assert v["amount_cny"].dtype == np.float64 and v["complaint"].dtype == bool
    assert v["nps"].dropna().between(0, 10).all() and 0.1 < v["nps"].notna().mean() < 0.6
    repairs = v["visit_type"] == "repair"
    assert v.loc[repairs, "first_time_fix"].notna().all() and v.loc[~repairs, "first_time_fix"].isna().all()
    assert 0.75 < v.loc[repairs, "first_time_fix"].astype(bool).mean() < 0.95
    returns = (v["amount_cny"] < 0).mean()
    assert 0 < returns < 0.01, returns  # a few returns and credits
    assert v.loc[v["amount_cny"] < 0, "visit_type"].isin(["parts", "accessories"]).all()
    assert 0.01 < v["complaint"].mean() < 0.1
    assert c["region"].nunique() > 5 and c["model"].nunique() > 3
    assert (c["warranty_end"] > c["purchase_date"] + pd.Timedelta(days=3 * 365 - 2)).all()


def test_dates_lie_in_the_log_and_every_owner_bought_before_their_first_visit(demo):
    v, c = demo.visits, demo.customers
    assert demo.end == date(2026, 9, 30) and demo.start == date(2026, 9, 30) - timedelta(days=1095)
    assert v["visit_date"].min() >= pd.Timestamp(demo.start)
    assert v["visit_date"].max() <= pd.Timestamp(demo.end)
    assert c["purchase_date"].max() < pd.Timestamp(demo.end)
    first = v.groupby("customer_id", observed=True)["visit_date"].min()
    assert first.index.nunique() == len(c)  # every customer has at least one visit
    purchase = c.set_index("customer_id")["purchase_date"].reindex(first.index)
    assert (purchase < first).all()
    assert v["customer_id"].is_monotonic_increasing  # sorted by customer, then date
    assert v.groupby("customer_id", observed=True)["visit_date"].apply(lambda s: s.is_monotonic_increasing).all()


def test_maintenance_comes_about_every_six_months(demo):
    v = demo.visits[demo.visits["visit_type"] == "maintenance"]
    gaps = v.groupby("customer_id", observed=True)["visit_date"].diff().dt.days.dropna()
    assert 150 < gaps.median() < 200


def test_about_a_third_of_the_customers_lapse(demo):
    truth = demo.lapses["lapse_date"].notna().mean()
    assert 0.25 <= truth <= 0.35, truth
    _, lapsed = _lapsed_by_the_log(demo)
    assert 0.25 <= lapsed.mean() <= 0.35, lapsed.mean()
    # the lapse date is really the end of the visits
    lapse = demo.lapses.dropna().set_index("customer_id")["lapse_date"]
    last = demo.visits.groupby("customer_id", observed=True)["visit_date"].max().reindex(lapse.index)
    assert (last < lapse).all()


def test_the_mechanism_shows_in_the_data(demo):
    cut, lapsed = _lapsed_by_the_log(demo)
    ids = demo.customers["customer_id"]
    before = demo.visits[demo.visits["visit_date"] <= cut]

    def ratio(flag) -> float:
        flag = np.asarray(flag, dtype=bool)
        assert 0.02 < flag.mean() < 0.9
        return lapsed[flag].mean() / lapsed[~flag].mean()

    past_warranty = (demo.customers["warranty_end"] <= cut).to_numpy()
    detractor = ids.isin(before.loc[before["nps"] <= 6, "customer_id"])
    failed = before.loc[before["first_time_fix"].eq(False).fillna(False), "customer_id"].value_counts()
    assert ratio(past_warranty) > 1.6
    assert ratio(detractor) > 1.4
    assert ratio(ids.isin(failed.index)) > 1.4
    assert ratio(ids.isin(failed[failed >= 2].index)) > ratio(ids.isin(failed.index))  # repeated failures: worse

    # falling visit frequency: the year before the cut has under half the visits of the year before that
    year = pd.Timedelta(days=365)
    recent = before[before["visit_date"] > cut - year]["customer_id"].value_counts()
    earlier = before[before["visit_date"].between(cut - 2 * year, cut - year, inclusive="right")]
    counts = pd.DataFrame({"recent": recent, "earlier": earlier["customer_id"].value_counts()}).reindex(ids).fillna(0)
    assert ratio((counts["earlier"] >= 2) & (counts["recent"] < counts["earlier"] / 2)) > 1.8

    # overdue maintenance: at the cut, more than 1.2 of the owner's own median service gap since the last service
    service = before[before["visit_type"] == "maintenance"].groupby("customer_id", observed=True)["visit_date"]
    usual = service.agg(lambda s: s.diff().dt.days.median())
    overdue = ((cut - service.max()).dt.days / usual).reindex(ids)
    assert ratio(overdue > 1.2) > 2.0


def test_twenty_thousand_customers_take_well_under_ten_seconds():
    started = time.perf_counter()
    generate_visits(20_000, seed=11)
    assert time.perf_counter() - started < 20  # loose: ~0.2 s on 2 shared cores


def test_other_sizes_spans_and_end_dates():
    d = generate_visits(500, years=1, seed=1, end=date(2025, 12, 31))
    assert len(d.customers) == 500 and d.customers["customer_id"].isin(d.visits["customer_id"]).all()
    assert d.visits["visit_date"].max() <= pd.Timestamp("2025-12-31")
    assert d.visits["visit_date"].min() >= pd.Timestamp("2025-01-01")


@pytest.mark.parametrize("kwargs, message", [
    ({"n_customers": 0}, "'n_customers' parameter of generate_visits must be a whole number of at least 1"),
    ({"n_customers": 2.5}, "'n_customers' .* Got 2.5"),
    ({"years": 0}, "'years' parameter"),
    ({"years": 50}, "at most 20"),
    ({"seed": "x"}, "'seed' parameter .* integer"),
    ({"end": "2026-09-30"}, "'end' parameter .* must be a date"),
])
def test_bad_parameters_are_refused(kwargs, message):
    with pytest.raises(ParameterError, match=message) as caught:
        generate_visits(**kwargs)
    assert caught.value.code == "bad_parameter"


def _script():
    path = Path(__file__).resolve().parent.parent / "scripts" / "make_demo_data.py"
    spec = importlib.util.spec_from_file_location("make_demo_data", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_script_writes_the_same_bytes_twice_and_they_read_back(tmp_path, capsys):
    script = _script()
    args = ["--customers", "300", "--seed", "5"]
    assert script.main([*args, "--out-dir", str(tmp_path / "a")]) == 0
    assert script.main([*args, "--out-dir", str(tmp_path / "b")]) == 0
    assert "300 customers" in capsys.readouterr().out
    for name in (script.VISITS_FILE, script.CUSTOMERS_FILE):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    demo = generate_visits(300, seed=5)
    visits = pd.read_csv(tmp_path / "a" / script.VISITS_FILE, parse_dates=["visit_date"])
    assert len(visits) == len(demo.visits)
    assert (visits["visit_date"] == demo.visits["visit_date"]).all()
    np.testing.assert_allclose(visits["amount_cny"], demo.visits["amount_cny"])
    customers = pd.read_csv(tmp_path / "a" / script.CUSTOMERS_FILE)
    assert customers["customer_id"].tolist() == demo.customers["customer_id"].tolist()


def test_the_committed_demo_files_are_what_the_generator_makes(tmp_path):
    # regenerate with `python scripts/make_demo_data.py` after changing the generator
    script = _script()
    assert script.main(["--out-dir", str(tmp_path)]) == 0
    data = Path(__file__).resolve().parent.parent / "data"
    for name in (script.VISITS_FILE, script.CUSTOMERS_FILE):
        committed = gzip.decompress((data / name).read_bytes())
        assert committed == gzip.decompress((tmp_path / name).read_bytes()), name


# -- after the log's end: extension, treatment, coupling ---------------------------------------------------

END = pd.Timestamp("2026-09-30")
EVERY_OTHER = [f"C{i:06d}" for i in range(1, 4_001, 2)]  # half of 4,000 customers


def _after(demo: AfterSalesDemo) -> pd.DataFrame:
    return demo.visits[demo.visits["visit_date"] > END].reset_index(drop=True)


def _no_visit_rate(demo: AfterSalesDemo, ids, days: int = 240) -> float:
    when = demo.visits["visit_date"]
    window = demo.visits[(when > END) & (when <= END + pd.Timedelta(days=days))]
    return float((~pd.Index(ids).isin(window["customer_id"].unique())).mean())


@pytest.fixture(scope="module")
def runs() -> dict[str, AfterSalesDemo]:
    return {"plain": generate_visits(4_000, seed=7), "untreated": generate_visits(4_000, seed=7, extend_days=270),
            "treated": generate_visits(4_000, seed=7, extend_days=270, treated=EVERY_OTHER)}


@pytest.mark.parametrize("run", ["untreated", "treated"])
def test_extending_the_log_leaves_its_history_byte_identical(runs, run):
    plain, extended = runs["plain"], runs[run]
    history = extended.visits[extended.visits["visit_date"] <= END].reset_index(drop=True)
    pd.testing.assert_frame_equal(history, plain.visits)
    pd.testing.assert_frame_equal(extended.customers, plain.customers)
    assert extended.end == plain.end == date(2026, 9, 30) and extended.start == plain.start
    assert plain.observed_end == plain.end
    assert extended.observed_end == date(2026, 9, 30) + timedelta(days=270)
    after = _after(extended)
    assert after["visit_date"].max() <= pd.Timestamp(extended.observed_end)
    assert after["visit_date"].min() <= END + pd.Timedelta(days=10)
    assert set(after["visit_type"]) == set(VISIT_TYPES)  # the log goes on as before
    assert len(after) > 0.6 * len(plain.visits) * 270 / 1096
    assert after["nps"].dropna().between(0, 10).all() and (after["amount_cny"] != 0).all()


def test_a_treatment_lowers_the_treated_no_visit_rate_and_only_theirs(runs):
    untreated, treated = runs["untreated"], runs["treated"]
    without, with_calls = _no_visit_rate(untreated, EVERY_OTHER), _no_visit_rate(treated, EVERY_OTHER)
    assert without - with_calls > 0.03, (without, with_calls)
    # coupled draws: the customers nobody called have exactly the same visits after the end in both runs
    def uncalled(demo):
        after = _after(demo)
        return after[~after["customer_id"].isin(EVERY_OTHER)].reset_index(drop=True)

    assert len(uncalled(untreated)) > 1_000
    pd.testing.assert_frame_equal(uncalled(untreated), uncalled(treated))
    # with hazard_factor <= 1 a call never loses a visit: every visit without it also happens with it
    key = ["customer_id", "visit_date", "visit_type"]
    merged = _after(untreated)[key].merge(_after(treated)[key], how="left", indicator=True)
    assert (merged["_merge"] == "both").all()


def test_win_back_revives_treated_owners_who_had_lapsed(runs):
    plain, treated = runs["plain"], runs["treated"]
    assert treated.won_back and set(treated.won_back) <= set(EVERY_OTHER)
    lapsed = plain.lapses.dropna().set_index("customer_id")["lapse_date"]
    assert set(treated.won_back) <= set(lapsed.index)
    lapsed_treated = lapsed.index.isin(EVERY_OTHER).sum()
    assert 0.05 < len(treated.won_back) / lapsed_treated < 0.3  # win_back 0.15 by default
    came_back = _after(treated).groupby("customer_id", observed=True)["visit_date"].min().reindex(treated.won_back)
    assert came_back.notna().mean() > 0.9 and (came_back.dropna() <= END + pd.Timedelta(days=100)).all()
    assert runs["untreated"].won_back == ()
    # nobody is won back without a call, and untreated lapsed owners stay away
    assert not _after(runs["untreated"])["customer_id"].isin(lapsed.index).any()


def test_a_treatment_without_effect_changes_nothing(runs):
    idle = generate_visits(4_000, seed=7, extend_days=270, treated=EVERY_OTHER,
                           effect=CampaignEffect(hazard_factor=1.0, win_back=0.0))
    pd.testing.assert_frame_equal(idle.visits, runs["untreated"].visits)
    pd.testing.assert_frame_equal(idle.lapses, runs["untreated"].lapses)
    again = generate_visits(4_000, seed=7, extend_days=270, treated=())
    pd.testing.assert_frame_equal(again.visits, runs["untreated"].visits)


def test_a_stronger_effect_keeps_more_treated_customers(runs):
    strong = generate_visits(4_000, seed=7, extend_days=270, treated=EVERY_OTHER,
                             effect=CampaignEffect(hazard_factor=0.2, win_back=0.5))
    assert _no_visit_rate(strong, EVERY_OTHER) < _no_visit_rate(runs["treated"], EVERY_OTHER) - 0.03


@pytest.mark.parametrize("kwargs, message", [
    ({"extend_days": -1}, "'extend_days' parameter of generate_visits must be a whole number of at least 0"),
    ({"extend_days": 1.5}, "'extend_days' .* Got 1.5"),
    ({"extend_days": 10_000}, "'extend_days' .* at most 3660"),
    ({"treated": ["C000001"]}, "'treated' parameter of generate_visits needs 'extend_days' above 0"),
    ({"extend_days": 30, "treated": ["C000001", "C999999"]}, "unknown ids such as \\['C999999'\\]"),
    ({"extend_days": 30, "treated": [5]}, "unknown ids such as \\['5'\\]"),
    ({"extend_days": 30, "treated": "C000001"}, "'treated' parameter .* collection of customer ids"),
    ({"extend_days": 30, "treated": ["C000001"], "effect": 0.5}, "'effect' parameter .* CampaignEffect or None"),
], ids=["negative", "fraction", "too-long", "treated-without-extension", "unknown-id", "integer-id", "one-string",
        "effect-not-a-campaign-effect"])
def test_bad_extension_parameters_are_refused(kwargs, message):
    with pytest.raises(ParameterError, match=message) as caught:
        generate_visits(100, **kwargs)
    assert caught.value.code == "bad_parameter"


@pytest.mark.parametrize("kwargs, message", [
    ({"hazard_factor": -0.1}, "'hazard_factor' parameter of CampaignEffect must be a number in \\[0, 10\\]"),
    ({"hazard_factor": "half"}, "'hazard_factor' .* Got 'half'"),
    ({"win_back": 1.2}, "'win_back' parameter of CampaignEffect must be a number in \\[0, 1\\]. Got 1.2"),
    ({"win_back": True}, "'win_back' .* Got True"),
], ids=["negative-factor", "text-factor", "win-back-above-one", "boolean"])
def test_bad_effects_are_refused(kwargs, message):
    with pytest.raises(ParameterError, match=message) as caught:
        CampaignEffect(**kwargs)
    assert caught.value.code == "bad_parameter" and caught.value.params["name"] in kwargs
