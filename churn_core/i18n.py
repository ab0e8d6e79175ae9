"""Every user-visible string of Churn Radar, in English and Simplified Chinese, behind one lookup.

The texts live in gettext catalogs, one ``.po`` file per language and domain (see README, "Translations"):

- ``churn_core/locales/<lang>/LC_MESSAGES/churn_core.po``: what churn_core words itself (errors, validation
  issues, reasons, actions, risk tiers, the ROI summary, the one-page export). ``text`` and ``has_key`` here
  read this domain only, so the library needs nothing from the app.
- ``ui/locales/<lang>/LC_MESSAGES/app.po``: the app's pages; ``ui.i18n`` reads it first, then this domain.

A message id is the key the code asks for (``msgid "roi.k_net"``), its ``msgstr`` the text, with str.format
``{name}`` placeholders (entries flagged ``python-brace-format``). The English catalog carries the English
text too, so a key missing from a language is visible. ``make`` compiles each ``.po`` into a ``.mo`` next to
it; a ``.mo`` that is missing or older than its ``.po`` is ignored and the ``.po`` is read instead (a small
reader below: no Babel needed at run time). Catalogs load on first use: importing this module reads no file.

Errors and validation issues carry a ``code`` and ``params``; they are worded by ``error.<code>`` /
``issue.<code>`` keys (the library's own English message is the fallback for a code not listed).
Locale formats (large amounts in K/M or 万/亿) live here too.
"""

from __future__ import annotations

import math
import re
import struct
import threading
from collections import ChainMap
from collections.abc import Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any

from .errors import ParameterError

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "LOCALES", "STRINGS", "Catalog", "check_language", "format_amount",
           "has_key", "read_mo", "read_po", "text"]

LANGUAGES = {"en": "English", "zh": "中文"}  # each language named in itself, for the language switch
DEFAULT_LANGUAGE = "en"
LOCALES = Path(__file__).resolve().parent / "locales"


def check_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ParameterError(f"The 'lang' parameter must be one of {list(LANGUAGES)}. Got {lang!r} instead.",
                             code="bad_parameter", name="lang", value=lang)
    return lang


class Catalog(Mapping[str, MutableMapping[str, str]]):
    """The messages of one gettext domain, per language: ``catalog[lang][key]`` is the text.

    ``fallback`` is a catalog consulted for keys this one lacks (the app's catalog falls back to the library's):
    ``catalog[lang]`` is then a ChainMap over both, so a change to the fallback's entries shows through.
    A language's messages are read on first use, from the compiled ``.mo`` when it is at least as new as the
    ``.po``, else from the ``.po``.
    """

    def __init__(self, locales: Path, domain: str, *, fallback: Catalog | None = None):
        self.locales, self.domain, self.fallback = Path(locales), domain, fallback
        self._own: dict[str, dict[str, str]] = {}
        self._views: dict[str, MutableMapping[str, str]] = {}
        self._lock = threading.Lock()  # the server's sessions may ask first at the same time: read each file once

    def po_path(self, lang: str) -> Path:
        return self.locales / lang / "LC_MESSAGES" / f"{self.domain}.po"

    def own(self, lang: str) -> dict[str, str]:
        """This domain's messages in ``lang``, without the fallback's."""
        if lang not in self._own:
            with self._lock:
                if lang not in self._own:
                    self._own[lang] = load_messages(self.po_path(check_language(lang)))
        return self._own[lang]

    def __getitem__(self, lang: str) -> MutableMapping[str, str]:
        if lang not in LANGUAGES:
            raise KeyError(lang)
        if lang not in self._views:
            own = self.own(lang)
            self._views[lang] = own if self.fallback is None else ChainMap(own, self.fallback[lang])
        return self._views[lang]

    def __iter__(self) -> Iterator[str]:
        return iter(LANGUAGES)

    def __len__(self) -> int:
        return len(LANGUAGES)

    def text(self, key: str, *, lang: str = DEFAULT_LANGUAGE, **params: Any) -> str:
        """The string ``key`` in ``lang``, formatted with ``params`` (English where ``lang`` lacks the key)."""
        found = self.get(lang, self[DEFAULT_LANGUAGE]).get(key) or self[DEFAULT_LANGUAGE].get(key)
        if found is None:
            raise KeyError(f"No translation for '{key}' in {self._where()}. Add it to the .po file of every "
                           f"language (README, 'Translations').")
        return found.format(**params) if params else found

    def has_key(self, key: str) -> bool:
        return key in self[DEFAULT_LANGUAGE]

    def _where(self) -> str:
        mine = f"{self.locales}/*/LC_MESSAGES/{self.domain}.po"
        return mine if self.fallback is None else f"{mine} or {self.fallback._where()}"


def load_messages(po: Path) -> dict[str, str]:
    """The messages of one ``.po`` file, read from its compiled ``.mo`` when that is not older."""
    mo = po.with_suffix(".mo")
    try:
        if mo.stat().st_mtime >= po.stat().st_mtime:
            return read_mo(mo)
    except FileNotFoundError:
        pass
    return read_po(po)


def read_mo(path: Path) -> dict[str, str]:
    """The translated messages of a compiled GNU ``.mo`` file (UTF-8), header left out."""
    data = Path(path).read_bytes()
    for order in "<>":
        magic, _revision, count, ids_at, strs_at = struct.unpack_from(f"{order}5I", data)
        if magic == 0x950412DE:
            break
    else:
        raise ValueError(f"{path} is not a .mo file (bad magic number). Recompile it with `make messages`.")
    out = {}
    for i in range(count):
        id_len, id_at = struct.unpack_from(f"{order}2I", data, ids_at + 8 * i)
        str_len, str_at = struct.unpack_from(f"{order}2I", data, strs_at + 8 * i)
        key = data[id_at:id_at + id_len].decode("utf-8")
        if key:  # the empty id is the header
            out[key] = data[str_at:str_at + str_len].decode("utf-8")
    return out


_PO_LINE = re.compile(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?)?\s*"((?:[^"\\]|\\.)*)"$')
_PO_ESCAPE = re.compile(r"\\([\\trn\"])")
_PO_ESCAPED = {"\\": "\\", "t": "\t", "r": "\r", "n": "\n", '"': '"'}


def read_po(path: Path) -> dict[str, str]:
    """The translated messages of a ``.po`` file as a compiler keeps them: entries with an empty ``msgstr``,
    fuzzy or obsolete (``#~``) entries, contexts, plural forms and the header are left out.

    A small reader for the subset of the format these catalogs use, which Babel and PO editors write, so the
    app runs without Babel and without a compile step.
    """
    out: dict[str, str] = {}
    entry: dict[str, str] = {}
    field, fuzzy = None, False
    for number, raw in enumerate([*Path(path).read_text(encoding="utf-8").splitlines(), ""], 1):
        line = raw.strip()
        if any(f.startswith("msgstr") for f in entry) and (not line or line.startswith(("#", "msgid ", "msgctxt "))):
            key, value = entry.get("msgid"), entry.get("msgstr")
            if key and value and not fuzzy and entry.keys() == {"msgid", "msgstr"}:
                out[key] = value
            entry, field, fuzzy = {}, None, False
        if not line or line.startswith("#"):
            fuzzy = fuzzy or (line.startswith("#,") and "fuzzy" in line)
            continue
        match = _PO_LINE.match(line)
        if match is None or (match[1] is None and field is None):
            raise ValueError(f"{path}, line {number}: cannot read {raw!r}. Check the quotes and the keyword.")
        if match[1]:
            field = match[1]
            entry[field] = ""
        entry[field] += _PO_ESCAPE.sub(lambda m: _PO_ESCAPED[m[1]], match[2])
    return out


STRINGS = Catalog(LOCALES, "churn_core")


def text(key: str, *, lang: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    """The library's string ``key`` in ``lang``, formatted with ``params`` (English where ``lang`` lacks it)."""
    return STRINGS.text(key, lang=lang, **params)


def has_key(key: str) -> bool:
    """Whether the library's catalog words ``key``."""
    return STRINGS.has_key(key)


_AMOUNT_UNITS = {"en": (("B", 1e9), ("M", 1e6), ("K", 1e3)), "zh": (("亿", 1e8), ("万", 1e4))}


def format_amount(x: float | None, *, lang: str = DEFAULT_LANGUAGE) -> str:
    """A large amount without a currency symbol: 12.3K / 4.5M in English; three significant digits in
    Chinese: 1.23万 / 3,760万 / 4.50亿."""
    if x is None or math.isnan(x):
        return "–"
    for unit, size in _AMOUNT_UNITS[check_language(lang)]:
        if abs(x) >= size * (10 if unit == "K" else 1):
            scaled = x / size
            digits = 1 if lang == "en" else 2 if abs(scaled) < 10 else 1 if abs(scaled) < 100 else 0
            return f"{scaled:,.{digits}f}{unit}"
    return f"{x:,.0f}"
