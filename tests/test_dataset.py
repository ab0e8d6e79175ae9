"""churn_core.dataset: load_dataset and inspect_table on good and bad files, and the Dataset they return."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import churn_core as cc

CHINESE_COLUMNS = ["客户编号", "套餐", "客服来电次数", "是否流失"]


def rows(n: int = 120, *, target: str = "churn", values=("yes", "no"), every: int = 4, **extra) -> list[dict]:
    """n customers; every ``every``-th one has values[0] in the target, the others values[1]."""
    out = []
    for i in range(n):
        row = {"customer_id": f"C{i:04d}", "plan": "basic" if i % 3 else "premium", "calls": i % 7,
               target: values[0] if i % every == 0 else values[1]}
        row.update({k: v(i) if callable(v) else v for k, v in extra.items()})
        out.append(row)
    return out


def chinese_csv(n: int = 120) -> str:
    lines = [",".join(CHINESE_COLUMNS)]
    for i in range(n):
        lines.append(f"C{i:04d},{'基础套餐' if i % 3 else '高级套餐'},{i % 7},{'是' if i % 4 == 0 else '否'}")
    return "\n".join(lines) + "\n"


def blocking_codes(report: cc.ValidationReport) -> list[str]:
    return [i.code for i in report.errors]


# -- bad files: every failure is a ChurnCoreError that says what to do -----------------------------------

@pytest.mark.parametrize(("data", "code", "message"), [
    pytest.param(b"", "empty_file", r"is empty \(received 0 bytes\).*Export the table again", id="zero-bytes"),
    pytest.param(b" \n\t \n", "empty_file", r"is empty \(received 5 bytes\).*Export the table again",
                 id="whitespace-only"),
    pytest.param(b"customer_id,calls,churn\n", "no_rows", "header but no data rows.*including its rows",
                 id="header-only"),
    pytest.param(bytes(range(256)) * 50, "binary_file", "binary data.*Upload a CSV", id="binary-junk"),
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "binary_file", "binary data.*Upload a CSV",
                 id="png"),
    pytest.param(b"PK\x03\x04garbage", "bad_xlsx", "cannot be opened.*export it as CSV", id="broken-xlsx"),
])
def test_unreadable_file_raises_data_format_error(data, code, message):
    with pytest.raises(cc.DataFormatError, match=message) as info:
        cc.load_dataset(data, filename="upload.csv")
    assert info.value.code == code


@pytest.mark.parametrize("as_source", [
    pytest.param(lambda data, tmp: data, id="bytes"),
    pytest.param(lambda data, tmp: (tmp / "big.csv").write_bytes(data) and tmp / "big.csv", id="path"),
])
def test_file_over_the_size_limit(tmp_path, make_csv, as_source):
    data = make_csv(rows())
    with pytest.raises(cc.DataFormatError, match=r"over the 1 KB limit.*Upload fewer rows or columns") as info:
        cc.load_dataset(as_source(data, tmp_path), max_bytes=1024)
    assert info.value.code == "file_too_large"


def without_target() -> list[dict]:
    return [{k: v for k, v in r.items() if k != "churn"} for r in rows()]


def with_maybe() -> list[dict]:
    unsure = [{**r, "customer_id": f"U{i}"} for i, r in enumerate(rows(6, values=("maybe", "maybe")))]
    return rows() + unsure


def with_repeated_ids() -> list[dict]:
    table = rows()
    table[5]["customer_id"] = table[6]["customer_id"] = "C0001"
    return table


@pytest.mark.parametrize(("table", "code", "message"), [
    pytest.param(without_target, "no_target",
                 r"No column looks like a churn target. Received the columns \['customer_id', 'plan', 'calls'\]. "
                 "Choose the target column", id="no-target"),
    pytest.param(with_maybe, "target_multiclass",
                 r"'churn' has 3 values: \['maybe', 'no', 'yes'\]. Say which value means churn", id="three-values"),
    pytest.param(lambda: rows(values=("no", "no")), "target_constant",
                 r"'churn' has only one value \(\['no'\]\).*choose another column", id="constant-target"),
    pytest.param(lambda: rows(values=("b", "a")), "positive_ambiguous",
                 r"two values, neither obviously churn: \['a', 'b'\]. Say which value means churn", id="a-or-b"),
    pytest.param(with_repeated_ids, "duplicate_ids",
                 r"3 rows share an id in column 'customer_id'.*Remove the duplicate rows", id="duplicate-ids"),
])
def test_blocking_problem(make_csv, table, code, message):
    data = make_csv(table())
    with pytest.raises(cc.ValidationError, match=message) as info:
        cc.load_dataset(data, filename="export.csv")
    assert info.value.code == "validation_failed"
    assert str(info.value).startswith("The file 'export.csv' cannot be used as it is: ")
    assert blocking_codes(info.value.report) == [code]
    _, report = cc.inspect_table(cc.read_table(data))  # inspecting reports the problem without raising
    assert blocking_codes(report) == [code]


def test_three_valued_target_loads_with_a_positive_label(make_csv):
    dataset = cc.load_dataset(make_csv(with_maybe()), positive="yes")
    grouped = next(i for i in dataset.report.warnings if i.code == "target_grouped")
    assert grouped.params == {"positive": "yes", "others": ["maybe", "no"]}
    assert (int(dataset.target().sum()), dataset.n_rows) == (30, 126)


@pytest.mark.parametrize(("values", "positive"), [
    pytest.param(("Yes", "yes ", "YES", "no"), "yes", id="case-and-spaces"),
    pytest.param(("1", "1.0", "true", "0", "0.0", "false"), "1", id="codes-and-booleans"),
])
def test_a_target_a_person_reads_at_once_loads(make_csv, values, positive):
    table = rows(120)
    for i, row in enumerate(table):
        row["churn"] = values[i % len(values)]
    dataset = cc.load_dataset(make_csv(table))
    churned = [values[i % len(values)].strip().lower() in ("yes", "1", "1.0", "true") for i in range(120)]
    assert dataset.roles.positive_label == positive
    assert dataset.target().tolist() == [int(c) for c in churned]
    assert not [i.code for i in dataset.report.issues if i.code.startswith("target")]


def test_ambiguous_target_loads_with_a_positive_label(make_csv):
    dataset = cc.load_dataset(make_csv(rows(values=("b", "a"))), positive="B")
    assert (dataset.roles.positive_label, int(dataset.target().sum())) == ("b", 30)


def test_repeated_ids_load_once_the_id_is_unmapped(make_csv):
    raw = cc.read_table(make_csv(with_repeated_ids()))
    roles, _ = cc.inspect_table(raw)
    assert roles.id == "customer_id"
    assert cc.load_dataset(raw, roles=roles.replace(id=None)).n_rows == 120  # the fix the message offers


# -- loads, with a warning ----------------------------------------------------------------------------------

def test_all_missing_column_loads_with_a_warning(make_csv):
    dataset = cc.load_dataset(make_csv(rows(notes="")))
    assert "all_missing" in [i.code for i in dataset.report.warnings]
    assert dataset.roles.ignored == ("notes",)
    assert dataset.frame["notes"].isna().all() and dataset.n_rows == 120


def test_duplicate_column_names_load_with_a_warning(make_csv):
    table = [{**r, "calls_copy": r["calls"] + 1} for r in rows()]
    text = make_csv(table).decode().replace("calls,churn,calls_copy", "calls,churn,calls", 1)
    dataset = cc.load_dataset(text.encode())
    warning = next(i for i in dataset.report.warnings if i.code == "duplicate_columns")
    assert warning.params == {"columns": ["calls"]}
    assert list(dataset.frame.columns) == ["customer_id", "plan", "calls", "churn", "calls.1"]
    assert (dataset.frame["calls.1"] - dataset.frame["calls"] == 1).all()


def test_text_in_a_numeric_column_becomes_missing(make_csv):
    table = rows(200)
    table[3]["calls"], table[8]["calls"] = "abc", "12 calls"
    dataset = cc.load_dataset(make_csv(table))
    warning = next(i for i in dataset.report.warnings if i.code == "non_numeric")
    assert (warning.column, warning.params["count"]) == ("calls", 2)
    assert "calls" in dataset.roles.numeric
    assert pd.api.types.is_float_dtype(dataset.frame["calls"])
    assert dataset.frame["calls"].isna().tolist() == [i in (3, 8) for i in range(200)]
    assert dataset.frame.loc[4, "calls"] == 4.0


@pytest.mark.parametrize("spelling", ["inf", "-inf", "Infinity", "1e999"])
def test_infinity_in_a_numeric_column_is_missing_with_a_warning(make_csv, spelling):
    table = rows(200, minutes=lambda i: 100.0 + i)
    table[5]["minutes"] = table[9]["minutes"] = spelling
    dataset = cc.load_dataset(make_csv(table))
    warning = next(i for i in dataset.report.warnings if i.code == "infinite_values")
    assert (warning.column, warning.params["count"]) == ("minutes", 2)
    assert "'minutes'" in warning.message and "treated as missing" in warning.message
    assert dataset.frame["minutes"].isna().tolist() == [i in (5, 9) for i in range(200)]


def test_rows_without_a_target_are_dropped(make_csv):
    table = rows()
    table[0]["churn"] = table[1]["churn"] = ""
    dataset = cc.load_dataset(make_csv(table))
    assert dataset.n_rows == 118
    assert "target_missing" in [i.code for i in dataset.report.warnings]
    assert dataset.frame["customer_id"].iloc[0] == "C0002"


# -- encodings and delimiters ----------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", [
    pytest.param("gbk", id="gbk"), pytest.param("gb18030", id="gb18030"),
    pytest.param("utf-8-sig", id="utf8-bom"), pytest.param("utf-8", id="utf8"),
])
def test_chinese_file_loads_with_headers_intact(encoding):
    dataset = cc.load_dataset(chinese_csv().encode(encoding), filename="流失.csv")
    assert list(dataset.frame.columns) == CHINESE_COLUMNS
    assert (dataset.roles.target, dataset.roles.positive_label, dataset.roles.id) == ("是否流失", "是", "客户编号")
    assert dataset.roles.service_calls == "客服来电次数"
    assert dataset.target().tolist() == [int(i % 4 == 0) for i in range(120)]
    assert dataset.frame["套餐"].cat.categories.tolist() == ["基础套餐", "高级套餐"]
    assert dataset.name == "流失"


@pytest.mark.parametrize("sep", [pytest.param(";", id="semicolon"), pytest.param("\t", id="tab")])
def test_other_delimiters_load(make_csv, sep):
    dataset = cc.load_dataset(make_csv(rows(), sep=sep))
    assert dataset.delimiter == sep
    assert list(dataset.frame.columns) == ["customer_id", "plan", "calls", "churn"]
    assert dataset.target().sum() == 30


def test_utf8_bom_file(make_csv):
    dataset = cc.load_dataset(make_csv(rows(), "utf-8-sig"))
    assert (dataset.encoding, dataset.roles.id) == ("utf-8-sig", "customer_id")


# -- target spellings ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("target", "values"), [
    pytest.param("churn", ("yes", "no"), id="yes-no"),
    pytest.param("Churn", ("Yes", "No"), id="Yes-No"),
    pytest.param("churn", ("True", "False"), id="True-False"),
    pytest.param("churn", (1, 0), id="1-0"),
    pytest.param("status", ("churned", "active"), id="churned-active"),
    pytest.param("Exited", (1, 0), id="Exited-1-0"),
    pytest.param("Attrition_Flag", ("Attrited Customer", "Existing Customer"), id="attrited-existing"),
    pytest.param("是否流失", ("是", "否"), id="chinese-yes-no"),
])
def test_target_is_normalised_to_0_1(make_csv, target, values):
    dataset = cc.load_dataset(make_csv(rows(target=target, values=values)))
    assert dataset.roles.target == target
    assert dataset.frame[target].dtype == "int8"
    assert dataset.frame[target].tolist() == [int(i % 4 == 0) for i in range(120)]


def test_telco_schema(make_csv):
    rng = np.random.default_rng(3)
    n = 200
    tenure = rng.integers(0, 72, n)
    monthly = rng.uniform(18, 119, n).round(2)
    total = np.where(tenure == 0, " ", (monthly * tenure).round(2).astype(str))
    total[:3] = " "
    frame = pd.DataFrame({
        "customerID": [f"{7590 + i}-VHVEG" for i in range(n)], "gender": rng.choice(["Female", "Male"], n),
        "SeniorCitizen": rng.choice([0, 1], n), "tenure": tenure,
        "Contract": rng.choice(["Month-to-month", "One year", "Two year"], n),
        "MonthlyCharges": monthly, "TotalCharges": total, "Churn": rng.choice(["Yes", "No"], n, p=[0.27, 0.73]),
    })
    dataset = cc.load_dataset(make_csv(frame.to_dict("records")), filename="WA_Fn-UseC_-Telco-Customer-Churn.csv")
    roles = dataset.roles
    assert (roles.id, roles.tenure, roles.value, roles.target) == ("customerID", "tenure", ("MonthlyCharges",),
                                                                   "Churn")
    assert roles.categorical == ("gender", "Contract") and roles.plan_flags == ("SeniorCitizen",)
    assert "TotalCharges" in roles.numeric
    blanks = (frame["TotalCharges"].str.strip() == "").to_numpy()
    assert pd.api.types.is_float_dtype(dataset.frame["TotalCharges"])
    assert (dataset.frame["TotalCharges"].isna().to_numpy() == blanks).all()
    assert "non_numeric" not in [i.code for i in dataset.report.issues]  # blanks are missing, not text
    assert dataset.target().tolist() == (frame["Churn"] == "Yes").astype(int).tolist()


# -- workbooks -------------------------------------------------------------------------------------------

def test_xlsx_loads(tmp_path):
    frame = pd.DataFrame(rows())
    path = tmp_path / "customers.xlsx"
    frame.to_excel(path, index=False)
    dataset = cc.load_dataset(path)
    assert (dataset.name, dataset.roles.target, dataset.n_rows) == ("customers", "churn", 120)
    assert dataset.target().sum() == 30


def test_xlsx_with_several_sheets(tmp_path):
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"note": ["exported 2024"]}).to_excel(writer, sheet_name="Read me", index=False)
        pd.DataFrame(rows()).to_excel(writer, sheet_name="Customers", index=False)
    with pytest.raises(cc.DataFormatError, match=r"2 sheets \(Read me, Customers\). Say which sheet") as info:
        cc.load_dataset(path)
    assert info.value.code == "sheet_required"
    assert cc.load_dataset(path, sheet="Customers").n_rows == 120


# -- overrides -----------------------------------------------------------------------------------------

def test_target_override(make_csv):
    data = make_csv(rows(other=lambda i: "gone" if i % 2 else "stay"))
    dataset = cc.load_dataset(data, target="other", positive="gone")
    assert (dataset.roles.target, dataset.target().sum()) == ("other", 60)


@pytest.mark.parametrize(("options", "code"), [
    pytest.param({"target": "nope"}, "column_missing", id="target-missing"),
    pytest.param({"roles": cc.ColumnRoles(target="churn", tenure="nope")}, "column_missing", id="roles-missing"),
    pytest.param({"positive": "maybe"}, "positive_missing", id="positive-missing"),
])
def test_bad_override_raises_schema_error(make_csv, options, code):
    with pytest.raises(cc.SchemaError, match="nope|maybe") as info:
        cc.load_dataset(make_csv(rows()), **options)
    assert info.value.code == code


# -- the Dataset ----------------------------------------------------------------------------------------

def test_unlabelled_file_loads_without_target(report_test):
    dataset = cc.load_dataset(report_test, require_target=False)
    assert (dataset.n_rows, dataset.has_target, dataset.roles.id) == (750, False, "id")
    assert dataset.ids().tolist()[:3] == [1, 2, 3]
    with pytest.raises(cc.SchemaError, match="has no target column, so churn cannot be counted") as info:
        dataset.target()
    assert info.value.code == "no_target"


def test_report_train_dataset(report_train):
    dataset = cc.load_dataset(report_train)
    raw = pd.read_csv(report_train)
    assert (dataset.n_rows, int(dataset.target().sum())) == (4250, 598)
    assert dataset.name == "telecom_churn_report_train"
    charges = ["total_day_charge", "total_eve_charge", "total_night_charge", "total_intl_charge"]
    expected_value = raw[charges].sum(axis=1)
    np.testing.assert_allclose(dataset.value().to_numpy(), expected_value.to_numpy())
    assert dataset.flag("international_plan").tolist() == (raw["international_plan"] == "yes").astype(float).tolist()
    assert dataset.ids().tolist() == list(range(1, 4251))


def test_bundled_dataset(bundled):
    assert Path(cc.BUNDLED_CSV).parts[-2:] == ("data", "telecom_churn.csv")
    assert (bundled.n_rows, bundled.roles.target, bundled.roles.positive_label) == (5000, "churn", "yes")
    assert bundled.report.ok
    assert bundled.to_frame() is bundled.frame


def test_flag_keeps_missing_values():
    frame = pd.DataFrame({"plan": ["yes", "no", None, "Yes"]})
    dataset = cc.Dataset(frame=frame, roles=cc.ColumnRoles(plan_flags=("plan",)), name="t", report=None)
    assert dataset.flag("plan").tolist()[:2] == [1.0, 0.0]
    assert np.isnan(dataset.flag("plan").iloc[2]) and dataset.flag("plan").iloc[3] == 1.0


def test_value_is_none_without_value_columns(make_csv):
    assert cc.load_dataset(make_csv(rows())).value() is None


def test_dataset_records_its_source(make_csv):
    data = make_csv(rows())
    dataset = cc.load_dataset(io.BytesIO(data), filename="march.csv", name="March export")
    raw = cc.read_table(data)
    assert (dataset.name, dataset.source_name, dataset.sha256) == ("March export", "march.csv", raw.sha256)
    assert (dataset.encoding, dataset.delimiter, dataset.version) == ("utf-8", ",", None)


def test_load_from_a_raw_table_skips_reading(make_csv):
    raw = cc.read_table(make_csv(rows()), filename="raw.csv")
    dataset = cc.load_dataset(raw)
    assert (dataset.sha256, dataset.name) == (raw.sha256, "raw")
    assert raw.frame["churn"].iloc[0] == "yes"  # the raw frame is not modified by normalising
