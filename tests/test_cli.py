"""churn_core.__main__: the command line, run in-process through main(argv) and once as `python -m churn_core`."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import churn_core as cc
from churn_core.__main__ import main
from tests import hostile_files as hostile
from tests.conftest import copy_db

ROOT = Path(__file__).resolve().parents[1]
LEVEL_KEYS = {"value", "customers", "churners", "churn_rate", "ci_low", "ci_high"}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def small_csv(tmp_path) -> Path:
    lines = ["customer_id,plan,support_calls,churn"]
    lines += [f"C{i:03d},{'basic' if i % 3 else 'premium'},{i % 6},{'yes' if i % 4 == 0 else 'no'}" for i in range(120)]
    path = tmp_path / "small.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def describe_json(capsys, path: Path, *extra: str) -> dict:
    code, out, err = run(capsys, "describe", "--data", str(path), "--format", "json", *extra)
    assert (code, err) == (0, "")
    return json.loads(out)


def test_describe_json_on_the_report_file(capsys, report_train):
    result = describe_json(capsys, report_train, "--crosstab", "international_plan", "voice_mail_plan")
    assert {"overall", "by_category", "thresholds", "bands", "drivers", "segments", "crosstab"} <= set(result)
    overall = result["overall"]
    assert (overall["customers"], overall["churners"]) == (4250, 598)
    assert overall["churn_rate"] == pytest.approx(598 / 4250)

    assert set(result["by_category"]) >= {"international_plan", "voice_mail_plan"}
    for levels in result["by_category"].values():
        assert levels and all(LEVEL_KEYS <= set(level) for level in levels)
    intl = {lv["value"]: lv for lv in result["by_category"]["international_plan"]}
    assert sum(lv["customers"] for lv in intl.values()) == 4250

    calls = result["thresholds"]["number_customer_service_calls"]
    assert {"levels", "threshold", "rate_below", "rate_at_or_above"} <= set(calls)
    assert calls["threshold"] == 4

    assert result["bands"] and result["drivers"] and result["segments"]

    crosstab = result["crosstab"]
    assert (crosstab["rows"], crosstab["columns"]) == (["no", "yes"], ["no", "yes"])
    assert len(crosstab["cells"]) == 4
    for cell in crosstab["cells"]:
        assert {"row", "column", "customers", "churners", "churn_rate"} <= set(cell)
    assert sum(c["customers"] for c in crosstab["cells"]) == 4250
    assert sum(c["churners"] for c in crosstab["cells"]) == 598


def test_describe_without_crosstab_has_none(capsys, small_csv):
    result = describe_json(capsys, small_csv)
    assert "crosstab" not in result
    assert (result["overall"]["customers"], result["overall"]["churners"]) == (120, 30)
    assert result["dataset"]["roles"]["target"] == "churn"


def test_describe_text(capsys, small_csv):
    code, out, err = run(capsys, "describe", "--data", str(small_csv))
    assert (code, err) == (0, "")
    assert out.startswith("small: 120 customers, 30 churned (25.00%")
    assert "  plan: basic" in out


def test_describe_file_without_target_fails_on_stderr(capsys, report_test):
    code, out, err = run(capsys, "describe", "--data", str(report_test), "--format", "json")
    assert (code, out) == (1, "")
    assert err.startswith("error: The file 'telecom_churn_report_test.csv' cannot be used as it is: "
                          "No column looks like a churn target.")


def test_describe_missing_file_fails(capsys, tmp_path):
    code, out, err = run(capsys, "describe", "--data", str(tmp_path / "absent.csv"))
    assert (code, out) == (1, "")
    assert "error: No file at" in err and "absent.csv" in err


def test_describe_target_override(capsys, small_csv):
    result = describe_json(capsys, small_csv, "--target", "plan", "--positive", "premium")
    assert result["dataset"]["roles"]["target"] == "plan"
    assert result["overall"]["churners"] == 40


def test_import_then_list(capsys, small_csv, tmp_path):
    db = str(tmp_path / "cli.duckdb")
    code, out, err = run(capsys, "import", "--data", str(small_csv), "--db", db, "--name", "March")
    assert (code, err) == (0, "")
    assert out == "March: stored as version 1 (120 rows), active\n"

    code, out, _ = run(capsys, "import", "--data", str(small_csv), "--db", db, "--name", "March")
    assert out == "March: already stored as version 1 (120 rows), active\n"

    code, out, _ = run(capsys, "datasets", "--db", db, "--format", "json")
    listed = json.loads(out)["datasets"]
    assert [(d["version"], d["name"], d["rows"], d["active"]) for d in listed] == [(1, "March", 120, True)]

    code, out, _ = run(capsys, "datasets", "--db", db)
    assert out.startswith("* v1  March  120 rows")


def test_import_json_and_no_activate(capsys, small_csv, tmp_path):
    db = str(tmp_path / "cli.duckdb")
    code, out, _ = run(capsys, "import", "--data", str(small_csv), "--db", db, "--no-activate", "--format", "json")
    result = json.loads(out)
    assert (code, result["version"], result["active"], result["reused"]) == (0, 1, False, False)
    assert isinstance(result["warnings"], list)


def test_datasets_on_an_empty_database(capsys, tmp_path):
    code, out, _ = run(capsys, "datasets", "--db", str(tmp_path / "empty.duckdb"))
    assert (code, out) == (0, "no datasets stored\n")


def test_unusable_database_exits_3(capsys, tmp_path):
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"junk" * 100)
    code, out, err = run(capsys, "datasets", "--db", str(bad))
    assert (code, out) == (3, "")
    assert err.startswith("error: Cannot open the database")


def _cut(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _foreign(path: Path) -> None:
    path.unlink()
    import duckdb

    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE invoices (id INTEGER)")


def _newer(path: Path) -> None:
    import duckdb

    with duckdb.connect(str(path)) as con:
        con.execute("INSERT INTO schema_version VALUES (?, now())", [cc.store.SCHEMA_VERSION + 1])


@pytest.mark.parametrize(("damage", "says"), [
    pytest.param(_cut, "is damaged", id="cut-in-half"),
    pytest.param(_foreign, "belongs to another program", id="foreign"),
    pytest.param(_newer, "newer than this Churn Radar", id="newer"),
])
@pytest.mark.parametrize("command", ["datasets", "import", "train"])
def test_a_damaged_foreign_or_newer_database_exits_3_with_one_line(capsys, small_csv, tmp_path, damage, says,
                                                                   command):
    db = tmp_path / "db.duckdb"
    assert main(["import", "--data", str(cc.BUNDLED_CSV), "--db", str(db)]) == 0
    capsys.readouterr()
    damage(db)
    before = db.read_bytes()
    data = [] if command == "datasets" else ["--data", str(small_csv)]
    code, out, err = run(capsys, command, *data, "--db", str(db))
    assert (code, out) == (3, "")
    assert err.startswith("error: ") and says in err and err.count("\n") == 1, err  # one line, no traceback
    assert db.read_bytes() == before


def test_train_on_a_full_disk_exits_3_without_a_traceback(capsys, small_csv, tmp_path, monkeypatch):
    """The model files do not fit: the run is marked failed, the champion unchanged, and the message is one line."""
    from churn_core import artifacts

    db = tmp_path / "db.duckdb"
    real = artifacts.shutil.disk_usage
    monkeypatch.setattr(artifacts.shutil, "disk_usage",  # the models folder is on a full disk; the database not
                        lambda path: type("u", (), {"free": 1000})() if "models" in str(path) else real(path))
    code, out, err = run(capsys, "train", "--data", str(small_csv), "--db", str(db), "--promote",
                         "--models", "logistic_regression")
    assert (code, out) == (3, "")
    assert err.startswith("error: Not enough free space to save the model file") and err.count("\n") == 1, err
    store = cc.Store(db)
    assert [r.status for r in store.list_runs()] == ["failed"] and store.champion() is None
    monkeypatch.undo()
    assert main(["train", "--data", str(small_csv), "--db", str(db), "--models", "logistic_regression"]) == 0


def test_bad_command_line_exits_2(capsys):
    with pytest.raises(SystemExit, match="2"):
        main(["describe"])
    assert "--data" in capsys.readouterr().err


def test_python_dash_m_runs(small_csv):
    done = subprocess.run([sys.executable, "-m", "churn_core", "describe", "--data", str(small_csv),
                           "--format", "json"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["overall"]["churners"] == 30


# -- hostile files (issue 15) ------------------------------------------------------------------------------

def test_file_over_the_size_limit_is_refused_from_its_size_on_disk(capsys, tmp_path, monkeypatch):
    """A 201 MB (sparse) file: refused from os.stat, never opened, so at once and without memory."""
    big = tmp_path / "big.csv"
    with big.open("wb") as handle:
        handle.write(b"customer_id,churn\n")
        handle.truncate(201 * 1024 * 1024)
    opened = []
    real_open = Path.open
    monkeypatch.setattr(Path, "open", lambda self, *a, **k: opened.append(self) or real_open(self, *a, **k))
    start = time.perf_counter()
    code, out, err = run(capsys, "describe", "--data", str(big))
    assert (code, out) == (1, "")
    assert "error: The file 'big.csv' is 201 MB, over the 200 MB limit" in err
    assert big not in opened
    assert time.perf_counter() - start < 2


@pytest.mark.parametrize("case", hostile.HOSTILE, ids=lambda c: c.file)
def test_hostile_file_through_the_command_line(capsys, tmp_path, case):
    path = tmp_path / case.file
    path.write_bytes(case.make())
    db = str(tmp_path / "cli.duckdb")
    code, out, err = run(capsys, "import", "--data", str(path), "--db", db, "--format", "json")
    assert "Traceback" not in err
    if case.code is None:
        assert (code, err) == (0, ""), err
        assert json.loads(out)["rows"] == 40
        return
    with pytest.raises(cc.DataFormatError) as info:
        cc.read_table(path)
    assert info.value.code == case.code
    assert (code, out, err) == (1, "", f"error: {info.value}\n")
    assert cc.Store(db).list_datasets().versions == ()  # nothing was stored


def test_workbook_bomb_through_python_dash_m_exits_1_quickly(tmp_path):
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(hostile.shared_strings_bomb())
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "churn_core", "describe", "--data", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error: The file 'bomb.xlsx' is refused as a compression bomb")
    assert "Traceback" not in done.stderr
    assert time.perf_counter() - start < 30


# -- train and score (issue 3) ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cli_trained(tmp_path_factory) -> tuple[Path, int, str]:
    """`train --promote --models xgboost --format json` on a new database, once: (database, exit code, output)."""
    db = tmp_path_factory.mktemp("cli") / "cli.duckdb"
    with contextlib.redirect_stdout(io.StringIO()) as out:
        code = main(["train", "--data", str(cc.BUNDLED_CSV), "--promote", "--db", str(db), "--models", "xgboost",
                     "--format", "json"])
    return db, code, out.getvalue()


@pytest.fixture
def cli_db(cli_trained, tmp_path) -> str:
    """A copy of the database cli_trained trained and promoted in, for one test to score into."""
    return str(copy_db(cli_trained[0], tmp_path))


def test_train_promote_then_score_the_unlabelled_file(cli_trained, cli_db, tmp_path, report_test):
    _, code, printed = cli_trained
    out = json.loads(printed)
    assert code == 0 and out["run_id"] == 1 and out["champion"] == {"run_id": 1, "model": "xgboost"}
    assert set(out["models"][0]) >= {"name", "roc_auc", "pr_auc", "precision", "recall", "f1", "accuracy", "brier",
                                     "threshold", "cv_roc_auc_mean", "cv_roc_auc_sd", "roc_auc_ci_low",
                                     "roc_auc_ci_high", "log_loss"}
    model = out["models"][0]
    assert model["roc_auc"] > 0.9 and model["roc_auc_ci_low"] < model["roc_auc"] < model["roc_auc_ci_high"]
    assert 0 < model["cv_roc_auc_sd"] < 0.05 and model["log_loss"] <= model["log_loss_uncalibrated"] + 0.002
    assert "number_customer_service_calls" in out["features"] and "churn" not in out["features"]
    assert out["excluded"] == {"churn": "target"} and out["choose_by"] == "roc_auc"
    scores_path = tmp_path / "scores.csv"
    assert main(["score", "--data", str(report_test), "--out", str(scores_path), "--db", cli_db]) == 0
    scores = pd.read_csv(scores_path, encoding="utf-8-sig")
    assert list(scores.columns) == ["id", "status", "churn_probability", "risk_tier", "due_within_hours", "priority",
                                    "value", "scored_by", "base_probability", "reason_1", "reason_1_pts", "reason_2",
                                    "reason_2_pts", "reason_3", "reason_3_pts", "other_pts", "protective",
                                    "action"] and len(scores) == 750
    assert (scores["status"] == "active").all() and (scores["scored_by"] == "final").all()  # no target, unseen
    assert scores["id"].tolist()[:3] == [1, 2, 3]
    assert set(scores["risk_tier"]) <= {"critical", "high", "medium", "watch", "low"}
    assert scores["reason_1"].str.match(r".+ \([+−][\d.]+ pts\)$").all()
    assert scores.loc[scores["risk_tier"] == "critical", "due_within_hours"].eq(24).all()
    assert scores.loc[scores["risk_tier"] == "low", "action"].eq("No action needed").all()


def test_score_the_active_dataset_in_chinese_and_keep_the_scores(cli_trained, cli_db, tmp_path, capsys):
    _, code, printed = cli_trained
    assert code == 0
    trained = json.loads(printed)
    assert trained["score_set"] == 1  # promoting scores the active dataset, so the Risk page only reads it
    out_path = tmp_path / "active.csv"
    assert main(["score", "--out", str(out_path), "--db", cli_db, "--lang", "zh", "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["rows"] == 5000 and result["score_set"] == 1 and result["scoring"] == "out_of_sample"
    assert result["churned"] == 707 and result["active"] == 4293 and result["explained"] == 4293
    assert sum(result["tiers"].values()) == 4293  # tiers count customers still here only
    scores = pd.read_csv(out_path, encoding="utf-8-sig")
    churned = scores["status"] == "churned"
    assert churned.sum() == 707 and (scores.loc[churned, "risk_tier"] == "churned").all()
    assert scores.loc[churned, ["priority", "reason_1", "action"]].isna().all().all()
    active = scores[~churned]
    assert active["reason_1"].notna().all() and active["reason_1"].str.contains("个百分点").all()
    total = active["base_probability"] + active[["reason_1_pts", "reason_2_pts", "reason_3_pts",
                                                 "other_pts"]].sum(axis=1)
    assert (total - active["churn_probability"]).abs().max() < 0.005
    # the scores of a training file are honest: their AUC against the labels is the holdout's, not 0.99
    from sklearn.metrics import roc_auc_score

    auc = roc_auc_score(churned, scores["churn_probability"])
    assert abs(auc - trained["models"][0]["roc_auc"]) < 0.03
    assert cc.Store(cli_db).load_scores(1)["explained"].sum() == 4293


def test_score_without_champion_fails_for_cron(tmp_path, capsys):
    code = main(["score", "--data", str(cc.BUNDLED_CSV), "--out", str(tmp_path / "x.csv"),
                 "--db", str(tmp_path / "empty.duckdb")])
    captured = capsys.readouterr()
    assert code == 1 and captured.out == "" and "No champion model yet" in captured.err
    assert not (tmp_path / "x.csv").exists()


# -- roi ----------------------------------------------------------------------------------------------------

def test_roi_json_reproduces_the_published_case(capsys):
    code, out, err = run(capsys, "roi", "--customers", "8000", "--baseline-churn", "0.145", "--target-churn",
                         "0.098", "--ltv", "100000", "--investment", "1500000", "--annual-cost", "600000",
                         "--years", "1", "--format", "json")
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert {k: result[k] for k in ("customers_saved", "value_retained", "total_cost", "net_benefit")} == {
        "customers_saved": 376, "value_retained": 37_600_000, "total_cost": 2_100_000, "net_benefit": 35_500_000}
    assert round(result["roi"], 2) == 16.90  # a fraction: 16.90 means 1690%
    # Value spread over the default 5-year lifetime: 1.5M / (376 × 100,000 / 60 − 50,000) a month.
    assert result["payback_months"] == pytest.approx(2.601, abs=1e-3) and result["lifetime_years"] == 5


def test_roi_lifetime_years_moves_the_payback_not_the_roi(capsys):
    code, out, err = run(capsys, "roi", "--preset", "telecom_8k", "--lifetime-years", "10", "--format", "json")
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert result["payback_months"] == pytest.approx(1_500_000 / (376 * 100_000 / 120 - 50_000), abs=1e-6)
    assert round(result["roi"], 2) == 16.90 and result["inputs"]["lifetime_years"] == 10
    code, out, _ = run(capsys, "roi", "--preset", "telecom_8k", "--lifetime-years", "10")
    assert code == 0 and "ROI 1690% (whole lifetime value counted when saved); payback 5.7 months (value spread " \
                         "over 10 years)" in out
    code, out, err = run(capsys, "roi", "--preset", "telecom_8k", "--lifetime-years", "0")
    assert code == 1 and out == ""
    assert "'lifetime_years' parameter must be a number in (0, inf]. Got 0.0 instead. Give the years" in err


def test_roi_preset_with_an_override_and_text_output(capsys):
    code, out, _ = run(capsys, "roi", "--preset", "telecom_12k")
    assert code == 0 and "customers saved 732" in out and "ROI 2188%" in out
    code, out, _ = run(capsys, "roi", "--preset", "telecom_12k", "--years", "2", "--format", "json")
    assert json.loads(out)["total_cost"] == 2_000_000 + 2 * 1_200_000


def test_roi_missing_inputs_fail_with_the_fix(capsys):
    code, out, err = run(capsys, "roi", "--baseline-churn", "0.1", "--target-churn", "0.05", "--ltv", "10")
    assert code == 1 and out == ""
    assert "needs --customers, which was not given" in err and "--preset telecom_8k" in err
    code, _, err = run(capsys, "roi", "--customers", "100", "--baseline-churn", "0.1", "--ltv", "10")
    assert code == 1 and "needs either 'target_churn' or 'retention_success'" in err


def pdf_text(path: Path) -> tuple[int, str]:
    """(pages, text) of a PDF, read back with PDFium."""
    import pypdfium2

    document = pypdfium2.PdfDocument(str(path))
    try:
        return len(document), "".join(page.get_textpage().get_text_range() for page in document).replace("\r\n", "\n")
    finally:
        document.close()


def test_roi_pdf_is_the_pages_one_page_export_of_the_case(capsys, tmp_path):
    path = tmp_path / "out.pdf"
    code, out, err = run(capsys, "roi", "--preset", "telecom_8k", "--pdf", str(path), "--format", "json")
    assert (code, err) == (0, "")
    assert json.loads(out)["pdf"] == str(path) and "png" not in json.loads(out)
    pages, text = pdf_text(path)
    assert pages == 1
    assert "Published case: 8,000 customers, 14.5% → 9.8%" in text  # the case named, as the page names it
    for shown in ("Retention business case", "Customers saved", "376", "1690%", "$35.5M", "2.6 months",
                  "Cumulative net benefit, month by month", "A target churn rate"):
        assert shown in text, shown
    code, out, _ = run(capsys, "roi", "--preset", "telecom_8k", "--pdf", str(path))
    assert code == 0 and out.endswith(f"pdf: {path}\n")


def test_roi_pdf_of_own_inputs_says_so(capsys, tmp_path):
    path = tmp_path / "own.pdf"
    code, _, err = run(capsys, "roi", "--customers", "1000", "--baseline-churn", "0.2", "--target-churn", "0.15",
                       "--ltv", "500", "--investment", "1000", "--currency", "€", "--pdf", str(path))
    assert (code, err) == (0, "")
    text = pdf_text(path)[1]
    assert "Your own assumptions" in text and "Published case" not in text
    assert "Customers saved\n50\n" in text and "€25.0K" in text  # 1,000 × (20% − 15%) saved, each worth 500


def _has_cjk_font() -> bool:
    from churn_core import onepager

    return onepager.find_font("zh") is not None


needs_cjk = pytest.mark.skipif(not _has_cjk_font(), reason="no CJK font on this machine (apt-get install "
                                                           "fonts-noto-cjk)")


@needs_cjk
def test_roi_pdf_in_chinese_keeps_the_currency(capsys, tmp_path):
    """The language words the amounts (万), it never changes their currency."""
    path = tmp_path / "zh.pdf"
    code, out, err = run(capsys, "roi", "--preset", "telecom_8k", "--lang", "zh", "--pdf", str(path),
                         "--db", str(tmp_path / "none.duckdb"), "--format", "json")
    assert (code, err) == (0, "")
    assert not (tmp_path / "none.duckdb").exists()  # asking for the currency creates no database
    text = pdf_text(path)[1]
    for shown in ("客户挽留商业论证", "挽留客户", "投资回报率", "公开案例", "$3,550万", "1690%"):
        assert shown in text, shown
    assert "¥" not in text


@pytest.mark.parametrize(("lang", "shown"), [pytest.param("en", "€35.5M", id="en"),
                                             pytest.param("zh", "€3,550万", id="zh", marks=needs_cjk)])
def test_roi_export_takes_the_active_datasets_stored_currency(capsys, tmp_path, lang, shown):
    db = tmp_path / "store.duckdb"
    store = cc.Store(db)
    version = store.save_dataset(cc.load_dataset(cc.BUNDLED_CSV)).version
    store.set_currency(version, "€")
    path = tmp_path / "case.pdf"
    code, out, err = run(capsys, "roi", "--preset", "telecom_8k", "--lang", lang, "--pdf", str(path), "--db", str(db),
                         "--format", "json")
    assert (code, err) == (0, "")
    text = pdf_text(path)[1]
    assert shown in text and "$" not in text
    code, out, err = run(capsys, "roi", "--preset", "telecom_8k", "--lang", lang, "--pdf", str(path), "--db", str(db),
                         "--currency", "£", "--format", "json")
    assert code == 0 and "£" in pdf_text(path)[1] and "€" not in pdf_text(path)[1]  # --currency still wins


def test_roi_png_is_an_a4_landscape_image(capsys, tmp_path):
    from PIL import Image

    path = tmp_path / "out.png"
    code, out, err = run(capsys, "roi", "--preset", "telecom_8k", "--png", str(path), "--format", "json")
    assert (code, err) == (0, "")
    assert json.loads(out)["png"] == str(path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(io.BytesIO(data)).size == (1684, 1191)  # A4 landscape at 2 x 72 dpi


def test_roi_chinese_export_without_a_cjk_font_fails_clearly(capsys, tmp_path, monkeypatch):
    from churn_core import onepager

    monkeypatch.delenv(onepager.FONT_ENV, raising=False)
    monkeypatch.setattr(onepager, "_CJK_CANDIDATES", ())
    path = tmp_path / "zh.pdf"
    code, out, err = run(capsys, "roi", "--preset", "telecom_8k", "--lang", "zh", "--pdf", str(path),
                         "--format", "json")
    assert (code, out) == (1, "")
    assert err.startswith("error: No font with Chinese characters was found") and "fonts-noto-cjk" in err
    assert "Traceback" not in err and not path.exists()


def test_roi_export_to_a_missing_folder_fails_with_the_fix(capsys, tmp_path):
    code, out, err = run(capsys, "roi", "--preset", "telecom_8k", "--pdf", str(tmp_path / "no" / "x.pdf"))
    assert (code, out) == (1, "")
    assert "The --pdf file" in err and "cannot be written" in err and "folder that exists" in err


def _page_export_script():
    import streamlit as st

    import churn_core as cc
    from churn_core import onepager
    from ui import roi_views as views

    views.init()
    views._apply({**views._preset_values(cc.PRESETS["telecom_8k"]), "start": "telecom_8k"})
    result = views.compute()
    with open(st.session_state["pdf_path"], "wb") as f:
        f.write(onepager.render_pdf(views.one_page(result)))
    st.write(views.export_name(result))


def test_roi_pdf_matches_the_pages_export_of_the_same_case(capsys, tmp_path, monkeypatch):
    """One builder: the ROI page's export of a published case and the command's are the same page."""
    import datetime as dt

    from streamlit.testing.v1 import AppTest

    page_pdf, cli_pdf = tmp_path / "page.pdf", tmp_path / "cli.pdf"
    code, _, err = run(capsys, "roi", "--preset", "telecom_8k", "--pdf", str(cli_pdf))
    assert (code, err) == (0, "")
    monkeypatch.setenv(cc.store.ENV_VAR, str(tmp_path / "app.duckdb"))
    at = AppTest.from_function(_page_export_script, default_timeout=60)
    at.session_state["pdf_path"] = str(page_pdf)
    at.run()
    assert not at.exception, at.exception
    assert at.markdown[0].value == f"churn-radar-roi-telecom_8k-{dt.date.today().isoformat()}"
    assert pdf_text(page_pdf) == pdf_text(cli_pdf)
    assert page_pdf.read_bytes() == cli_pdf.read_bytes()


# -- drift --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bundled_raw() -> pd.DataFrame:
    return pd.read_csv(cc.BUNDLED_CSV)


def drift_json(capsys, db: Path, path: Path) -> dict:
    code, out, err = run(capsys, "drift", "--data", str(path), "--db", str(db), "--format", "json")
    assert (code, err) == (0, "")
    return json.loads(out)


def test_drift_json_flags_the_top_quartile_of_day_minutes(capsys, trained_db, tmp_path, bundled_raw):
    minutes = bundled_raw["total_day_minutes"]
    sample = bundled_raw[minutes >= minutes.quantile(0.75)].sample(200, random_state=0)
    path = tmp_path / "top.csv"
    sample.to_csv(path, index=False)
    result = drift_json(capsys, trained_db, path)
    assert {"features", "churn_rate", "shifted"} <= set(result)
    assert (result["dataset_version"], result["champion"]["run_id"]) == (1, 1)
    assert len(result["features"]) == len(bundled_raw.columns) - 1  # every column but the target
    for feature in result["features"]:
        assert {"name", "psi", "p_value", "status"} <= set(feature)
        assert 0 <= feature["p_value"] <= 1 and feature["status"] in {"stable", "noise", "moderate", "shifted"}
    assert "total_day_minutes" in result["shifted"]
    assert result["shifted"] == [f["name"] for f in result["features"] if f["status"] == "shifted"]
    churn = result["churn_rate"]
    assert {"reference", "current", "p_value"} <= set(churn)
    assert churn["reference"] == pytest.approx((bundled_raw["churn"] == "yes").mean())
    assert churn["current"] == pytest.approx((sample["churn"] == "yes").mean())
    assert churn["p_value"] < 0.01


def test_drift_json_on_an_unlabelled_random_sample(capsys, trained_db, tmp_path, bundled_raw):
    path = tmp_path / "sample.csv"
    bundled_raw.drop(columns=["churn"]).sample(200, random_state=3).to_csv(path, index=False)
    result = drift_json(capsys, trained_db, path)
    assert result["churn_rate"] is None
    assert result["shifted"] == []
    assert result["current_rows"] == 200 and result["reference_rows"] == len(bundled_raw)


def test_drift_text_is_a_table(capsys, trained_db, tmp_path, bundled_raw):
    path = tmp_path / "sample.csv"
    bundled_raw.sample(200, random_state=3).to_csv(path, index=False)
    code, out, err = run(capsys, "drift", "--data", str(path), "--db", str(trained_db))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("sample (200 rows) against dataset v1 (5000 rows), the training data of run 1")
    assert lines[1].split() == ["feature", "PSI", "p-value", "status"]
    assert any(line.split()[0] == "state" for line in lines[2:])
    assert "churn rate: 14.14% in the training data" in out
    assert lines[-1] == "shifted (PSI >= 0.25 and p < 0.00053): none"


def test_drift_without_champion_fails(capsys, tmp_path):
    code, out, err = run(capsys, "drift", "--data", str(cc.BUNDLED_CSV), "--db", str(tmp_path / "empty.duckdb"),
                         "--format", "json")
    assert (code, out) == (1, "")
    assert err.startswith("error: No champion model yet, so there is no training data to compare the file with.")
