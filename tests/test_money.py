"""churn_core.money: the currency a dataset's own headers and values suggest."""

from __future__ import annotations

import pandas as pd
import pytest

import churn_core as cc


@pytest.mark.parametrize(("columns", "expected"), [
    (["customer_id", "amount_cny"], "¥"), (["id", "Spend (EUR)"], "€"), (["id", "revenue_gbp"], "£"),
    (["id", "total_usd"], "$"), (["客户", "金额"], "¥"), (["id", "total_charges"], "$"), (["id", "currency"], "$"),
], ids=["cny", "eur", "gbp", "usd", "chinese-headers", "no-hint", "a-word-containing-a-code"])
def test_a_header_naming_its_currency_decides_it(columns, expected):
    frame = pd.DataFrame([[1, 2.5]], columns=columns)
    assert cc.detect_currency(frame) == expected
