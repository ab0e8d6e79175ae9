"""ui.fmt: numbers as the pages show them."""

import math

import pytest

from ui import fmt


@pytest.mark.parametrize(("value", "lang", "shown"), [
    pytest.param(46_349.2, "en", "46.3K", id="en-thousands"),
    pytest.param(46_349.2, "zh", "4.63万", id="zh-wan"),
    pytest.param(37_600_000, "en", "37.6M", id="en-millions"),
    pytest.param(376_000_000, "zh", "3.76亿", id="zh-yi"),
    pytest.param(37_600_000, "zh", "3,760万", id="zh-three-significant-digits"),
    pytest.param(9_999, "en", "9,999", id="en-small-stays-whole"),
    pytest.param(float("nan"), "en", "–", id="missing"),
])
def test_amount(value, lang, shown):
    assert fmt.amount(value, lang=lang) == shown


def test_pct_count_ratio():
    assert fmt.pct(0.140706, digits=2) == "14.07%"
    assert fmt.count(4250) == "4,250"
    assert fmt.ratio(4.6418) == "4.6"
    assert fmt.ratio(math.nan) == "–" and fmt.pct(None) == "–"


@pytest.mark.parametrize(("value", "shown"), [
    pytest.param(715.0, "715", id="whole-no-trailing-zero"),
    pytest.param(715.4, "715", id="rounded-to-customers"),
    pytest.param(1234.6, "1,235", id="grouped"),
    pytest.param(3.44, "3.4", id="one-decimal-below-ten"),
    pytest.param(3.0, "3", id="whole-below-ten"),
    pytest.param(None, "–", id="missing"),
])
def test_expected(value, shown):
    assert fmt.expected(value) == shown


@pytest.mark.parametrize(("value", "shown"), [
    pytest.param(91108.539, "91,109", id="large-grouped-whole"),
    pytest.param(101.32, "101", id="hundreds"),
    pytest.param(30.54, "30.5", id="tens"),
    pytest.param(2.234, "2.23", id="units"),
    pytest.param(0.09534, "0.0953", id="small"),
    pytest.param(-12.345, "-12.3", id="negative"),
    pytest.param(0.0, "0", id="zero"),
    pytest.param(math.nan, "–", id="missing"),
])
def test_mean_has_three_significant_digits(value, shown):
    assert fmt.mean(value) == shown


@pytest.mark.parametrize(("value", "shown"), [
    pytest.param(45.07, "45.07", id="cents-below-a-thousand"),
    pytest.param(100_000, "100,000", id="grouped-whole"),
    pytest.param(None, "–", id="missing"),
])
def test_money(value, shown):
    assert fmt.money(value) == shown


def test_count_rounds_to_whole_things():
    assert fmt.count(2.7) == "3" and fmt.count(1_000_000) == "1,000,000" and fmt.count(None) == "–"
