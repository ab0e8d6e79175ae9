"""Human labels for columns and reasons, in English and Simplified Chinese.

A reason names a *source*: a column of the customer table, or a derived feature
(``total_charge``...). Known sources get a label from their role (service calls, tenure,
plan flags, state) or from a name pattern (day charges, evening minutes...); anything
else falls back to its column name made readable. Nothing here depends on one
dataset's exact column names.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from .errors import ParameterError
from .roles import ColumnRoles, flag_codes

LANGUAGES = ("en", "zh")

# (pattern on the source name, English label, Chinese label); the first match wins.
_NAME_LABELS: tuple[tuple[re.Pattern, str, str], ...] = tuple((re.compile(p, re.I), en, zh) for p, en, zh in (
    (r"^total_charge$", "Total charges", "总话费"),
    (r"^total_minutes$", "Total minutes", "总通话分钟数"),
    (r"^charge_per_minute$", "Charge per minute", "每分钟费用"),
    (r"day.*charge", "Day charges", "白天话费"),
    (r"eve.*charge", "Evening charges", "晚间话费"),
    (r"night.*charge", "Night charges", "夜间话费"),
    (r"(intl|international).*charge", "International charges", "国际话费"),
    (r"day.*min", "Day minutes", "白天通话分钟数"),
    (r"eve.*min", "Evening minutes", "晚间通话分钟数"),
    (r"night.*min", "Night minutes", "夜间通话分钟数"),
    (r"(intl|international).*min", "International minutes", "国际通话分钟数"),
    (r"day.*calls", "Day calls", "白天通话次数"),
    (r"eve.*calls", "Evening calls", "晚间通话次数"),
    (r"night.*calls", "Night calls", "夜间通话次数"),
    (r"(intl|international).*calls", "International calls", "国际通话次数"),
    (r"vmail|voice_?mail.*mess", "Voice-mail messages", "语音留言数"),
    (r"area_?code", "Area code", "区号"),
    (r"account_?length", "Account length", "在网时长"),
    (r"monthly_?charge", "Monthly charges", "月费"),
    (r"contract", "Contract", "合约类型"),
))
_FLAG_LABELS: tuple[tuple[re.Pattern, tuple[str, str], tuple[str, str]], ...] = (
    (re.compile(r"international|intl", re.I), ("Has an international plan", "No international plan"),
     ("开通了国际长途套餐", "未开通国际长途套餐")),
    (re.compile(r"voice|vmail", re.I), ("Has a voice-mail plan", "No voice-mail plan"),
     ("开通了语音信箱", "未开通语音信箱")),
)
_FLAG_NAMES = ((re.compile(r"international|intl", re.I), "International plan", "国际长途套餐"),
               (re.compile(r"voice|vmail", re.I), "Voice-mail plan", "语音信箱套餐"))
_YES_NO = {"en": ("yes", "no"), "zh": ("是", "否")}


def check_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ParameterError(f"The 'lang' parameter must be one of {list(LANGUAGES)}. Got {lang!r} instead.",
                             code="bad_parameter", name="lang", value=lang)
    return lang


def format_amount(x: float | None, *, lang: str = "en") -> str:
    """A large amount without a currency symbol: 12.3K / 4.5M in English; three significant digits in
    Chinese: 1.23万 / 3,760万 / 4.50亿."""
    if x is None or math.isnan(x):
        return "–"
    units = (("亿", 1e8), ("万", 1e4)) if lang == "zh" else (("B", 1e9), ("M", 1e6), ("K", 1e3))
    for unit, size in units:
        if abs(x) >= size * (10 if unit == "K" else 1):
            scaled = x / size
            digits = 1 if lang == "en" else 2 if abs(scaled) < 10 else 1 if abs(scaled) < 100 else 0
            return f"{scaled:,.{digits}f}{unit}"
    return f"{x:,.0f}"


def humanise(name: str) -> str:
    """``number_vmail_messages`` -> ``Number vmail messages``."""
    text = re.sub(r"[_\-.]+", " ", str(name)).strip()
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)
    return text[:1].upper() + text[1:].lower() if text else str(name)


def source_label(source: str, *, roles: ColumnRoles, lang: str = "en") -> str:
    """A short label for a source column or derived feature."""
    zh = lang == "zh"
    if source == roles.service_calls:
        return "客服来电次数" if zh else "Customer-service calls"
    if source == roles.state:
        return "所在州" if zh else "State"
    if source in roles.plan_flags:
        for pattern, en_label, zh_label in _FLAG_NAMES:
            if pattern.search(source):
                return zh_label if zh else en_label
        return source if zh else humanise(source)
    for pattern, en_label, zh_label in _NAME_LABELS:
        if pattern.search(source):
            return zh_label if zh else en_label
    if source == roles.tenure:
        return "在网时长" if zh else "Tenure"
    return source if zh else humanise(source)


def format_values(values: pd.Series) -> pd.Series:
    """Numbers as short text: whole numbers without decimals, others with at most two."""
    numeric = pd.to_numeric(values, errors="coerce")
    out = values.astype("string")
    ok = numeric.notna()
    if ok.any():
        x = numeric[ok].to_numpy(dtype=float)
        whole = np.isclose(x, np.round(x))
        text = np.where(whole, np.char.mod("%d", np.round(x).astype(np.int64)),
                        np.char.rstrip(np.char.rstrip(np.char.mod("%.2f", x), "0"), "."))
        out[ok] = text
    return out.fillna("–")


def flag_word(value, *, lang: str = "en") -> str:
    """A plan flag's value as yes / no (是 / 否)."""
    code = flag_codes(pd.Series([value]))[0]
    yes, no = _YES_NO[lang]
    return yes if code == 1 else no if code == 0 else str(value)


def format_points(points: np.ndarray, *, lang: str = "en") -> np.ndarray:
    """Probability changes (fractions) as signed percentage points: ``+21 pts`` / ``+21 个百分点``."""
    pts = np.asarray(points, dtype=float) * 100
    small = np.abs(pts) < 0.95
    text = np.where(small, np.char.mod("%+.1f", pts), np.char.mod("%+.0f", np.round(pts)))
    text = np.char.replace(text, "-", "−")
    return np.char.add(text, " 个百分点" if lang == "zh" else " pts")


def reason_sentences(sources: pd.Series, values: pd.Series, points: np.ndarray, *, roles: ColumnRoles,
                     lang: str = "en") -> np.ndarray:
    """One sentence per reason, e.g. ``4 customer-service calls (+21 pts)``; empty where there is no reason.

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
    pts = format_points(np.nan_to_num(np.asarray(points, dtype=float)), lang=lang)
    for source, idx in sources[present].groupby(sources[present], sort=False).groups.items():
        rows = np.asarray(idx)
        phrases = _phrases(str(source), values.iloc[rows], text_values.iloc[rows], roles=roles, lang=lang)
        open_, close = ("（", "）") if lang == "zh" else (" (", ")")
        out[rows] = [f"{p}{open_}{q}{close}" for p, q in zip(phrases, pts[rows])]
    return out


def _phrases(source: str, raw: pd.Series, text: pd.Series, *, roles: ColumnRoles, lang: str) -> list[str]:
    zh = lang == "zh"
    if source in roles.plan_flags:
        codes = flag_codes(raw.reset_index(drop=True))
        for pattern, en, zh_words in _FLAG_LABELS:
            if pattern.search(source):
                yes, no = zh_words if zh else en
                return [yes if c == 1 else no for c in codes]
        label = source_label(source, roles=roles, lang=lang)
        yes, no = _YES_NO[lang]
        sep = "：" if zh else ": "
        return [f"{label}{sep}{yes if c == 1 else no}" for c in codes]
    if source == roles.service_calls:
        if zh:
            return [f"{v} 次客服来电" for v in text]
        return [f"{v} customer-service call" + ("" if v == "1" else "s") for v in text]
    label = source_label(source, roles=roles, lang=lang)
    return [f"{label} {v}" for v in text]
