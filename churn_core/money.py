"""The currency of a dataset's money, and whether a column can hold it.

The currency belongs to the data, not to the reader's language: it is stored per dataset
(:meth:`churn_core.store.Store.currency`), chosen once by the analyst or guessed from the data's own
locale (:func:`detect_currency`: a header naming a currency code, else Chinese headers or values mean yuan,
anything else dollars).
Switching the language changes how amounts are worded (K/M or 万/亿), never their currency.
"""

from __future__ import annotations

import re

import pandas as pd

from .errors import ParameterError
from .i18n import text

CURRENCIES = ("$", "¥", "€", "£", "")  # "" shows amounts without a symbol
MAX_SYMBOL = 5  # a symbol or a short code ("CHF", "HK$")
_CJK = re.compile(r"[\u4e00-\u9fff]")
# A header naming its currency ("amount_cny", "Spend (EUR)") says which one it is.
_CODES = {"cny": "¥", "rmb": "¥", "yuan": "¥", "jpy": "¥", "eur": "€", "gbp": "£", "usd": "$"}
_TOKEN = re.compile(r"[a-z]+")
# A value column must be a number for (almost) every customer and (almost) never negative: a balance that is
# mostly overdrawn, or a coded score, is not a customer's value.
VALUE_MIN_NUMERIC = 0.95
VALUE_MAX_NEGATIVE = 0.05


def detect_currency(frame: pd.DataFrame, *, sample: int = 200) -> str:
    """The currency the data suggests: the one a header names by its code ("amount_cny" is "¥", "spend_eur"
    "€"), else "¥" when its headers or (a sample of) its text values are Chinese, else "$"."""
    for column in frame.columns:
        named = next((_CODES[w] for w in _TOKEN.findall(str(column).lower()) if w in _CODES), None)
        if named is not None:
            return named
    if any(_CJK.search(str(c)) for c in frame.columns):
        return "¥"
    head = frame.head(sample)
    for column in head.columns:
        if head[column].dtype == object and head[column].astype(str).str.contains(_CJK).any():
            return "¥"
    return "$"


def check_currency(symbol: str) -> str:
    """``symbol`` stripped, or ParameterError when it is not a short currency symbol."""
    clean = symbol.strip() if isinstance(symbol, str) else None
    if clean is None or len(clean) > MAX_SYMBOL:
        raise ParameterError(f"A currency must be a symbol of at most {MAX_SYMBOL} characters, such as '$', '€' or "
                             f"'CHF'. Got {symbol!r} instead.", code="bad_currency", value=symbol)
    return clean


def value_column_problem(series: pd.Series) -> str | None:
    """Why a column cannot be a customer's value (``"not_numeric"`` or ``"negative"``), or None when it can:
    it must be a number for at least 95% of customers and negative for at most 5%."""
    values = series.dropna()
    if not pd.api.types.is_numeric_dtype(values):
        values = values.astype(str).str.strip()
        values = values[values != ""]  # a blank is a missing value, not text
    x = pd.to_numeric(values, errors="coerce")
    if x.empty or x.notna().mean() < VALUE_MIN_NUMERIC:
        return "not_numeric"
    if (x.dropna() < 0).mean() > VALUE_MAX_NEGATIVE:
        return "negative"
    return None


def value_name(columns, *, lang: str = "en") -> str:
    """What a customer's value is, for labels: its column (``monthly_charges``), two columns summed
    (``a + b``), or the first of several and how many more; "value per customer" without a value column
    (the analyst's entry)."""
    columns = [str(c) for c in columns]
    if not columns:
        return text("money.value_per_customer", lang=lang)
    if len(columns) <= 2:
        return " + ".join(columns)
    return text("money.more_columns", lang=lang, first=columns[0], n=len(columns) - 1)


def unit(columns, currency: str, *, lang: str = "en") -> str:
    """A value's unit for a label: what it sums and its currency, "total_charges, $" (no currency: the
    columns alone)."""
    name = value_name(columns, lang=lang)
    return text("money.unit", lang=lang, value=name, currency=currency) if currency else name


__all__ = ["CURRENCIES", "check_currency", "detect_currency", "unit", "value_column_problem", "value_name"]
