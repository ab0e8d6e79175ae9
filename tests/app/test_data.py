"""The Data page: upload, preview, checks, role mapping, drift, save, train, compare and promote."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

import churn_core as cc
from tests.app.conftest import texts
from tests.conftest import hostile_customers
from tests.test_store import small_dataset


def telco(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """An IBM-Telco-like export: another schema, Yes/No target, blank strings in TotalCharges."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 72, n)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.55, 0.25, 0.2])
    monthly = rng.uniform(20, 110, n).round(2)
    risk = 1 / (1 + np.exp(-(-1.0 + 1.6 * (contract == "Month-to-month") - 0.05 * tenure + 0.015 * monthly)))
    total = (monthly * tenure).round(2).astype(str)
    total[tenure == 0] = " "
    return pd.DataFrame({"customerID": [f"{i:04d}-ABCDE" for i in range(n)],
                         "gender": rng.choice(["Female", "Male"], n), "tenure": tenure, "Contract": contract,
                         "PaperlessBilling": rng.choice(["Yes", "No"], n), "MonthlyCharges": monthly,
                         "TotalCharges": total, "Churn": np.where(rng.random(n) < risk, "Yes", "No")})


def open_data(app, lang: str | None = None):
    if lang:
        app.session_state["lang"] = lang
    return app.run().switch_page("pages/data.py").run()


def upload(at, name: str, data: bytes, mime: str = "text/csv"):
    return at.file_uploader(key="upload").upload(name, data, mime).run()


def test_without_upload_the_versions_are_listed(app):
    at = open_data(app)
    assert not at.exception
    assert "Upload a file to begin" in texts(at)
    assert at.dataframe[0].value.iloc[0, 1] == "telecom_churn"


FORMATS = "CSV / TXT / TSV / GZ / ZIP / XLSX / XLSM / PARQUET"  # the uploader's types, as it lists them


@pytest.mark.parametrize(("lang", "button", "limits"), [
    ("en", "Browse files", "Drag and drop a file here · up to {mb} MB · " + FORMATS),
    ("zh", "选择文件", "将文件拖放到此处 · 单个文件不超过 {mb} MB · " + FORMATS),
])
def test_the_uploader_speaks_the_users_language_and_states_the_real_limit(app, lang, button, limits):
    """Streamlit's own uploader texts are English; the page replaces them (what the browser shows:
    tests/browser/test_uploader.py). The size is the one the widget, the server and churn_core enforce."""
    import tomllib

    from tests.app.conftest import ROOT

    at = open_data(app, lang)
    widget = at.file_uploader(key="upload").proto
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]
    mb = min(config, cc.DEFAULT_MAX_BYTES // 2**20)
    assert widget.max_upload_size_mb == mb
    assert f"{mb} MB" in widget.help  # the tooltip's "up to 200 MB" too
    [css] = [h.proto.body for h in at.get("html") if "stFileUploaderDropzone" in h.proto.body]
    assert f'content: "{button}"' in css and f'content: "{limits.format(mb=mb)}"' in css


def test_telco_export_end_to_end(app, app_db):
    at = open_data(app)
    frame = telco()
    at = upload(at, "telco.csv", frame.to_csv(index=False).encode())
    assert not at.exception
    assert next(s for s in at.selectbox if str(s.key).endswith("_target")).value == "Churn"
    store = cc.Store(app_db)
    assert store.active_version().version == 1  # nothing is saved before the analyst says so
    at = at.button(key="save").click().run()
    assert not at.exception
    active = store.active_version()
    assert active.version == 2 and active.rows == 600
    saved = store.load_dataset(2)
    assert saved.roles.id == "customerID" and saved.roles.target == "Churn" and saved.roles.positive_label == "yes"
    assert saved.target().sum() == (frame["Churn"] == "Yes").sum()
    at.multiselect(key="train_models").set_value(["logistic_regression"])
    at = at.button(key="train").click().run()
    assert not at.exception, at.exception
    run = store.list_runs()[-1]
    assert run.status == "complete" and run.dataset_version == 2
    assert "There is no champion yet" in texts(at)
    at = at.button(key="data_promote_button").click().run()
    assert store.champion().run_id == run.id and store.champion().model == "logistic_regression"


def test_a_file_the_checks_accept_trains_on_the_page(app, app_db):
    """Columns named a[1], b<2, a plan <basic> and ±inf passed the checks and then crashed XGBoost's training."""
    at = upload(open_data(app), "hostile.csv", hostile_customers().to_csv(index=False).encode())
    assert not at.exception
    warning = next(w.value for w in at.warning if "infinite values" in w.value)
    assert warning.startswith("Column") and "usage" in warning and "holds 2 infinite values" in warning
    at = at.button(key="save").click().run()
    at.multiselect(key="train_models").set_value(["xgboost"])
    at = at.button(key="train").click().run()
    assert not at.exception, at.exception
    run = cc.Store(app_db).list_runs()[-1]
    assert run.status == "complete" and run.dataset_version == 2
    entry = run.models[0]
    assert list(entry.features[:4]) == ["a[1]", "b<2", "service_calls[n]", "usage"]
    assert "plan=<basic>" in {row["feature"] for row in entry.importance}


@pytest.mark.parametrize(("body", "expected"), [
    ("id,plan,churn\n1,a,yes\n2,b,no\n3,a,maybe\n" * 1, "has 3 values"),
    ("id,calls,churn\n1,3,yes\n1,2,no\n2,5,no\n3,1,no\n", "rows share an id in column id"),
    ("id,calls,churn\n1,3,no\n2,2,no\n3,5,no\n", "has only one value"),
], ids=["three-valued-target", "duplicate-ids", "constant-target"])
def test_bad_upload_is_blocked_and_nothing_changes(app, app_db, body, expected):
    at = upload(open_data(app), "bad.csv", body.encode())
    assert not at.exception
    shown = "\n".join(e.value for e in at.get("error"))
    assert expected in shown and "cannot be saved until the errors above are fixed" in shown
    assert not [b for b in at.button if b.key == "save"]
    assert cc.Store(app_db).active_version().version == 1


@pytest.mark.parametrize(("data", "expected"), [
    (b"", "is empty"), (b"\x00\x01\x02\xff" * 200, "not a text table"), (b"a,b,churn\n", "no customer rows"),
], ids=["empty", "binary", "header-only"])
def test_unreadable_upload_says_why(app, app_db, data, expected):
    at = upload(open_data(app), "broken.csv", data)
    assert not at.exception
    assert expected in "\n".join(e.value for e in at.get("error"))
    assert cc.Store(app_db).active_version().version == 1


def test_gbk_upload_in_chinese(app):
    frame = telco(300).rename(columns={"Churn": "是否流失", "tenure": "在网月数", "customerID": "客户编号"})
    frame["是否流失"] = frame["是否流失"].map({"Yes": "是", "No": "否"})
    data = frame.to_csv(index=False, sep=";").encode("gbk")
    at = upload(open_data(app, lang="zh"), "导出.csv", data)
    assert not at.exception
    assert "1 · 预览（前 20 行）" in texts(at)
    target = next(s for s in at.selectbox if str(s.key).endswith("_target"))
    assert target.value == "是否流失"
    assert next(s for s in at.selectbox if "_positive_" in str(s.key)).value == "是"
    assert list(at.dataframe[0].value.columns)[:2] == ["客户编号", "gender"]


def bank(n: int = 150, seed: int = 1) -> pd.DataFrame:
    """A bank-like export: another schema again, an Exited 1/0 target."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"CustomerId": np.arange(15_600_000, 15_600_000 + n), "Age": rng.integers(18, 90, n),
                         "Balance": rng.uniform(0, 200_000, n).round(2), "Geography": rng.choice(["FR", "DE"], n),
                         "Exited": rng.choice([0, 1], n, p=[0.8, 0.2])})


def workbook(sheets: dict[str, pd.DataFrame]) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as book:
        for name, frame in sheets.items():
            frame.to_excel(book, sheet_name=name, index=False)
    return buffer.getvalue()


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_xlsx_with_two_sheets_asks_which_before_reading_anything(app):
    data = workbook({"About": pd.DataFrame({"note": ["read me"]}), "Customers": telco(200)})
    at = upload(open_data(app), "book.xlsx", data, XLSX)
    assert not at.exception
    assert "This workbook has 2 sheets" in texts(at)
    sheet = next(s for s in at.selectbox if str(s.key).startswith("sheet_"))
    assert (sheet.options, sheet.value) == (["About", "Customers"], None)  # nothing chosen, nothing read
    assert not at.dataframe and not at.metric and not at.get("status")
    at = sheet.select("Customers").run()
    assert not at.exception
    assert at.dataframe[0].value.shape == (20, 8)
    assert next(s for s in at.selectbox if str(s.key).endswith("_target")).value == "Churn"


def test_preview_roles_and_checks_follow_the_chosen_sheet_at_once(app):
    data = workbook({"Bank": bank(150), "Telco": telco(200)})
    at = upload(open_data(app), "two.xlsx", data, XLSX)
    at = next(s for s in at.selectbox if str(s.key).startswith("sheet_")).select("Bank").run()
    assert next(s for s in at.selectbox if str(s.key).endswith("_target")).value == "Exited"
    assert metric(at, "Rows") == "150"
    at = next(s for s in at.selectbox if str(s.key).startswith("sheet_")).select("Telco").run()
    assert not at.exception
    assert list(at.dataframe[0].value.columns) == list(telco(5).columns)
    assert next(s for s in at.selectbox if str(s.key).endswith("_target")).value == "Churn"  # not picked by hand
    assert metric(at, "Rows") == "200" and metric(at, "Columns") == "8"


def test_an_analyst_activates_an_older_version_and_the_sidebar_shows_it(app, app_db):
    at = open_data(app)  # the app seeds version 1, the bundled data
    store = cc.Store(app_db)
    store.save_dataset(small_dataset("february"))  # version 2, active
    at = at.run()
    assert "**february** · v2" in " ".join(m.value for m in at.sidebar.markdown)
    table = at.dataframe[0].value
    assert list(table["Target"]) == ["churn", "churn"] and list(table["Name"]) == ["february", "telecom_churn"]
    picker = at.selectbox(key="version_pick")
    assert picker.options[1].startswith("v1 · telecom_churn (telecom_churn.csv) · 5,000 rows")
    at = picker.select(2).run()
    assert not [b for b in at.button if b.key == "activate_version"]  # the active one needs no activation
    assert "february v2 is the active dataset." in texts(at)
    at = at.selectbox(key="version_pick").select(1).run()
    at = at.button(key="activate_version").click().run()
    assert not at.exception
    assert store.active_version().version == 1
    assert "**telecom_churn** · v1" in " ".join(m.value for m in at.sidebar.markdown)
    assert "telecom_churn v1 is the active dataset." in texts(at)


def test_an_analyst_trains_a_chosen_version_again(app, app_db):
    at = open_data(app)
    store = cc.Store(app_db)
    store.save_dataset(small_dataset("february", n=300), activate=False)  # version 2, not active
    at = at.run().selectbox(key="version_pick").select(2).run()
    assert not [b for b in at.button if b.key == "train"]  # nothing to train before asking
    at = at.button(key="retrain_version").click().run()
    assert "Training again on february v2." in texts(at)
    at.multiselect(key="train_models").set_value(["logistic_regression"])
    at = at.button(key="train").click().run()
    assert not at.exception, at.exception
    run = store.list_runs()[-1]
    assert (run.status, run.dataset_version) == ("complete", 2)
    assert store.active_version().version == 1  # training on a version does not activate it
    assert "There is no champion yet" in texts(at)
    assert at.checkbox(key="promote_activate_2").value is True  # the champion scores the active dataset
    at = at.button(key="data_promote_button").click().run()
    assert not at.exception, at.exception
    assert (store.champion().run_id, store.active_version().version) == (run.id, 2)
    assert "**february** · v2" in " ".join(m.value for m in at.sidebar.markdown)


def test_a_file_the_champion_cannot_score_is_not_activated_by_default(trained_app, trained_app_db):
    at = upload(open_data(trained_app), "telco.csv", telco().to_csv(index=False).encode())
    assert not at.exception
    warning = next(w.value for w in at.warning if w.value.startswith("The champion cannot score this file"))
    assert "number_customer_service_calls" in warning and "total_day_minutes" in warning
    assert warning.endswith("the pages would show it without risk scores until a model trained on it is promoted.")
    activate = next(c for c in at.checkbox if str(c.key).startswith("activate_"))
    assert activate.value is False
    at = at.button(key="save").click().run()
    store = cc.Store(trained_app_db)
    assert [v.version for v in store.list_datasets().versions] == [1, 2]
    assert store.active_version().version == 1  # the Risk page keeps data the champion can score


def test_picking_a_version_the_champion_cannot_score_says_so_before_activating(trained_app, trained_app_db):
    store = cc.Store(trained_app_db)
    frame = telco(300)
    store.save_dataset(cc.load_dataset(frame.to_csv(index=False).encode(), filename="telco.csv"), activate=False)
    at = open_data(trained_app).selectbox(key="version_pick").select(2).run()
    warning = next(w.value for w in at.warning if w.value.startswith("The champion cannot score this version"))
    assert "number_customer_service_calls" in warning
    at = at.selectbox(key="version_pick").select(1).run()  # the champion's own data: nothing to warn about
    assert not [w for w in at.warning if w.value.startswith("The champion cannot score")]


def test_a_file_the_champion_can_score_is_activated_by_default(trained_app):
    sample = pd.read_csv(cc.BUNDLED_CSV).sample(200, random_state=0)
    at = upload(open_data(trained_app), "sample.csv", sample.to_csv(index=False).encode())
    assert next(c for c in at.checkbox if str(c.key).startswith("activate_")).value is True
    assert not [w for w in at.warning if w.value.startswith("The champion cannot score")]


@pytest.mark.parametrize(("lang", "shifted", "churn"), [
    ("en", "features shifted against the champion's training data (PSI ≥ 0.25, beyond sampling noise): "
           "total_day_minutes, total_day_charge.", "a change beyond sampling noise (p < 0.001)"),
    ("zh", "个特征相对冠军模型的训练数据发生偏移（PSI ≥ 0.25，且超出抽样波动）：total_day_minutes, total_day_charge。",
     "变化超出抽样波动（p < 0.001）"),
])
def test_drift_flags_a_top_quartile_upload_and_its_churn_rate(trained_app, lang, shifted, churn):
    frame = pd.read_csv(cc.BUNDLED_CSV)
    minutes = frame["total_day_minutes"]
    top = frame[minutes >= minutes.quantile(0.75)].sample(200, random_state=0)
    top["churn"] = np.where(np.arange(200) < 100, "yes", "no")  # 50% churn against 14% in training
    at = upload(open_data(trained_app, lang=lang), "top.csv", top.to_csv(index=False).encode())
    assert not at.exception
    shown = texts(at)
    assert shifted in shown and churn in shown
    table = next(d.value for d in at.dataframe if "PSI" in d.value.columns)
    assert {"PSI", "p"} <= set(table.columns) and len(table) == len(frame.columns) - 1


def test_drift_keeps_quiet_on_a_random_sample(trained_app):
    sample = pd.read_csv(cc.BUNDLED_CSV).sample(200, random_state=0)
    at = upload(open_data(trained_app), "sample.csv", sample.to_csv(index=False).encode())
    assert not at.exception
    shown = texts(at)
    assert "No feature shifted against the champion's training data (dataset v1)." in shown
    assert "a difference within sampling noise (p = 0.292)" in shown
    status = next(d.value for d in at.dataframe if "PSI" in d.value.columns).set_index("Column")["Status"]
    assert status["state"] == "within noise"


def test_a_new_run_is_compared_with_the_champion_only_on_customers_it_never_saw(trained_app, trained_app_db):
    at = open_data(trained_app)
    at = upload(at, "telecom_churn.csv", cc.BUNDLED_CSV.read_bytes())
    at = at.button(key="save").click().run()  # the same file: the stored version is reused
    at.multiselect(key="train_models").set_value(["logistic_regression"])
    at = at.button(key="train").click().run()
    assert not at.exception, at.exception
    # the same seed splits the same way: the new holdout is the champion's, none of it seen by either
    assert "Compared on 1,500 holdout customers that neither the champion nor the new models were trained on " \
           "(0 left out because the champion trained on them)." in texts(at)
    assert "The current champion (XGBoost) still scores best on these customers" in texts(at)


def test_the_active_datasets_currency_is_chosen_on_the_data_page(app, app_db):
    from churn_core.money import CURRENCIES

    at = open_data(app)
    picker = at.selectbox(key="data_currency")
    assert picker.value == "$" and picker.label == "Currency of telecom_churn"
    picker.select_index(CURRENCIES.index("£")).run()
    assert not at.exception, at.exception
    store = cc.Store(app_db)
    assert store.currency(store.active_version().version) == "£"
    at.switch_page("pages/overview.py").run()
    assert {m.label: m.value for m in at.metric}["Value lost to churn"].startswith("£")
    assert any(c.value.endswith(", £) of the customers who churned.") for c in at.caption)


def test_an_upload_can_take_any_numeric_column_as_value_and_its_currency(app, app_db):
    from tests.conftest import bank_customers

    at = upload(open_data(app), "bank.csv", bank_customers(300, seed=5).to_csv(index=False).encode())
    assert not at.exception, at.exception
    value = next(m for m in at.multiselect if str(m.key).endswith("_value"))
    assert value.value == [] and "No value column" in texts(at)  # nothing guessed from Balance or salary
    value.set_value(["Balance"]).run()  # any numeric column the analyst picks
    assert "No value column" not in texts(at)
    at.selectbox(key=next(s.key for s in at.selectbox if str(s.key).startswith("currency_"))).set_value("€").run()
    at = at.button(key="save").click().run()
    assert not at.exception, at.exception
    store = cc.Store(app_db)
    active = store.active_version()
    assert store.load_dataset(active.version).roles.value == ("Balance",)
    assert store.currency(active.version) == "€"
