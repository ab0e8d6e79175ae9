"""Number formatting for the UI: every number a page shows goes through one of these.

- ``count``: whole things, grouped: ``4,250``.
- ``expected``: an expected number of customers (a sum of probabilities, such as "Expected churners"):
  whole customers, grouped (``715``, ``1,234``), with one decimal only below 10 (``3.4``) so that a
  handful is not rounded away. Never ``715.0``.
- ``money``: a value in the data's units, grouped: two decimals below 1,000 (``45.07``), none from
  there (``91,109``). ``amount`` is the compact form for KPIs (``46.3K`` / ``4.63万``).
- ``mean``: an average with three significant digits, never cutting the whole part and grouped:
  ``91,109`` (not ``91108.539``), ``101``, ``30.5``, ``2.23``, ``0.0953``.
- ``cash``: a large amount with the dataset's currency, the sign first: ``$46.3K``, ``−¥4.63万`` (the currency
  is the data's, never the language's: only the K/M or 万/亿 wording follows the language). ``entered`` is an
  input's value written out in full for its help text (``$100,000``), since number inputs cannot group.
- ``pct``: a fraction as a percentage, ``ratio``: one decimal, ``number``: fixed decimals, grouped.
- Sliders show thousands separators through a printf format, ``SLIDER_WHOLE`` (``100,000``).

Missing values (None, NaN) show as "–".
"""

from __future__ import annotations

import math

from churn_core import format_amount

SLIDER_WHOLE = "%,.0f"  # st.slider's printf format (sprintf.js) for a whole amount with thousands separators


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def pct(x: float | None, *, digits: int = 1) -> str:
    if _missing(x):
        return "–"
    return f"{x * 100:.{digits}f}%"


def count(n: float | None) -> str:
    return "–" if _missing(n) else f"{round(n):,}"


def expected(x: float | None) -> str:
    """An expected number of customers: ``715`` (not ``715.0``), ``1,234``; ``3.4`` below 10."""
    if _missing(x):
        return "–"
    return f"{x:.1f}" if abs(x) < 9.95 and round(x, 1) != round(x) else f"{round(x):,}"


def money(x: float | None) -> str:
    """A value in the data's units, grouped: ``45.07``, ``1,234``."""
    if _missing(x):
        return "–"
    return f"{x:,.2f}" if abs(x) < 1000 else f"{x:,.0f}"


def mean_digits(x: float | None) -> int:
    """The decimals that give ``x`` three significant digits (none for 100 and above, at most 4)."""
    if _missing(x) or x == 0:
        return 0
    return min(max(2 - math.floor(math.log10(abs(x))), 0), 4)


def mean(x: float | None) -> str:
    """An average: ``91,109``, ``101``, ``30.5``, ``2.23``, ``0.0953``."""
    return "–" if _missing(x) else f"{x:,.{mean_digits(x)}f}"


def ratio(x: float | None) -> str:
    return "–" if _missing(x) else f"{x:.1f}"


def amount(x: float | None, *, lang: str = "en") -> str:
    """A large amount, no currency symbol (value units are the data's): 12.3K / 4.5M in English,
    1.23万 / 4.5亿 in Chinese."""
    return format_amount(x, lang=lang)


def cash(x: float | None, currency: str, *, lang: str = "en") -> str:
    """A large amount with its currency: ``$46.3K``, ``−¥4.63万``."""
    from churn_core.roi_page import money as with_currency

    return "–" if _missing(x) else with_currency(x, currency, lang=lang)


def entered(x: float | None, currency: str = "") -> str:
    """An input's value in full, grouped, with its currency: ``$100,000``, ``€45.50``."""
    if _missing(x):
        return "–"
    return ("−" if x < 0 else "") + currency + money(abs(x))


def number(x: float | None, *, digits: int = 2) -> str:
    return "–" if _missing(x) else f"{x:,.{digits}f}"
