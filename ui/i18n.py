"""The one lookup in the session's language: ``t(key, **params)`` words a key from the app's gettext catalog
(ui/locales/<lang>/LC_MESSAGES/app.po), else from the library's (churn_core/locales: errors, issues, reasons,
actions, ROI summary); errors and validation issues are worded by their code. README, "Translations", says how
to edit the catalogs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import streamlit as st

from churn_core import i18n as _library
from churn_core.i18n import DEFAULT_LANGUAGE, LANGUAGES, Catalog

from .cache import once_per_run

__all__ = ["LANGUAGES", "STRINGS", "current_language", "error_text", "has_key", "issue_text", "literal", "t", "text",
           "tm", "worded", "wording"]

# The app's messages, then the library's: STRINGS[lang][key] for every key the app can show.
STRINGS = Catalog(Path(__file__).resolve().parent / "locales", "app", fallback=_library.STRINGS)


def text(key: str, *, lang: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    """The string ``key`` in ``lang`` (the app's catalog, then the library's), formatted with ``params``."""
    return STRINGS.text(key, lang=lang, **params)


def has_key(key: str) -> bool:
    """Whether the app's or the library's catalog words ``key``."""
    return STRINGS.has_key(key)


@once_per_run
def current_language() -> str:
    """The session's language: ``?lang=`` in the URL, else the sidebar choice, else English.

    Read once per script run (a page asks a few hundred times; switching language reruns the script).
    """
    lang = st.session_state.get("lang")
    if lang not in LANGUAGES:
        lang = st.query_params.get("lang", DEFAULT_LANGUAGE)
        lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
        st.session_state["lang"] = lang
    return lang


def t(key: str, **params: Any) -> str:
    """The string ``key`` in the session's language, formatted with ``params``."""
    return text(key, lang=current_language(), **params)


# What can make Markdown (or Streamlit's :red[...], :material/x: and $math$, or HTML) out of a name: these
# characters anywhere; "_" where it could open or close emphasis (not inside a word, as in total_day_calls); and
# ":" touching the next character (a directive, an emoji code, the "://" of a link), not "notes: text".
_MARKDOWN_SPECIAL = re.compile(r"[\\`*\[\]<>|~$]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])|:(?=\S)")
# GFM links a bare web address even when escaped: an invisible word joiner (U+2060) keeps it text.
_WEB_ADDRESS = re.compile(r"(?i)(?<=[a-z])(?=://)|(?<=\bwww)(?=\.)")
_WORD_JOINER = "\u2060"
# What starts a heading or a list item when the text starts a line (a number such as 42.1% does not).
_BLOCK_START = re.compile(r"^(?:#{1,6}|[-+]|\d{1,9}[.)])(?=\s|$)")


def literal(value: Any) -> str:
    """User text (a dataset, column, sheet or file name, a value) made safe to put into Markdown: shown exactly
    as typed, never as a link, an image, HTML, emphasis, a heading or a list. Line breaks become spaces (a new
    line could start a block). CommonMark shows a backslash-escaped punctuation character as itself; a web
    address gets an invisible word joiner before its "://" (or after "www") so that it is not linked."""
    text = _WEB_ADDRESS.sub(_WORD_JOINER, " ".join(str(value).split()))
    text = _MARKDOWN_SPECIAL.sub(lambda m: "\\" + m.group(), text)
    return _BLOCK_START.sub(lambda m: m.group()[:-1] + "\\" + m.group()[-1], text)


def tm(key: str, **params: Any) -> str:
    """``t`` for text drawn as Markdown (st.markdown, captions, alerts, toasts, widget labels and help, a
    status): every text parameter is shown literally (``literal``), so a name such as
    ``![x](http://host/p.png)`` is never an image. Numbers pass as they are."""
    return t(key, **{k: literal(v) if isinstance(v, str) else v for k, v in params.items()})


def worded(prefix: str, *, none: str | None = None):
    """A widget's ``format_func`` that words option ``k`` as the key ``prefix + k`` in the language the page is
    drawn in (bound now: a format function may be called outside the script run, e.g. by AppTest after a
    language switch). ``none`` words an empty option."""
    lang = current_language()

    def word(option) -> str:
        if not option and none is not None:
            return text(none, lang=lang)
        return text(f"{prefix}{option}", lang=lang) if prefix else str(option)
    return word


def wording(options, word):
    """A widget's ``format_func`` that words each of ``options`` with ``word(option)`` now, in the language the
    page is drawn in (like :func:`worded`, for options worded with parameters or by a function). Anything else
    (AppTest formats an already worded label again) is shown as it is."""
    names = {option: word(option) for option in options}
    return lambda option: names.get(option, str(option))


def _readable(params: dict[str, Any]) -> dict[str, str]:
    """Parameters as text: lists joined, {column: count} as "column (count)", rates as percentages."""
    out = {}
    for key, value in params.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} ({v:,})" if isinstance(v, int) else f"{k} ({v})" for k, v in value.items())
        elif isinstance(value, list | tuple):
            value = ", ".join(str(v) for v in value)
        elif key == "rate" and isinstance(value, float):
            value = f"{value:.1%}"
        elif isinstance(value, float):
            value = f"{value:.3f}"
        elif isinstance(value, int) and not isinstance(value, bool):
            value = f"{value:,}"
        out[key] = value
    return out


def error_text(err: Exception) -> str:
    """A churn_core error in the user's language (its English message for codes not listed here), for an alert:
    its parameters (file and column names...) shown literally."""
    code = getattr(err, "code", "error")
    if has_key(f"error.{code}"):
        try:
            return tm(f"error.{code}", **_readable(getattr(err, "params", {})))
        except KeyError:  # a parameter the wording needs is absent: the library's own message still helps
            return literal(str(err))
    return literal(str(err))


def issue_text(issue) -> str:
    """A validation issue (churn_core.Issue) in the user's language."""
    key = f"issue.{issue.code}"
    if not has_key(key):
        return literal(issue.message)
    try:
        return tm(key, **_readable({"column": issue.column, **(issue.params or {})}))
    except KeyError:
        return literal(issue.message)
