"""churn_core._labels: reasons as sentences in English and Chinese, for known and unknown columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import churn_core as cc
from churn_core._labels import format_points, format_values, humanise, reason_sentences, source_label

ROLES = cc.ColumnRoles(target="churn", service_calls="number_customer_service_calls", tenure="account_length",
                       plan_flags=("international_plan", "voice_mail_plan"), state="state",
                       numeric=("number_customer_service_calls", "account_length", "total_day_charge", "zz_score"))


@pytest.mark.parametrize(("source", "value", "points", "en", "zh"), [
    ("number_customer_service_calls", 4, 0.21, "4 customer-service calls (+21 pts)", "4 次客服来电（+21 个百分点）"),
    ("number_customer_service_calls", 1, -0.02, "1 customer-service call (−2 pts)", "1 次客服来电（−2 个百分点）"),
    ("international_plan", "yes", 0.18, "Has an international plan (+18 pts)", "开通了国际长途套餐（+18 个百分点）"),
    ("voice_mail_plan", "no", 0.004, "No voice-mail plan (+0.4 pts)", "未开通语音信箱（+0.4 个百分点）"),
    ("total_day_charge", 45.07, 0.1, "Day charges 45.07 (+10 pts)", "白天话费 45.07（+10 个百分点）"),
    ("total_charge", 75.5, 0.3, "Total charges 75.5 (+30 pts)", "总话费 75.5（+30 个百分点）"),
    ("state", "KS", 0.01, "State KS (+1 pts)", "所在州 KS（+1 个百分点）"),
    ("zz_score", 3.0, -0.05, "Zz score 3 (−5 pts)", "zz_score 3（−5 个百分点）"),
], ids=lambda v: str(v)[:24])
def test_reason_sentences(source, value, points, en, zh):
    args = (pd.Series([source]), pd.Series([value]), np.array([points]))
    assert reason_sentences(*args, roles=ROLES)[0] == en
    assert reason_sentences(*args, roles=ROLES, lang="zh")[0] == zh


def test_missing_reasons_stay_empty():
    out = reason_sentences(pd.Series([None, "state"]), pd.Series([None, "CA"]), np.array([np.nan, 0.02]), roles=ROLES)
    assert out.tolist() == ["", "State CA (+2 pts)"]


def test_helpers():
    assert humanise("MonthlyCharges") == "Monthly charges"
    assert humanise("number_vmail_messages") == "Number vmail messages"
    assert format_values(pd.Series([4.0, 45.071, "KS", None])).tolist() == ["4", "45.07", "KS", "–"]
    assert format_points(np.array([0.0004, -0.2149])).tolist() == ["+0.0 pts", "−21 pts"]
    assert source_label("international_plan", roles=ROLES, lang="zh") == "国际长途套餐"
    assert source_label("account_length", roles=ROLES) == "Account length"


def test_huge_values_are_shown_in_short_form_not_wrapped_around():
    values = pd.Series([10**30, -1e20, 123456789012345.0, float("inf")], dtype=object)
    assert format_values(values).tolist() == ["1e+30", "-1e+20", "123456789012345", "inf"]
