"""churn_core.scoring: champion scores, clear refusals, and formula-safe exports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import churn_core as cc
from churn_core.modeling import MODEL_NAMES
from churn_core.scoring import (
    PlaybookRule,
    RiskPolicy,
    RiskTier,
    assign_tiers,
    champion_model,
    neutralise_formulas,
    score_customers,
    score_dataset,
    write_csv,
    xlsx_bytes,
)
from tests.conftest import TRAIN_FAST, copy_db, hostile_customers


def test_cli_model_names_match_modeling():
    from churn_core.__main__ import MODEL_NAMES as CLI_NAMES
    assert CLI_NAMES == MODEL_NAMES


@pytest.mark.parametrize("cell", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=x"], ids=repr)
def test_formula_cells_are_neutralised(cell):
    out = neutralise_formulas(pd.DataFrame({"id": [cell, "ok"], "p": [0.5, 0.1]}))
    assert out["id"].tolist() == ["'" + cell, "ok"]
    assert out["p"].tolist() == [0.5, 0.1]


def test_negative_numbers_stay_numbers_and_headers_are_safe(tmp_path):
    frame = pd.DataFrame({"=evil": ["a"], "delta": [-3.5]})
    path = write_csv(frame, tmp_path / "out.csv")
    back = pd.read_csv(path, encoding="utf-8-sig")
    assert list(back.columns) == ["'=evil", "delta"] and back.at[0, "delta"] == -3.5


def test_scoring_without_a_champion_says_how_to_get_one(tmp_path, bundled):
    with pytest.raises(cc.NotFoundError, match="No champion model yet.*--promote"):
        score_customers(bundled, store=cc.Store(tmp_path / "s.duckdb"))


@pytest.fixture(scope="module")
def champion_store(trained_template, tmp_path_factory):
    """A copy of the session's trained database (XGBoost champion), kept by this module's tests."""
    store = cc.Store(copy_db(trained_template, tmp_path_factory.mktemp("score")))
    return store, store.load_dataset(1)


def test_scores_one_row_per_customer(champion_store):
    store, dataset = champion_store
    scores = score_customers(dataset, store=store)
    frame = scores.frame
    assert len(frame) == dataset.n_rows and frame["row"].tolist()[:3] == [0, 1, 2]
    assert frame["id"].tolist()[:3] == ["1", "2", "3"]  # no id column: 1-based row numbers
    assert frame["probability"].between(0, 1).all()
    churned = dataset.target().to_numpy() == 1
    assert frame["probability"][churned].mean() > 3 * frame["probability"][~churned].mean()
    # every customer still here has reasons; those who left have none (and no tier, priority or action)
    assert scores.explained == (~churned).sum() and frame.loc[~churned, "reason_3"].notna().all()
    assert frame.loc[churned, "reason_1"].isna().all() and (frame.loc[churned, "tier"] == "churned").all()
    assert frame.loc[churned, "priority"].isna().all() and frame.loc[churned, "action"].isna().all()
    assert (frame["status"] == np.where(churned, "churned", "active")).all()


def test_missing_model_columns_are_named(champion_store):
    store, dataset = champion_store
    frame = dataset.frame.drop(columns=["number_customer_service_calls", "churn"])
    other = cc.load_dataset(frame.to_csv(index=False).encode(), filename="f.csv", require_target=False)
    with pytest.raises(cc.SchemaError, match=r"lacks columns the champion model was trained on: "
                                             r"\['number_customer_service_calls'\]"):
        score_customers(other, store=store)


def test_column_fit_names_the_champion_columns_a_table_lacks(champion_store):
    store, dataset = champion_store
    model = cc.load_model(store.champion().entry.artifact, sha256=store.champion().entry.sha256)
    assert cc.column_fit(model, dataset.frame.columns) == cc.ColumnFit(())
    assert cc.column_fit(model, dataset.frame.columns).can_score
    fit = cc.column_fit(model, dataset.frame.columns.drop(["total_day_minutes", "number_customer_service_calls"]))
    assert fit.missing == ("number_customer_service_calls", "total_day_minutes") and not fit.can_score
    assert cc.column_fit(None, ["a"]).can_score  # no champion yet: nothing is lacking


# -- tiers, policy and priority -----------------------------------------------------------------------------

@pytest.mark.parametrize(("p", "tier"), [(1.0, "critical"), (0.8, "critical"), (0.7999, "high"), (0.6, "high"),
                                         (0.4, "medium"), (0.3999, "watch"), (0.2, "watch"), (0.1999, "low"),
                                         (0.0, "low")], ids=str)
def test_default_tiers_follow_after_sales_practice(p, tier):
    assert assign_tiers([p])[0] == tier


def test_custom_tiers_and_due_times():
    tiers = (RiskTier("urgent", 0.5, 12, "personal"), RiskTier("rest", 0.0, None, "none"))
    assert assign_tiers([0.49, 0.5], tiers=tiers).tolist() == ["rest", "urgent"]
    assert RiskPolicy(tiers=tiers).tier("urgent").due_hours == 12


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"tiers": (RiskTier("a", 0.2, None, "none"), RiskTier("b", 0.5, None, "none"))}, r"ordered.*Got \[0.2, 0.5\]"),
    ({"tiers": (RiskTier("a", 0.5, None, "none"), RiskTier("b", 0.1, None, "none"))}, r"last tier starting at 0"),
    ({"tiers": (RiskTier("a", 0.5, None, "phone"), RiskTier("b", 0.0, None, "none"))}, r"channel from"),
    ({"retention_likelihood": 1.5}, r"'retention_likelihood'.*\(0, 1\]. Got 1.5"),
    ({"contact_cost": 0}, r"'contact_cost'.*greater than 0. Got 0"),
    ({"likelihoods": (("retention_call", 1.2),)}, r"likelihood in \[0, 1\].*Got \('retention_call', 1.2\)"),
    ({"likelihoods": (("retention_call",),)}, r"\(action key, likelihood\) pair"),
], ids=["unordered", "no-zero", "bad-channel", "retention", "cost", "likelihood-above-1", "likelihood-not-a-pair"])
def test_bad_policies_are_refused_with_the_fix(kwargs, match):
    with pytest.raises(cc.ParameterError, match=match):
        RiskPolicy(**kwargs)


def test_priority_is_probability_times_value_times_retention_over_cost(champion_store):
    store, dataset = champion_store
    policy = RiskPolicy(retention_likelihood=0.4, contact_cost=8.0)
    frame = score_customers(dataset, store=store, policy=policy, explain="none").frame
    value = dataset.value().to_numpy()
    active = (frame["status"] == "active").to_numpy()
    assert np.allclose(frame["value"], value)
    assert np.allclose(frame["priority"][active], (frame["probability"] * value * 0.4 / 8.0)[active])
    assert frame["priority"][~active].isna().all()
    assert (frame["explained"] == False).all() and frame["reason_1"].isna().all()  # noqa: E712


def test_a_measured_likelihood_replaces_the_assumed_one_for_its_action_only(champion_store):
    store, dataset = champion_store
    policy = RiskPolicy(retention_likelihood=0.3, contact_cost=5.0, likelihoods=(("retention_call", 0.6),))
    frame = score_customers(dataset, store=store, policy=policy, explain="none").frame
    active = (frame["status"] == "active").to_numpy()
    measured = active & (frame["action"].astype(str) == "retention_call").to_numpy()
    assumed = active & ~measured
    assert measured.any() and assumed.any()
    expected = frame["probability"] * frame["value"] / 5.0
    assert np.allclose(frame["priority"][measured], (expected * 0.6)[measured])
    assert np.allclose(frame["priority"][assumed], (expected * 0.3)[assumed])
    plain = score_customers(dataset, store=store, policy=RiskPolicy(), explain="none").frame
    assert np.allclose(frame["priority"][measured], 2 * plain["priority"][measured])


def test_constant_ltv_when_there_is_no_value_column(champion_store):
    store, dataset = champion_store
    frame = score_customers(dataset, store=store, explain="none").frame
    roles = dataset.roles.replace(value=())
    no_value = cc.Dataset(frame=dataset.frame, roles=roles, name="nv", report=dataset.report)
    scored = score_customers(no_value, store=store, policy=RiskPolicy(ltv=500.0), explain="none")
    assert (scored.frame["value"] == 500.0).all() and (scored.frame["value_band"] == "n/a").all()
    active = (frame["status"] == "active").to_numpy()
    shown = scored.frame["probability"]  # a copy without its value column is another dataset: the final fit
    assert np.allclose(scored.frame["priority"][active], (shown * 500.0 * 0.3 / 5.0)[active])
    assert (scored.frame["scored_by"] == "final").all()


def test_no_value_is_invented_without_a_value_column(champion_store):
    store, dataset = champion_store
    no_value = cc.Dataset(frame=dataset.frame, roles=dataset.roles.replace(value=()), name="nv", report=dataset.report)
    scored = score_customers(no_value, store=store, explain="none")  # the default policy: no value entered
    assert RiskPolicy().ltv is None
    assert scored.frame["value"].isna().all() and not scored.has_value and not scored.has_value_column
    assert not (scored.frame["value"] == 1000.0).any()
    active = scored.active
    priority, probability = scored.frame["priority"][active], scored.frame["probability"][active]
    assert priority.nunique() > 1  # not one constant rank for everyone
    assert (priority.rank(method="min") == probability.rank(method="min")).all()  # ranked by probability alone
    selection = cc.filter_customers(scored)
    assert selection.value_at_risk is None
    top = selection.table(sort="priority", limit=20)["probability"].to_numpy()
    assert (np.diff(top) <= 0).all() and top[0] == probability.max()


def test_playbook_actions_follow_reasons_and_tiers(champion_store):
    store, dataset = champion_store
    frame = score_customers(dataset, store=store).frame
    low = frame["tier"].isin(["low"])
    assert (frame.loc[low, "action"] == "none").all()
    assert (frame.loc[frame["tier"] == "watch", "action"] == "monitor").all()
    contact = frame[frame["tier"].isin(["critical", "high", "medium"])]
    calls = dataset.roles.service_calls
    by_calls = contact[(contact["reason_1"] == calls) & (contact["reason_1_points"] > 0)]
    assert len(by_calls) > 0 and (by_calls["action"] == "senior_agent").all()
    intl = contact[(contact["reason_1"] == "international_plan") & (contact["reason_1_value"] == "yes")]
    assert len(intl) > 0 and (intl["action"] == "plan_review").all()
    assert set(contact["action"]) <= {r.key for r in cc.DEFAULT_PLAYBOOK} | {"retention_call", "automated_care"}


def test_a_custom_playbook_rule_takes_over(champion_store):
    store, dataset = champion_store
    rule = PlaybookRule(key="callback", ref="@service_calls", en="Call back", zh="回电")
    scored = score_customers(dataset, store=store, policy=RiskPolicy(playbook=(rule,)))
    assert "callback" in set(scored.frame["action"]) and scored.policy.action_text("callback", lang="zh") == "回电"


def test_explain_budget_explains_the_riskiest_first(champion_store):
    store, dataset = champion_store
    scored = score_customers(dataset, store=store, explain=25)
    active = scored.frame[scored.frame["status"] == "active"]
    riskiest = active["probability"].sort_values(ascending=False, kind="stable").index[:25]
    assert scored.explained == 25 and scored.frame.loc[riskiest, "explained"].all()
    pending = active[~active["explained"]]
    assert cc.unexplained_rows(scored, limit=3).tolist() == list(
        pending.sort_values("probability", ascending=False, kind="stable").index[:3])


def test_reasons_are_deterministic(champion_store):
    store, dataset = champion_store
    a = score_customers(dataset, store=store, explain=200).frame
    b = score_customers(dataset, store=store, explain=200).frame
    pd.testing.assert_frame_equal(a, b)


def test_stored_scores_are_reused_and_completed_on_demand(champion_store, tmp_path):
    _, dataset = champion_store
    store, _ = champion_store
    first = score_dataset(dataset, store=store, explain=10)
    again = score_dataset(dataset, store=store)
    assert again.score_set == first.score_set and again.explained == 10
    pd.testing.assert_series_equal(again.frame["probability"], first.frame["probability"])
    entry = store.champion().entry
    model = cc.load_model(entry.artifact, sha256=entry.sha256)
    more = cc.explain_rows(again, cc.unexplained_rows(again, limit=5), model=model, store=store)
    assert more.explained == 15 and store.score_set(first.score_set).explained == 15
    fresh = score_dataset(dataset, store=store, reuse=False)
    assert fresh.score_set != first.score_set and len(store.list_score_sets(dataset_version=dataset.version)) >= 2


def test_score_dataset_needs_a_stored_version(champion_store, bundled):
    store, _ = champion_store
    with pytest.raises(cc.ParameterError, match="needs a stored dataset version.*use score_customers"):
        score_dataset(bundled, store=store)


def test_xlsx_export_keeps_formulas_as_text():
    import io

    import openpyxl

    data = xlsx_bytes(pd.DataFrame({"id": ["=HYPERLINK(\"x\")", "@SUM(A1)", "ok"], "p": [0.9, -0.5, 0.1]}))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[1][0] == "'=HYPERLINK(\"x\")" and cells[2][0] == "'@SUM(A1)" and cells[2][1] == -0.5
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)



def test_xlsx_export_freezes_filters_fits_and_formats():
    import io

    import openpyxl

    frame = pd.DataFrame({"note": ["x" * 200, "short"], "p": [0.125, 0.5], "amount": [1234567.891, 2.0]})
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(frame, number_formats={"p": "0.0%",
                                                                               "amount": "#,##0.00"}))).active
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:C3"
    assert sheet.column_dimensions["A"].width == 60  # capped
    assert sheet.column_dimensions["C"].width >= len("1,234,567.89")
    assert sheet["B2"].number_format == "0.0%" and sheet["B2"].value == 0.125
    assert sheet["C3"].number_format == "#,##0.00" and sheet["A2"].number_format == "General"
    with pytest.raises(cc.ParameterError, match=r"'number_formats' parameter names columns the table does not "
                                                r"have: \['prob'\]"):
        xlsx_bytes(frame, number_formats={"prob": "0%"})


def test_a_new_policy_rederives_tiers_without_the_model(champion_store):
    store, dataset = champion_store
    scored = score_customers(dataset, store=store, explain=50)
    strict = RiskPolicy(tiers=(RiskTier("act", 0.1, 48, "personal"), RiskTier("rest", 0.0, None, "none")))
    again = scored.with_policy(strict)
    active = scored.frame["status"] == "active"
    assert (again.frame["tier"] == "act").sum() == ((scored.frame["probability"] >= 0.1) & active).sum()
    assert (again.frame.loc[~active, "tier"] == "churned").all()
    pd.testing.assert_series_equal(again.frame["reason_1"], scored.frame["reason_1"])


# -- who is scored, by which fit (the bundled data, trained as the app does) ---------------------------------

@pytest.fixture(scope="module")
def honest(trained_run, tmp_path_factory):
    """The session's trained run (beta calibration, 3 folds, XGBoost champion) in a copy of its database, scored;
    with the champion's training result."""
    store = cc.Store(copy_db(trained_run.template, tmp_path_factory.mktemp("honest")))
    stored = store.load_dataset(1)
    champion = next(m for m in trained_run.result.models if m.name == store.champion().model)
    return store, stored, trained_run.result, champion, score_dataset(stored, store=store)


def test_no_churned_customer_is_called_or_tiered(honest):
    _, dataset, _, _, scored = honest
    churned = dataset.target().to_numpy() == 1
    assert scored.churned == churned.sum() and not scored.active[churned].any()
    selection = cc.filter_customers(scored)
    assert selection.customers == (~churned).sum()
    assert not churned[selection.rows(limit=None)].any()
    assert selection.expected_churners == pytest.approx(scored.frame["probability"][~churned].sum())
    assert sum(scored.tier_counts().values()) == (~churned).sum()
    apart = cc.filter_customers(scored, where=cc.RiskFilter(status="churned"))
    assert apart.customers == churned.sum()


def test_each_training_customer_is_scored_by_a_fit_that_did_not_see_them(honest):
    store, dataset, result, model, scored = honest
    frame = scored.frame
    by = frame["scored_by"].to_numpy()
    assert (by[result.test_index] == "holdout").all() and (by[result.train_index] == "oof").all()
    # the training split's probabilities are the out-of-fold ones, the holdout's the holdout predictions
    np.testing.assert_allclose(frame["probability"].to_numpy()[result.train_index], model.oof_proba, atol=1e-9)
    np.testing.assert_allclose(frame["probability"].to_numpy()[result.test_index], model.test_proba, atol=1e-9)
    # so their AUC against the labels is close to the holdout's, not the in-sample 0.99
    from sklearn.metrics import roc_auc_score

    auc = roc_auc_score(dataset.target(), frame["probability"])
    assert abs(auc - model.holdout.roc_auc) < 0.03 and auc < 0.96
    assert scored.scoring == "out_of_sample"


def test_probabilities_keep_their_resolution_and_are_never_certain(honest):
    *_, model, scored = honest
    p = scored.frame["probability"].to_numpy()
    assert p.min() >= 0.005 and p.max() <= 0.995 and not ((p == 0) | (p == 1)).any()
    assert len(np.unique(p)) >= min(len(p), 500)
    assert model.holdout.log_loss <= model.uncalibrated.log_loss + 0.002


def test_reasons_add_up_to_the_probability_shown(honest):
    *_, scored = honest
    frame = scored.frame[scored.active]
    total = frame[["reason_1_points", "reason_2_points", "reason_3_points", "other_points"]].sum(axis=1)
    assert frame["reason_1"].notna().all()
    assert np.abs(scored.base_probability + total - frame["probability"]).max() < 0.005
    assert scored.base_probability == pytest.approx(scored.frame["probability"].mean(), abs=0.005)
    # risk-raising reasons come first; a protective driver is only listed apart or to fill the list
    first, second = frame["reason_1_points"].to_numpy(), frame["reason_2_points"].to_numpy()
    assert ((first >= second) | (second < 0)).all()
    assert (frame["protective_points"].dropna() < 0).all()


def test_twin_columns_are_one_driver(honest):
    *_, scored = honest
    reasons = set(scored.frame[[f"reason_{k}" for k in (1, 2, 3)]].stack())
    # day minutes, day charge and total charge are one fact: only their lead is ever a reason
    assert "total_day_charge" not in reasons and "total_day_minutes" not in reasons
    assert "total_charge" in reasons


def test_a_file_the_run_never_saw_is_scored_by_the_final_fit(honest, report_test):
    store, *_ = honest
    unseen = cc.load_dataset(report_test, require_target=False)
    scored = score_customers(unseen, store=store)
    assert scored.scoring == "final" and (scored.frame["scored_by"] == "final").all()
    assert scored.churned == 0 and scored.explained == unseen.n_rows


def test_a_bank_export_in_another_schema_is_scored_just_as_honestly(tmp_path):
    """The same rules on a generated file of another shape (ids, a row number, Exited), with the forest: the
    slowest explainer, which used to leave half the customers without reasons."""
    from tests.conftest import bank_customers

    frame = bank_customers(2000, seed=11)
    store = cc.Store(tmp_path / "bank.duckdb")
    raw = frame.to_csv(index=False).encode()
    stored = store.load_dataset(store.save_dataset(cc.load_dataset(raw, filename="bank.csv")).version)
    _, result = cc.run_training(store, stored, promote=True, models=("random_forest",), cv_folds=3)
    scored = score_dataset(stored, store=store, explain_budget_s=1.0)  # exact for 1 s, tree paths after
    f, exited = scored.frame, frame["Exited"].to_numpy() == 1
    assert scored.churned == exited.sum() and (f.loc[exited, "tier"] == "churned").all()
    assert not exited[cc.filter_customers(scored).rows(limit=None)].any()
    assert set(f["scored_by"]) == {"oof", "holdout"} and f.loc[~exited, "reason_1"].notna().all()
    p = f["probability"].to_numpy()
    assert 0.005 <= p.min() and p.max() <= 0.995 and len(np.unique(p)) >= 500
    total = f[["reason_1_points", "reason_2_points", "reason_3_points", "other_points"]].sum(axis=1)
    assert np.abs(scored.base_probability + total - f["probability"])[~exited].max() < 0.005
    reasons = set(f[["reason_1", "reason_2", "reason_3"]].stack())
    assert "RowNumber" not in reasons and "CustomerId" not in reasons and "Age" in reasons
    people = cc.call_list_for_people(cc.filter_customers(scored), limit=5).frame  # the page's export
    assert people.columns[0] == "Customer ID" and set(people["Customer ID"]) <= set(frame["CustomerId"].astype(str))
    model = result.models[0]
    assert model.holdout.log_loss <= model.uncalibrated.log_loss + 0.002


def test_a_champion_trained_on_hostile_names_loads_and_scores_a_new_file(tmp_path):
    """Columns named ``a[1]``, ``b<2``, a plan ``<basic>`` and ±inf: the saved model (skops) loads, and a new file
    goes through the same safe names, so its scores are the loaded model's."""
    store = cc.Store(tmp_path / "hostile.duckdb")
    frame = hostile_customers()
    dataset = cc.load_dataset(frame.to_csv(index=False).encode(), filename="hostile.csv")
    version = store.save_dataset(dataset).version
    cc.run_training(store, store.load_dataset(version), promote=True, artifact_root=tmp_path / "models", **TRAIN_FAST)
    new = cc.load_dataset(frame.drop(columns="churn").head(40).to_csv(index=False).encode(), filename="new.csv",
                          require_target=False)
    assert [(i.code, i.column) for i in new.report.warnings if i.code == "infinite_values"] == [
        ("infinite_values", "usage")]
    scored = score_customers(new, store=store)
    _, loaded = champion_model(store)
    np.testing.assert_allclose(scored.frame["probability"], loaded.predict_proba(new.frame)[:, 1])
    assert set(scored.frame["reason_1"]) <= {"a[1]", "b<2", "service_calls[n]", "usage", "plan"}
    assert "service_calls[n]" in set(scored.frame["reason_1"])
