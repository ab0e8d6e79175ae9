"""Fixtures shared by the churn_core unit tests (tests/app and tests/browser keep their own)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import churn_core as cc


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the repo: the published report's files (never copied into the project)."""
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _shared_file(folder: Path, name: str) -> Path:
    path = folder / name
    if not path.is_file():
        pytest.skip(f"../shared/data/{name} is absent: the report-reproduction tests need the shared data "
                    "folder beside the repo")
    return path


@pytest.fixture(scope="session")
def report_train(shared_data) -> Path:
    """The report's training file: 4250 customers, 598 churners, target ``churn`` (yes/no)."""
    return _shared_file(shared_data, "telecom_churn_report_train.csv")


@pytest.fixture(scope="session")
def report_test(shared_data) -> Path:
    """The report's unlabelled file: ``id`` and the 19 features, no target."""
    return _shared_file(shared_data, "telecom_churn_report_test.csv")


@pytest.fixture
def bundled() -> cc.Dataset:
    """The bundled sample, data/telecom_churn.csv (5000 customers)."""
    return cc.load_dataset(Path(__file__).resolve().parents[1] / "data" / "telecom_churn.csv")


def bank_customers(n: int = 2000, *, seed: int = 7) -> pd.DataFrame:
    """A bank's churn export (the Kaggle "Churn_Modelling" layout): a row number, shuffled 8-digit customer
    ids, a credit score weakly tied to churn, and ``Exited`` (about 20% churn, driven by age and activity)."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    active = rng.integers(0, 2, n)
    credit = rng.integers(350, 851, n)
    chance = 1 / (1 + np.exp(-(-2.0 + 0.07 * (age - 40) - 1.0 * active - 0.001 * (credit - 600))))
    return pd.DataFrame({
        "RowNumber": np.arange(1, n + 1),
        "CustomerId": 15_000_000 + rng.choice(1_000_000, n, replace=False),
        "Surname": rng.choice([f"Name{i}" for i in range(300)], n),
        "CreditScore": credit,
        "Geography": rng.choice(["France", "Germany", "Spain"], n, p=[0.5, 0.25, 0.25]),
        "Gender": rng.choice(["Male", "Female"], n),
        "Age": age,
        "Tenure": rng.integers(0, 11, n),
        "Balance": np.where(rng.random(n) < 0.35, 0.0, rng.normal(120_000, 30_000, n)).round(2),
        "NumOfProducts": rng.choice([1, 2, 3, 4], n, p=[0.5, 0.45, 0.04, 0.01]),
        "HasCrCard": rng.integers(0, 2, n),
        "IsActiveMember": active,
        "EstimatedSalary": rng.uniform(11.58, 199_992.48, n).round(2),
        "Exited": (rng.random(n) < chance).astype(int),
    })


def ibm_customers(n: int = 3000, *, seed: int = 11) -> pd.DataFrame:
    """An IBM Telco-like export: ``Contract`` (Month-to-month / One year / Two year) drives churn hard,
    ``InternetService`` and ``PaymentMethod`` less, tenure in months and MonthlyCharges a little, and the
    SeniorCitizen / Partner flags barely (about 26% churn)."""
    rng = np.random.default_rng(seed)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.55, 0.21, 0.24])
    internet = rng.choice(["DSL", "Fiber optic", "No"], n, p=[0.34, 0.44, 0.22])
    payment = rng.choice(["Electronic check", "Mailed check", "Bank transfer (automatic)",
                          "Credit card (automatic)"], n, p=[0.34, 0.23, 0.22, 0.21])
    senior = (rng.random(n) < 0.16).astype(int)
    partner = rng.choice(["Yes", "No"], n)
    tenure = rng.integers(0, 73, n)
    monthly = (rng.uniform(18, 119, n)).round(2)
    base = np.select([contract == "Month-to-month", contract == "One year"], [0.3, -1.9], -3.5)
    logit = (base + np.where(internet == "Fiber optic", 0.6, np.where(internet == "No", -0.6, 0.0))
             + np.where(payment == "Electronic check", 0.9, 0.0) - 0.01 * tenure + 0.004 * (monthly - 65)
             + 0.15 * senior - 0.1 * (partner == "Yes"))
    churn = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame({
        "customerID": [f"{i:04d}-{chr(65 + i % 26)}BCD" for i in range(n)],
        "SeniorCitizen": senior, "Partner": partner, "tenure": tenure,
        "InternetService": internet, "Contract": contract, "PaymentMethod": payment,
        "MonthlyCharges": monthly, "Churn": np.where(churn, "Yes", "No"),
    })


NAIVE_BAYES = ("Naive_Bayes_1", "Naive_Bayes_2")


def credit_cards(n: int = 1500, seed: int = 3) -> pd.DataFrame:
    """A credit-card churn export whose last two columns are another model's output (leakage)."""
    rng = np.random.default_rng(seed)
    attrited = rng.random(n) < 0.16
    output = np.where(attrited, rng.uniform(0.99, 1.0, n), rng.uniform(0.0, 0.001, n)).round(5)
    return pd.DataFrame({
        "CLIENTNUM": 700_000_000 + rng.choice(10**7, n, replace=False),
        "Attrition_Flag": np.where(attrited, "Attrited Customer", "Existing Customer"),
        "Customer_Age": rng.integers(26, 70, n),
        "Card_Category": rng.choice(["Blue", "Silver", "Gold"], n, p=[0.9, 0.07, 0.03]),
        "Total_Trans_Ct": np.where(attrited, rng.normal(45, 14, n), rng.normal(68, 22, n)).round().clip(10),
        "Months_Inactive_12_mon": rng.integers(0, 7, n),
        NAIVE_BAYES[0]: output,
        NAIVE_BAYES[1]: (1 - output).round(5),
    })


def bank_churners(n: int = 3000, *, seed: int = 5) -> pd.DataFrame:
    """A credit-card issuer's export in the Kaggle "BankChurners" layout (about 16% attrited): few
    transactions, a small revolving balance, many contacts and inactive months drive attrition; the
    income band a little; tenure ``Months_on_book`` in months; the two Naive Bayes columns are another
    model's output (leakage)."""
    rng = np.random.default_rng(seed)
    income = rng.choice(["Less than $40K", "$40K - $60K", "$60K - $80K", "$80K - $120K", "$120K +"], n,
                        p=[0.35, 0.18, 0.15, 0.17, 0.15])
    trans_ct = rng.normal(65, 22, n).round().clip(10, 139)
    revolving = np.where(rng.random(n) < 0.25, 0, rng.uniform(300, 2517, n)).round()
    contacts = rng.choice(np.arange(7), n, p=[0.04, 0.15, 0.32, 0.33, 0.13, 0.02, 0.01])
    inactive = rng.choice(np.arange(7), n, p=[0.01, 0.22, 0.32, 0.38, 0.04, 0.02, 0.01])
    score = (-2.8 - 0.06 * (trans_ct - 65) + 1.3 * (revolving == 0) + 0.45 * (contacts - 2.5)
             + 0.35 * (inactive - 2.3) + 0.9 * (income == "Less than $40K"))
    attrited = rng.random(n) < 1 / (1 + np.exp(-score))
    output = np.where(attrited, rng.uniform(0.99, 1.0, n), rng.uniform(0.0, 0.001, n)).round(5)
    return pd.DataFrame({
        "CLIENTNUM": 700_000_000 + rng.choice(10**8, n, replace=False),
        "Attrition_Flag": np.where(attrited, "Attrited Customer", "Existing Customer"),
        "Customer_Age": rng.integers(26, 74, n),
        "Gender": rng.choice(["F", "M"], n),
        "Education_Level": rng.choice(["Graduate", "High School", "Uneducated", "College", "Unknown"], n),
        "Marital_Status": rng.choice(["Married", "Single", "Divorced", "Unknown"], n, p=[0.46, 0.39, 0.07, 0.08]),
        "Income_Category": income,
        "Card_Category": rng.choice(["Blue", "Silver", "Gold", "Platinum"], n, p=[0.93, 0.055, 0.012, 0.003]),
        "Months_on_book": rng.integers(13, 57, n),
        "Total_Relationship_Count": rng.integers(1, 7, n),
        "Months_Inactive_12_mon": inactive,
        "Contacts_Count_12_mon": contacts,
        "Credit_Limit": rng.uniform(1438, 34516, n).round(1),
        "Total_Revolving_Bal": revolving,
        "Total_Trans_Amt": (trans_ct * rng.uniform(40, 80, n)).round(),
        "Total_Trans_Ct": trans_ct,
        NAIVE_BAYES[0]: output,
        NAIVE_BAYES[1]: (1 - output).round(5),
    })


def hostile_customers(n: int = 300, *, seed: int = 5) -> pd.DataFrame:
    """Customers whose column names and category values XGBoost refuses as feature names (``a[1]``,
    ``b<2``, a plan ``<basic>``), a service-call count named ``service_calls[n]``, a numeric column
    with ±inf (churn follows the calls)."""
    rng = np.random.default_rng(seed)
    calls = rng.integers(0, 8, n)
    frame = pd.DataFrame({
        "customer_id": [f"C{i:04d}" for i in range(n)], "a[1]": rng.normal(size=n), "b<2": rng.normal(size=n),
        "service_calls[n]": calls, "plan": rng.choice(["<basic>", "pro[x]", "a]b"], n),
        "usage": rng.normal(size=n), "churn": np.where(calls + rng.normal(size=n) > 5, "yes", "no")})
    frame["usage"] = frame["usage"].astype(object)
    frame.loc[[3, 4], "usage"] = [np.inf, -np.inf]
    return frame


@pytest.fixture
def bank() -> pd.DataFrame:
    """A fresh bank-like customer table (see bank_customers)."""
    return bank_customers()


@pytest.fixture
def tmp_store(tmp_path) -> cc.Store:
    return cc.Store(tmp_path / "t.duckdb")


@pytest.fixture
def make_csv() -> Callable[..., bytes]:
    """``make_csv(rows, encoding="utf-8", sep=",")``: CSV bytes from a list of dicts, or from text as written."""

    def make(rows: list[dict] | str, encoding: str = "utf-8", *, sep: str = ",") -> bytes:
        text = rows if isinstance(rows, str) else pd.DataFrame(rows).to_csv(index=False, sep=sep)
        return text.encode(encoding)

    return make


# -- trained runs, each trained once per session ------------------------------------------------------------
# A test that only reads a trained run (scores, explains, compares, renders a page) takes one of these.
# Their databases are templates: a test that promotes, scores or saves works on a copy (copy_db, or the
# trained_db fixture), never on the template. The model files stay where the run recorded them (absolute
# paths in the run's JSON), so a copy anywhere loads them; treat them as read-only.

# A run of logistic regression and XGBoost, 3-fold CV, beta calibration, promoted to champion (XGBoost).
TRAIN_FAST = dict(models=("logistic_regression", "xgboost"), cv_folds=3)


@dataclass(frozen=True)
class TrainedRun:
    """A run recorded in a template database, and the training result it was recorded from."""

    template: Path
    run_id: int
    result: cc.TrainingResult


def copy_db(template: Path, folder: Path) -> Path:
    """A copy of a template database in ``folder``, for one test (or one module) to open and change."""
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(template, folder / template.name))


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> TrainedRun:
    """The bundled dataset (version 1, active) and run 1 (TRAIN_FAST), whose best model is champion."""
    folder = tmp_path_factory.mktemp("trained")
    store = cc.Store(folder / "trained.duckdb")
    version = store.save_dataset(cc.load_dataset(cc.BUNDLED_CSV)).version
    run_id, result = cc.run_training(store, store.load_dataset(version), promote=True,
                                     artifact_root=folder / "models", **TRAIN_FAST)
    return TrainedRun(store.path, run_id, result)


@pytest.fixture(scope="session")
def trained_template(trained_run) -> Path:
    return trained_run.template


@pytest.fixture
def trained_db(trained_template, tmp_path) -> Path:
    """A database holding the bundled dataset (version 1, active) and run 1, whose best model is champion."""
    return copy_db(trained_template, tmp_path)


@pytest.fixture(scope="session")
def default_training() -> cc.TrainingResult:
    """train_models with every default on the bundled data: three models, 70/30 split, 5-fold CV, beta
    calibration, F1 threshold (a result only: nothing is stored). The slowest training of the suite."""
    return cc.train_models(cc.load_dataset(cc.BUNDLED_CSV))


@pytest.fixture(scope="session")
def events_template(tmp_path_factory) -> Path:
    """A database whose active dataset is a 3,000-customer after-sales visit log (seed 7, suggested window),
    with an out-of-time run promoted (logistic regression) and its score history back to the test cut-off."""
    from churn_core.events.dataset import event_dataset

    folder = tmp_path_factory.mktemp("events")
    store = cc.Store(folder / "events.duckdb")
    demo = cc.generate_visits(n_customers=3000, years=3, seed=7)
    log = cc.read_events(demo.visits, customers=demo.customers)
    version = store.save_events(event_dataset(log, name="aftersales")).version
    store.set_currency(version, "¥")
    cc.run_training(store, store.load_dataset(version), models=("logistic_regression",), promote=True,
                    artifact_root=folder / "models")
    cc.score_as_of(store, version)
    cc.score_back(store, version)
    return store.path


@pytest.fixture
def events_db(events_template, tmp_path) -> Path:
    return copy_db(events_template, tmp_path)


@pytest.fixture(scope="module")
def engine():
    """A Dask LocalCluster of 2 worker processes on 127.0.0.1 for a module of `scale` tests (issue 18)."""
    from churn_core.scale import open_engine

    with open_engine("dask", n_workers=2) as opened:
        yield opened
