"""The Risk page over a large score set: with the champion's scores registered as a 300k-row Parquet set, the
page takes the SQL path (never loads the dataset nor scores in pandas), its KPIs are the SQL aggregates, and
its pager and tier filter work, in English and Chinese."""

from __future__ import annotations

import pytest

import churn_core as cc
from churn_core.risk_sql import LargeFilter, LargeScores
from tests.app.conftest import texts
from tests.test_risk_sql import make_large_scores
from ui import state

ROWS = 300_000


@pytest.fixture(scope="module")
def large_parquet(tmp_path_factory):
    """A 300k-row generated score set as Parquet (written once for the module); (folder, files)."""
    out = tmp_path_factory.mktemp("large_app") / "scores"
    return out, make_large_scores().write_scores(out, rows=ROWS, seed=11, chunk_rows=100_000)


@pytest.fixture
def large_db(trained_app_db, large_parquet, monkeypatch):
    """The trained app database whose champion's score set of the active dataset is the large one; the pandas
    scoring and the page's dataset load are made to fail, so the page must not touch them (the sidebar, drawn
    by app.py on every page, still reads the active dataset)."""
    out, files = large_parquet
    store = cc.Store(trained_app_db)
    champion = store.champion()
    meta = store.save_score_set_meta(champion.run_id, champion.model, 1, rows=ROWS)
    store.register_parquet("scores", meta.id, str(out), rows=ROWS, partitions=files)

    def refuse(*args, **kwargs):
        raise AssertionError("the large Risk page must not score or load the dataset in pandas")

    for name in ("scored", "scored_by_champion", "scored_under_policy", "scoring_dataset", "champion_fit"):
        monkeypatch.setattr(state, name, refuse)
    monkeypatch.setattr(cc, "score_dataset", refuse)
    return trained_app_db, LargeScores.from_parquet(str(out))


def open_risk(app, lang: str):
    app.session_state["lang"] = lang
    return app.run().switch_page("pages/risk.py").run()


def metrics(at) -> list[str]:
    return [m.value for m in at.metric]


@pytest.mark.parametrize(("lang", "words"), [
    ("en", {"rows": "Rows 1–500 of {total}", "page2": "Rows 501–1,000 of {total}", "tier": "Critical",
            "customers": "Customers"}),
    ("zh", {"rows": "第 1–500 行，共 {total} 行", "page2": "第 501–1,000 行，共 {total} 行", "tier": "极高",
            "customers": "客户数"}),
])
def test_the_page_filters_and_pages_the_large_set_in_sql(trained_app, large_db, lang, words):
    _, scores = large_db
    at = open_risk(trained_app, lang)
    assert not at.exception, at.exception
    everyone = scores.kpis(LargeFilter())
    assert everyone.customers > 250_000
    total = f"{everyone.customers:,}"
    assert metrics(at)[0] == total and metrics(at)[3] == f"{everyone.due_within_72h:,}"
    assert metrics(at)[1] == f"{round(everyone.expected_churners):,}"  # whole customers
    assert {m.label for m in at.metric} >= {words["customers"]}
    shown = texts(at)
    assert words["rows"].format(total=total) in shown
    table = at.dataframe[0].value
    expected = scores.page(LargeFilter(), sort="priority", limit=500).frame
    assert len(table) == 500 and table.iloc[:, 0].tolist() == expected["customer_id"].tolist()

    at.number_input(key="risk_large_page").set_value(2).run()
    assert not at.exception, at.exception
    assert words["page2"].format(total=total) in texts(at)
    second = scores.page(LargeFilter(), sort="priority", limit=500, offset=500).frame
    assert at.dataframe[0].value.iloc[:, 0].tolist() == second["customer_id"].tolist()

    at.multiselect(key="risk_lf_tier").set_value(["critical"]).run()
    assert not at.exception, at.exception
    critical = scores.kpis(LargeFilter(tiers=("critical",)))
    assert 0 < critical.customers < everyone.customers
    assert metrics(at)[0] == f"{critical.customers:,}"
    assert at.number_input(key="risk_large_page").value == 1  # a new filter shows its first page
    shown = scores.page(LargeFilter(tiers=("critical",)), limit=500).frame
    assert at.dataframe[0].value.iloc[:, 0].tolist() == shown["customer_id"].tolist()
    assert set(at.dataframe[0].value.iloc[:, 2]) == {words["tier"]}


def test_a_small_champion_score_set_keeps_the_pandas_page(trained_app):
    at = open_risk(trained_app, "en")
    assert not at.exception, at.exception
    assert not [n for n in at.number_input if n.key == "risk_large_page"]
    assert "risk_f_tier" in {m.key for m in at.multiselect}


def test_a_filter_change_goes_back_to_the_first_page(trained_app, large_db):
    _, scores = large_db
    at = open_risk(trained_app, "en")
    at.number_input(key="risk_large_page").set_value(3).run()
    assert "Rows 1,001–1,500 of" in texts(at)
    at.segmented_control(key="risk_large_sort").set_value("value").run()
    assert at.number_input(key="risk_large_page").value == 1
    by_value = scores.page(LargeFilter(), sort="value", limit=500).frame
    assert at.dataframe[0].value.iloc[:, 0].tolist() == by_value["customer_id"].tolist()
    at.number_input(key="risk_large_page").set_value(2).run()
    at.multiselect(key="risk_lf_tier").set_value(["critical"]).run()
    at.selectbox(key="risk_lf_status").set_value("churned").run()  # the critical tier holds nobody who left
    assert not at.exception, at.exception
    assert metrics(at)[0] == "0" and at.number_input(key="risk_large_page").value == 1
    assert at.dataframe[0].value.empty


def test_the_csv_export_is_the_filtered_customers_with_a_bom(large_db):
    from ui.risk_large_views import export_csv

    _, scores = large_db
    data = export_csv(scores, LargeFilter(tiers=("critical",)), "probability")
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data[3:].decode("utf-8").splitlines()
    assert lines[0].startswith("customer_id,probability,")
    expected = scores.page(LargeFilter(tiers=("critical",)), sort="probability", limit=10_000).frame
    assert [line.split(",")[0] for line in lines[1:]] == expected["customer_id"].tolist()
