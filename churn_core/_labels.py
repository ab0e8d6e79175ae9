"""Human labels for columns and reasons, in English and Simplified Chinese (worded by churn_core.i18n).

A reason names a *source*: a column of the customer table, or a derived feature
(``total_charge``...). Known sources get a label from their role (service calls, tenure,
plan flags, state) or from a name pattern (day charges, evening minutes...); anything
else falls back to its column name made readable. Nothing here depends on one
dataset's exact column names.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ._event_words import event_phrases
from .i18n import LANGUAGES, check_language, format_amount, text
from .roles import ColumnRoles, flag_codes

__all__ = ["LANGUAGES", "check_language", "flag_word", "format_amount", "format_points", "format_values",
           "humanise", "reason_sentences", "source_label"]

# (pattern on the source name, catalog key of its label); the first match wins.
_NAME_LABELS: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p, re.I), key) for p, key in (
    (r"^total_charge$", "source.total_charge"),
    (r"^total_minutes$", "source.total_minutes"),
    (r"^charge_per_minute$", "source.charge_per_minute"),
    (r"day.*charge", "source.day_charge"),
    (r"eve.*charge", "source.eve_charge"),
    (r"night.*charge", "source.night_charge"),
    (r"(intl|international).*charge", "source.intl_charge"),
    (r"day.*min", "source.day_minutes"),
    (r"eve.*min", "source.eve_minutes"),
    (r"night.*min", "source.night_minutes"),
    (r"(intl|international).*min", "source.intl_minutes"),
    (r"day.*calls", "source.day_calls"),
    (r"eve.*calls", "source.eve_calls"),
    (r"night.*calls", "source.night_calls"),
    (r"(intl|international).*calls", "source.intl_calls"),
    (r"vmail|voice_?mail.*mess", "source.vmail_messages"),
    (r"area_?code", "source.area_code"),
    (r"account_?length", "source.account_length"),
    (r"monthly_?charge", "source.monthly_charge"),
    (r"contract", "source.contract"),
))
# Plan flags with known wording: (pattern on the flag's name, catalog key stem): <stem> names the plan,
# <stem>.yes / <stem>.no say that a customer has it or not.
_FLAG_KINDS = ((re.compile(r"international|intl", re.I), "flag.international"),
               (re.compile(r"voice|vmail", re.I), "flag.voice_mail"))


def _flag_kind(source: str) -> str | None:
    return next((key for pattern, key in _FLAG_KINDS if pattern.search(source)), None)


def humanise(name: str) -> str:
    """``number_vmail_messages`` -> ``Number vmail messages``."""
    text = re.sub(r"[_\-.]+", " ", str(name)).strip()
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)
    return text[:1].upper() + text[1:].lower() if text else str(name)


def source_label(source: str, *, roles: ColumnRoles, lang: str = "en") -> str:
    """A short label for a source column or derived feature."""
    check_language(lang)
    if source == roles.service_calls:
        return text("source.service_calls", lang=lang)
    if source == roles.state:
        return text("source.state", lang=lang)
    if source in roles.plan_flags:
        kind = _flag_kind(source)
        return text(kind, lang=lang) if kind else source if lang == "zh" else humanise(source)
    for pattern, key in _NAME_LABELS:
        if pattern.search(source):
            return text(key, lang=lang)
    if source == roles.tenure:
        return text("source.tenure", lang=lang)
    return source if lang == "zh" else humanise(source)


_BIG = 1e15


def format_values(values: pd.Series) -> pd.Series:
    """Numbers as short text: whole numbers without decimals, others with at most two, and numbers of 10**15
    or more (beyond whole 64-bit precision) with six significant digits (``1e+30``)."""
    numeric = pd.to_numeric(values, errors="coerce")
    out = values.astype("string")
    ok = numeric.notna()
    if ok.any():
        x = numeric[ok].to_numpy(dtype=float)
        big = ~(np.abs(x) < _BIG)  # inf too
        whole = np.isclose(x, np.round(x)) & ~big
        text = np.where(whole, np.char.mod("%d", np.where(whole, np.round(x), 0).astype(np.int64)),
                        np.char.rstrip(np.char.rstrip(np.char.mod("%.2f", np.where(big, 0, x)), "0"), "."))
        out[ok] = np.where(big, np.char.mod("%.6g", x), text)
    return out.fillna("–")


def flag_word(value, *, lang: str = "en") -> str:
    """A plan flag's value as yes / no (是 / 否)."""
    code = flag_codes(pd.Series([value]))[0]
    return text("common.yes", lang=lang) if code == 1 else text("common.no", lang=lang) if code == 0 else str(value)


def format_points(points: np.ndarray, *, lang: str = "en") -> np.ndarray:
    """Probability changes (fractions) as signed percentage points: ``+21 pts`` / ``+21 个百分点``."""
    pts = np.asarray(points, dtype=float) * 100
    small = np.abs(pts) < 0.95
    number = np.where(small, np.char.mod("%+.1f", pts), np.char.mod("%+.0f", np.round(pts)))
    number = np.char.replace(number, "-", "−")
    before, after = text("reason.points", lang=lang).split("{points}")
    return np.char.add(np.char.add(before, number), after)


def place_words(quantile, *, lang: str = "en") -> np.ndarray:
    """Where a value stands among all customers, from its quantile (the share of customers below it):
    ``top 5% of customers``, ``lowest 10% of customers``, ``above the median``; empty where unknown."""
    q = np.asarray(quantile, dtype=float)
    out = np.full(q.shape, "", dtype=object)
    for share in (0.25, 0.10, 0.05, 0.01):  # the tightest band that holds wins
        out[q >= 1 - share] = text("reason.place.top", lang=lang, share=f"{share:.0%}")
        out[q <= share] = text("reason.place.bottom", lang=lang, share=f"{share:.0%}")
    middle = (q > 0.25) & (q < 0.75)
    out[middle & (q >= 0.5)] = text("reason.place.above", lang=lang)
    out[middle & (q < 0.5)] = text("reason.place.below", lang=lang)
    return out


def reason_sentences(sources: pd.Series, values: pd.Series, points: np.ndarray, *, roles: ColumnRoles,
                     lang: str = "en", quantiles: np.ndarray | None = None, frame: pd.DataFrame | None = None,
                     rows: np.ndarray | None = None, currency: str = "") -> np.ndarray:
    """One sentence per reason, e.g. ``4 customer-service calls — top 5% of customers (+21 pts)``; empty
    where there is no reason. ``quantiles`` (the share of customers below each value; NaN for plans and
    categories) add the value's place among all customers.

    A visit log's known features (:mod:`churn_core._event_words`) are worded from the customer's own values:
    ``No visit for 142 days, 2.3× their usual gap (+4 pts)``. ``frame`` (the dataset's rows) and ``rows``
    (each reason's customer position in it) give the other columns such a sentence needs; ``currency``
    prefixes amounts. Where one cannot be worded (a missing value), the generic sentence stays.

    Vectorised: each distinct source is labelled once.
    """
    check_language(lang)
    sources = pd.Series(sources, dtype="object").reset_index(drop=True)
    values = pd.Series(values, dtype="object").reset_index(drop=True)
    out = np.full(len(sources), "", dtype=object)
    present = sources.notna() & (sources.astype(str) != "")
    if not present.any():
        return out
    text_values = format_values(values)
    signs = np.nan_to_num(np.asarray(points, dtype=float))
    pts = format_points(signs, lang=lang)
    places = np.full(len(sources), "", dtype=object) if quantiles is None else place_words(quantiles, lang=lang)
    for source, idx in sources[present].groupby(sources[present], sort=False).groups.items():
        at = np.asarray(idx)
        phrases = _phrases(str(source), values.iloc[at], text_values.iloc[at], roles=roles, lang=lang)
        worded, placed = event_phrases(str(source), values.iloc[at], signs[at], frame,
                                       None if rows is None else np.asarray(rows)[at], lang=lang, currency=currency)
        phrases = [p if e is None else e for p, e in zip(phrases, worded)]
        where = [w if e is None or placed else "" for w, e in zip(places[at], worded)]
        phrases = [text("reason.placed", lang=lang, phrase=p, place=w) if w else p for p, w in zip(phrases, where)]
        out[at] = [text("reason.sentence", lang=lang, phrase=p, points=q) for p, q in zip(phrases, pts[at])]
    return out


def _phrases(source: str, raw: pd.Series, values: pd.Series, *, roles: ColumnRoles, lang: str) -> list[str]:
    if source in roles.plan_flags:
        codes = flag_codes(raw.reset_index(drop=True))
        kind = _flag_kind(source)
        if kind:
            has, lacks = text(f"{kind}.yes", lang=lang), text(f"{kind}.no", lang=lang)
            return [has if c == 1 else lacks for c in codes]
        label = source_label(source, roles=roles, lang=lang)
        yes, no = text("common.yes", lang=lang), text("common.no", lang=lang)
        return [text("reason.flag_value", lang=lang, label=label, value=yes if c == 1 else no) for c in codes]
    if source == roles.service_calls:
        one, many = text("reason.calls_one", lang=lang), text("reason.calls_many", lang=lang)
        return [(one if v == "1" else many).format(n=v) for v in values]
    label = source_label(source, roles=roles, lang=lang)
    return [text("reason.value", lang=lang, label=label, value=v) for v in values]
