"""Lay out an already-worded summary as a one-page A4-landscape PDF (or a PNG of it).

Another module computes the words and numbers and fills a :class:`OnePage`; this one only
draws it: title, a row of KPI tiles, a vector line chart (band, curve, marked point), a short
paragraph, a list of assumptions and a footer. Text that does not fit is shrunk, then cut with
"…", so the result is always exactly one page. Fonts are embedded as subsets, so the text stays
searchable: a CJK font for Chinese (see :func:`find_font`); for English the same font, else
DejaVu/Liberation, else the PDF core Helvetica with non-Latin-1 characters spelled in ASCII.
"""

from __future__ import annotations

import functools
import io
import logging
import math
import os
import re
import tempfile
import threading
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pypdfium2
from fontTools import subset as ftsubset
from fontTools.ttLib import TTFont, TTLibError
from fpdf import FPDF
from fpdf.enums import StrokeCapStyle, StrokeJoinStyle

from .errors import ChurnCoreError, ParameterError
from .i18n import _AMOUNT_UNITS, text

logger = logging.getLogger(__name__)

LANGS = ("en", "zh")
FONT_ENV = "CHURN_RADAR_FONT"


class ExportError(ChurnCoreError, RuntimeError):
    """A one-page export cannot be drawn: no suitable font, or an unreadable font file."""


@dataclass(frozen=True)
class FontFace:
    """One face of a font file; ``index`` picks the face inside a .ttc collection."""

    path: Path
    index: int = 0


_NOTO = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
_CJK_CANDIDATES: tuple[FontFace, ...] = (
    FontFace(Path(_NOTO), 2),  # faces: 0 JP, 1 KR, 2 SC, 3 TC, 4 HK
    FontFace(Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"), 0),
    FontFace(Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"), 0),
    FontFace(Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"), 0),
    FontFace(Path("/usr/share/fonts/truetype/arphic/uming.ttc"), 0),
)
_LATIN_CANDIDATES: tuple[FontFace, ...] = (
    FontFace(Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"), 0),
    FontFace(Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"), 0),
)
_BOLD_SIBLINGS = {  # regular file name -> bold file name in the same folder, same face index
    "NotoSansCJK-Regular.ttc": "NotoSansCJK-Bold.ttc",
    "DejaVuSans.ttf": "DejaVuSans-Bold.ttf",
    "LiberationSans-Regular.ttf": "LiberationSans-Bold.ttf",
}
_ASCII = {"−": "-", "–": "-", "—": "-", "≥": ">=", "≤": "<=", "…": "...", "×": "x", "€": "EUR", "≈": "~",
          "→": "->", "‘": "'", "’": "'", "“": '"', "”": '"', "•": "-", "\u2009": " ", "\u202f": " "}
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"  # CJK scripts and punctuation, full-width forms
_TOKEN = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+\s*|\s+")
_NO_LINE_START = set("，。、；：？！）》」』”’%…,.;:!?)]")
_NO_LINE_END = set("（《「『“‘([")
_NUMBER_UNITS = {unit for unit, _ in _AMOUNT_UNITS["zh"]}  # "1.16亿" stays on one line
_FIXED_DATE = datetime(2000, 1, 1, tzinfo=UTC)  # same input, same bytes
_PDFIUM_LOCK = threading.Lock()  # PDFium is not thread-safe; Streamlit sessions are threads

# Palette (RGB) and page geometry (mm; A4 landscape is 297 x 210).
NAVY, GREY, RULE, TILE = (22, 37, 66), (96, 106, 122), (226, 230, 237), (242, 245, 249)
ACCENT, BAND, MARKER = (31, 119, 180), (207, 226, 240), (226, 87, 45)
_W, _H, _M = 297.0, 210.0, 14.0
_PT = 25.4 / 72  # mm per point


@dataclass(frozen=True, kw_only=True)
class Chart:
    """One line chart: y against x, with an optional uncertainty band and one marked point."""

    x: tuple[float, ...]
    y: tuple[float, ...]
    low: tuple[float, ...] | None = None  # band lower edge, same length as x
    high: tuple[float, ...] | None = None
    x_label: str = ""
    y_label: str = ""
    x_ticks: tuple[tuple[float, str], ...] = ()  # (position, label), already formatted
    y_ticks: tuple[tuple[float, str], ...] = ()
    marker: tuple[float, float, str] | None = None  # (x, y, label), e.g. the profit-optimal point
    zero_line: bool = True  # draw y = 0 when it is inside the range

    def __post_init__(self) -> None:
        for name in ("y", "low", "high"):
            values = getattr(self, name)
            if values is not None and len(values) != len(self.x):
                raise ParameterError(
                    f"The '{name}' field of Chart must have one value per x ({len(self.x)}). "
                    f"Got {len(values)} values instead; pass sequences of equal length.",
                    code="chart_length", field=name, expected=len(self.x), got=len(values))


@dataclass(frozen=True, kw_only=True)
class OnePage:
    """Everything on the page, worded and formatted by the caller."""

    lang: str  # "en" or "zh"
    title: str
    subtitle: str  # e.g. dataset and model version, date
    kpis: tuple[tuple[str, str], ...]  # (label, value): 3 to 6 big numbers, e.g. ("ROI", "1,690%")
    chart_title: str
    chart: Chart | None
    summary: str  # a short plain-language paragraph
    assumptions: tuple[tuple[str, str], ...]  # (name, value) pairs, up to ~14
    footer: str


# --- fonts
def find_font(lang: str) -> FontFace | None:
    """The font to draw ``lang`` with: $CHURN_RADAR_FONT, then a CJK font, then (English only) a Latin one."""
    _check_lang(lang, "find_font")
    return _find_font(lang, os.environ.get(FONT_ENV, ""), _CJK_CANDIDATES, _LATIN_CANDIDATES)


@functools.lru_cache(maxsize=32)  # keyed on the env var and the lists, so changing either is seen
def _find_font(lang: str, env: str, cjk: tuple[FontFace, ...], latin: tuple[FontFace, ...]) -> FontFace | None:
    if env:
        face = _parse_face(env)
        if face.path.is_file():
            return face
        logger.warning("%s=%r is not a file; searching the usual font folders instead.", FONT_ENV, env)
    for face in cjk + (latin if lang == "en" else ()):
        if face.path.is_file():
            return face
    return None


def _parse_face(spec: str | Path) -> FontFace:
    """'/x/y.ttc#2' -> FontFace(Path('/x/y.ttc'), 2); no suffix means face 0."""
    text = str(spec)
    path, sep, index = text.rpartition("#")
    if sep and index.isdigit():
        return FontFace(Path(path), int(index))
    return FontFace(Path(text), 0)


def _bold_face(face: FontFace) -> FontFace | None:
    name = _BOLD_SIBLINGS.get(face.path.name)
    bold = FontFace(face.path.with_name(name), face.index) if name else None
    return bold if bold is not None and bold.path.is_file() else None


def _check_lang(lang: str, where: str) -> None:
    if lang not in LANGS:
        raise ParameterError(f"The 'lang' parameter of {where} must be one of {list(LANGS)}. Got {lang!r} instead.",
                             code="bad_lang", lang=lang)


def _to_latin1(text: str) -> str:
    """Spell characters the core Helvetica lacks in close ASCII, so English always renders."""
    out = []
    for char in text:
        if ord(char) < 256:
            out.append(char)
        elif char in _ASCII:
            out.append(_ASCII[char])
        else:
            plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
            out.append(plain or "?")
    return "".join(out)


# --- canvas
class _Canvas:
    """fpdf2 plus the few text helpers the layout needs (measure, wrap, cut with an ellipsis)."""

    def __init__(self, pdf: FPDF, family: str, *, unicode: bool) -> None:
        self.pdf, self.family, self.unicode = pdf, family, unicode
        self.ellipsis = "…" if unicode else "..."
        self.size, self.bold = 10.0, False
        self._em: dict[tuple[bool, str], float] = {}  # width of a character at 1 pt: fpdf2 measures slowly

    def clean(self, text: str) -> str:
        text = text.replace("\n", " ")
        return text if self.unicode else _to_latin1(text)

    def font(self, size: float, *, bold: bool = False, color: tuple[int, int, int] = NAVY) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)
        self.pdf.set_text_color(*color)
        self.size, self.bold = size, bold

    def width(self, text: str) -> float:
        total = 0.0
        for char in text:
            key = (self.bold, char)
            if key not in self._em:
                self._em[key] = self.pdf.get_string_width(char) / self.size
            total += self._em[key]
        return total * self.size

    def fitting(self, text: str, width: float) -> int:
        """How many leading characters of ``text`` fit in ``width`` (at least 1, so lines always advance)."""
        used = 0.0
        for count, char in enumerate(text):
            used += self.width(char)
            if used > width:
                return max(count, 1)
        return len(text)

    def cut(self, text: str, width: float, *, force: bool = False) -> str:
        """``text`` if it fits in ``width`` (and not ``force``), else its longest prefix that fits, plus '…'."""
        if not force and self.width(text) <= width:
            return text
        return text[: self.fitting(text, width - self.width(self.ellipsis))].rstrip() + self.ellipsis

    def wrap(self, text: str, width: float) -> list[str]:
        """Greedy line breaking at spaces and between CJK characters, never inside a number or word
        (unless it alone is wider than a line)."""
        lines, line, line_w = [], "", 0.0
        for token in _break_points(text):
            if line and line_w + self.width(token.rstrip()) > width:
                lines.append(line.rstrip())
                line, line_w, token = "", 0.0, token.lstrip()
            line, line_w = line + token, line_w + self.width(token)
            while self.width(line.rstrip()) > width and len(line.rstrip()) > 1:  # a token wider than a line
                cut = self.fitting(line, width)
                lines.append(line[:cut])
                line = line[cut:]
                line_w = self.width(line)
        return lines + [line.rstrip()] if line.strip() else lines

    def write(self, x: float, y: float, w: float, text: str, *, h: float = 5, align: str = "L") -> None:
        self.pdf.set_xy(x, y)
        self.pdf.cell(w, h, text, align=align)


def _break_points(text: str) -> list[str]:
    """Pieces a line may break between: words with their trailing spaces, and single CJK characters;
    closing punctuation stays with what precedes it, opening brackets with what follows, and 万/亿
    with the number before them."""
    tokens: list[str] = []
    for piece in _TOKEN.findall(text):
        if tokens and (piece[0] in _NO_LINE_START or tokens[-1][-1] in _NO_LINE_END
                       or (piece in _NUMBER_UNITS and tokens[-1][-1].isdigit())):
            tokens[-1] += piece
        else:
            tokens.append(piece)
    return tokens


def _line_height(size: float, factor: float = 1.45) -> float:
    return size * _PT * factor


# --- public
def render_pdf(page: OnePage, *, font: str | Path | None = None) -> bytes:
    """Draw ``page`` on one A4-landscape page; ``font`` ('/path/x.ttc#2') overrides :func:`find_font`."""
    _check_lang(page.lang, "render_pdf")
    face = _choose_face(page.lang, font)
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(_M, _M, _M)
    pdf.c_margin = 0
    pdf.set_creation_date(_FIXED_DATE)
    pdf.set_title(page.title)
    pdf.set_lang("zh-CN" if page.lang == "zh" else "en")
    pdf.add_page()
    if face is None:
        logger.warning("No TrueType font found; the English one-pager uses Helvetica and spells symbols in ASCII.")
        _draw_page(_Canvas(pdf, "helvetica", unicode=False), page)
        return bytes(pdf.output())
    chars = frozenset("".join(_page_strings(page)))
    # fpdf2 reads fonts from files only, so the cached subsets are written out for this one render.
    with tempfile.TemporaryDirectory(prefix="onepager-", ignore_cleanup_errors=True) as folder:
        for style, one in (("", face), ("B", _bold_face(face) or face)):
            path = Path(folder) / f"body{style}.otf"
            path.write_bytes(_subset(one, chars))
            pdf.add_font("body", style, path)
        _draw_page(_Canvas(pdf, "body", unicode=True), page)
        return bytes(pdf.output())


def render_png(page: OnePage, *, scale: float = 2.0, font: str | Path | None = None) -> bytes:
    """:func:`render_pdf`, then page 1 rasterised by PDFium at ``scale`` x 72 dpi, as PNG bytes."""
    if not isinstance(scale, int | float) or not 0.25 <= scale <= 8:
        raise ParameterError(f"The 'scale' parameter of render_png must be a number in [0.25, 8]. Got {scale!r} "
                             "instead; 2 gives 1684 x 1191 pixels.", code="bad_scale", scale=scale)
    data = render_pdf(page, font=font)
    with _PDFIUM_LOCK:
        document = pypdfium2.PdfDocument(data)
        try:
            buffer = io.BytesIO()
            document[0].render(scale=scale).to_pil().save(buffer, format="PNG")
        finally:
            document.close()
    return buffer.getvalue()


def _choose_face(lang: str, font: str | Path | None) -> FontFace | None:
    if font is not None:
        face = _parse_face(font)
        if not face.path.is_file():
            raise ParameterError(f"The 'font' parameter of render_pdf must name an existing font file. "
                                 f"Got {str(font)!r} instead; pass a .ttf/.ttc/.otf path, optionally with '#index'.",
                                 code="bad_font_path", font=str(font))
        return face
    face = find_font(lang)
    if face is None and lang == "zh":
        env = os.environ.get(FONT_ENV)
        looked = ([f"${FONT_ENV}={env}"] if env else []) + [str(f.path) for f in _CJK_CANDIDATES]
        raise ExportError(
            "No font with Chinese characters was found, so the Chinese one-page export cannot be drawn. "
            f"Looked in: {', '.join(looked)}. Install Debian's fonts-noto-cjk (apt-get install fonts-noto-cjk) "
            f"or set {FONT_ENV} to a .ttf/.ttc/.otf file.", code="no_cjk_font", lang=lang, looked=looked)
    return face


def _page_strings(page: OnePage) -> list[str]:
    """Every string the page may draw, plus ASCII (digits of '(+n)', the ellipsis)."""
    chart = page.chart
    texts = [page.title, page.subtitle, page.chart_title, page.summary, page.footer,
             text("pdf.assumptions", lang=page.lang), "".join(map(chr, range(32, 127))), "…",
             *(t for pair in page.kpis + page.assumptions for t in pair)]
    if chart is not None:
        texts += [chart.x_label, chart.y_label, *(t for _, t in chart.x_ticks + chart.y_ticks)]
        texts += [chart.marker[2]] if chart.marker else []
    return texts


@functools.lru_cache(maxsize=16)
def _subset(face: FontFace, chars: frozenset[str]) -> bytes:
    """The glyphs of ``chars`` in ``face``, as a small font file.

    Parsing a 20 MB CJK collection takes about 0.5 s a face, and fpdf2 would do it on every
    render; cut once here, a repeated export (or the PNG after the PDF) reuses the result.
    """
    options = ftsubset.Options(notdef_outline=True, recommended_glyphs=True, layout_features=[], name_IDs=["*"])
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "vhea", "vmtx", "VORG", "FFTM"]
    try:
        font = TTFont(face.path, fontNumber=face.index, lazy=True, recalcBBoxes=False, recalcTimestamp=False)
        subsetter = ftsubset.Subsetter(options)
        subsetter.populate(unicodes={ord(char) for char in chars})
        subsetter.subset(font)
        buffer = io.BytesIO()
        font.save(buffer)
    except (OSError, ValueError, IndexError, KeyError, TTLibError) as error:
        raise ExportError(f"The font file {face.path} (face #{face.index}) could not be read: {error}. "
                          f"Point {FONT_ENV} or the 'font' argument at another .ttf/.ttc/.otf file.",
                          code="bad_font", path=str(face.path), index=face.index) from error
    return buffer.getvalue()


# --- layout
def _draw_page(cv: _Canvas, page: OnePage) -> None:
    pdf, width = cv.pdf, _W - 2 * _M
    cv.font(24, bold=True)
    cv.write(_M, 11, width, cv.cut(cv.clean(page.title), width), h=10)
    cv.font(11, color=GREY)
    cv.write(_M, 21.5, width, cv.cut(cv.clean(page.subtitle), width), h=5)
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.3)
    pdf.line(_M, 29.5, _W - _M, 29.5)
    _draw_kpis(cv, page.kpis, _M, 34, width, 27)

    top, bottom = 70.0, 192.0
    left_w = round(width * 0.6)
    right_x = _M + left_w + 9
    right_w = _W - _M - right_x
    if page.chart is not None:
        cv.font(13, bold=True)
        cv.write(_M, top, left_w, cv.cut(cv.clean(page.chart_title), left_w), h=6)
        _draw_chart(cv, page.chart, _M, top + 8, left_w, bottom - top - 8)
        _draw_text_column(cv, page, right_x, top, right_w, bottom - top)
    else:
        _draw_paragraph(cv, cv.clean(page.summary), _M, top, left_w, bottom - top, (16, 15, 14, 13, 12, 11, 10, 9))
        _draw_pairs(cv, page, right_x, top, right_w, bottom - top, (11, 10, 9, 8))

    cv.font(8, color=GREY)
    cv.write(_M, 198, width, cv.cut(cv.clean(page.footer), width), h=4)


def _draw_kpis(cv: _Canvas, kpis: tuple[tuple[str, str], ...], x: float, y: float, w: float, h: float) -> None:
    if len(kpis) > 6:
        logger.warning("The one-pager shows 6 KPI tiles; %d were given, the last %d are left out.",
                       len(kpis), len(kpis) - 6)
        kpis = kpis[:6]
    if not kpis:
        return
    gap = 5.0
    tile_w = (w - gap * (len(kpis) - 1)) / len(kpis)
    for i, (label, value) in enumerate(kpis):
        left = x + i * (tile_w + gap)
        cv.pdf.set_fill_color(*TILE)
        cv.pdf.rect(left, y, tile_w, h, style="F", round_corners=True, corner_radius=1.5)
        cv.pdf.set_fill_color(*ACCENT)
        cv.pdf.rect(left, y, 1.2, h, style="F")
        inner = tile_w - 9
        cv.font(10, color=GREY)
        cv.write(left + 5, y + 3.5, inner, cv.cut(cv.clean(label), inner))
        value, size = cv.clean(value), 28.0
        cv.font(size, bold=True)
        while size > 12 and cv.width(value) > inner:
            size -= 1
            cv.font(size, bold=True)
        cv.write(left + 5, y + 10.5, inner, cv.cut(value, inner), h=12)


def _draw_text_column(cv: _Canvas, page: OnePage, x: float, y: float, w: float, h: float) -> None:
    """Summary on top, assumptions below: the largest sizes at which both fit, else each gets its share, cut."""
    summary, gap = cv.clean(page.summary), 6.0
    levels = ((13, 11), (12, 10.5), (11, 10), (10, 9), (9, 8))
    for text_size, pair_size in levels:
        cv.font(text_size)
        text_h = len(cv.wrap(summary, w)) * _line_height(text_size) if summary else 0.0
        if text_h + gap + _pairs_height(cv, page.assumptions, pair_size, w) <= h:
            break
    pairs_h = min(_pairs_height(cv, page.assumptions, pair_size, w), max(h - text_h - gap, h * 0.45))
    used = _draw_paragraph(cv, summary, x, y, w, h - pairs_h - gap, (text_size,))
    _draw_pairs(cv, page, x, y + used + gap, w, h - used - gap, (pair_size,))


def _pairs_height(cv: _Canvas, pairs: tuple[tuple[str, str], ...], size: float, w: float) -> float:
    lines = sum(_pair_lines(cv, name, value, size, w) for name, value in pairs)
    return (_line_height(11, 1.9) + lines * _line_height(size, 1.8)) if pairs else 0.0


def _pair_lines(cv: _Canvas, name: str, value: str, size: float, w: float) -> int:
    """1 when the name and its value share a row; 2 when a long value (wider than 45% of the row) would
    not fit beside its name: it then goes under the name, right-aligned, rather than being cut."""
    name, value = cv.clean(name), cv.clean(value)
    cv.font(size, bold=True)
    value_w = cv.width(value)
    cv.font(size)
    return 1 if value_w <= w * 0.45 or cv.width(name) + value_w + 3 <= w else 2


def _draw_paragraph(cv: _Canvas, text: str, x: float, y: float, w: float, h: float, sizes: tuple[float, ...]) -> float:
    """Wrap ``text`` at the first size that fits in ``h`` (else the last, cut with '…'); return the height used."""
    if not text:
        return 0.0
    for size in sizes:
        cv.font(size)
        lines, lh = cv.wrap(text, w), _line_height(size)
        if len(lines) * lh <= h:
            break
    keep = max(1, int(h // lh))
    if len(lines) > keep:
        lines = lines[: keep - 1] + [cv.cut(lines[keep - 1], w, force=True)]
    for i, line in enumerate(lines):
        cv.write(x, y + i * lh, w, line, h=lh)
    return len(lines) * lh


def _draw_pairs(cv: _Canvas, page: OnePage, x: float, y: float, w: float, h: float, sizes: tuple[float, ...]) -> None:
    """A heading, then one row per assumption: name on the left, value right-aligned (a long value on its own
    line under the name); rows that do not fit end in '… (+n)'."""
    pairs = page.assumptions
    head_h = _line_height(11, 1.9)
    if not pairs or h < head_h:
        return
    cv.font(11, bold=True, color=GREY)
    cv.write(x, y, w, cv.clean(text("pdf.assumptions", lang=page.lang)), h=head_h * 0.8)
    size = next((s for s in sizes if _pairs_height(cv, pairs, s, w) <= h), sizes[-1])
    row_h = _line_height(size, 1.8)
    rows = max(0, int((h - head_h) // row_h))
    shown = [(cv.clean(n), cv.clean(v), _pair_lines(cv, n, v, size, w)) for n, v in pairs]
    if sum(lines for *_, lines in shown) > rows:  # keep what fits, then one row saying how many are left out
        kept, used = [], 0
        for pair in shown:
            if used + pair[2] > rows - 1:
                break
            kept.append(pair)
            used += pair[2]
        shown = kept + [(f"{cv.ellipsis} (+{len(pairs) - len(kept)})", "", 1)] if rows else []
    cv.pdf.set_draw_color(*RULE)
    cv.pdf.set_line_width(0.2)
    top = y + head_h
    for name, value, lines in shown:
        cv.pdf.line(x, top, x + w, top)
        cv.font(size, bold=True)
        value = cv.cut(value, w if lines == 2 else w * 0.45)
        value_w = cv.width(value)
        cv.write(x, top + (lines - 1) * row_h, w, value, h=row_h, align="R")
        cv.font(size)
        name_w = w if lines == 2 else w - value_w - 3
        cv.write(x, top, name_w, cv.cut(name, name_w), h=row_h)
        top += lines * row_h
    if shown:
        cv.pdf.line(x, top, x + w, top)


def _draw_chart(cv: _Canvas, chart: Chart, x: float, y: float, w: float, h: float) -> None:
    """Axes, grid, band, curve, zero line and marker inside the box (x, y, w, h), all as vectors."""
    pdf = cv.pdf
    ticks_y = [(v, cv.clean(t)) for v, t in chart.y_ticks if math.isfinite(v)]
    ticks_x = [(v, cv.clean(t)) for v, t in chart.x_ticks if math.isfinite(v)]
    cv.font(9, color=GREY)
    tick_w = max([cv.width(t) for _, t in ticks_y] + [4.0])
    y_label = cv.clean(chart.y_label)
    if y_label:
        cv.write(x, y, w, cv.cut(y_label, w), h=4)
    left, right = x + tick_w + 2.5, x + w - 3
    top, bottom = y + (6 if y_label else 2), y + h - (11 if chart.x_label else 6)

    points = [(a, b) for a, b in zip(chart.x, chart.y) if math.isfinite(a) and math.isfinite(b)]
    band = [] if chart.low is None or chart.high is None else [
        (a, lo, hi) for a, lo, hi in zip(chart.x, chart.low, chart.high) if all(map(math.isfinite, (a, lo, hi)))]
    marker = chart.marker if chart.marker and all(map(math.isfinite, chart.marker[:2])) else None
    x0, x1 = _span([p[0] for p in points] + [v for v, _ in ticks_x] + ([marker[0]] if marker else []), pad=0)
    y0, y1 = _span([p[1] for p in points] + [v for b in band for v in b[1:]] + [v for v, _ in ticks_y]
                   + ([marker[1]] if marker else []), pad=0.04)

    def px(value: float) -> float:
        return left + (value - x0) / (x1 - x0) * (right - left)

    def py(value: float) -> float:
        return bottom - (value - y0) / (y1 - y0) * (bottom - top)

    pdf.set_line_width(0.2)
    pdf.set_draw_color(*RULE)
    for value, label in ticks_y:
        if y0 <= value <= y1:
            pdf.line(left, py(value), right, py(value))
            cv.write(x, py(value) - 2, tick_w, label, h=4, align="R")
    if len(band) >= 2:
        pdf.set_fill_color(*BAND)
        pdf.polygon([(px(a), py(hi)) for a, _, hi in band] + [(px(a), py(lo)) for a, lo, _ in reversed(band)],
                    style="F")
    elif band:  # one point: its band is an error bar
        with pdf.local_context(draw_color=BAND, line_width=1.5):
            pdf.line(px(band[0][0]), py(band[0][1]), px(band[0][0]), py(band[0][2]))
    if chart.zero_line and y0 < 0 < y1:
        with pdf.local_context(dash_pattern={"dash": 1.5, "gap": 1.2}, draw_color=GREY, line_width=0.3):
            pdf.line(left, py(0), right, py(0))
    pdf.set_draw_color(*GREY)
    pdf.set_line_width(0.3)
    pdf.line(left, bottom, right, bottom)
    pdf.line(left, top, left, bottom)
    for value, label in ticks_x:
        if x0 <= value <= x1:
            pdf.line(px(value), bottom, px(value), bottom + 1.2)
            cv.write(px(value) - 15, bottom + 1.8, 30, label, h=4, align="C")
    if chart.x_label:
        cv.write(left, bottom + 6.5, right - left, cv.cut(cv.clean(chart.x_label), right - left), h=4, align="C")

    pdf.set_draw_color(*ACCENT)
    pdf.set_fill_color(*ACCENT)
    with pdf.local_context(line_width=0.7, stroke_join_style=StrokeJoinStyle.ROUND,
                           stroke_cap_style=StrokeCapStyle.ROUND):
        if len(points) >= 2:
            pdf.polyline([(px(a), py(b)) for a, b in points])
        elif points:
            pdf.circle(px(points[0][0]), py(points[0][1]), 1.0, style="F")
    if marker:
        _draw_marker(cv, px(marker[0]), py(marker[1]), cv.clean(marker[2]), (left, top, right, bottom))


def _span(values: list[float], *, pad: float) -> tuple[float, float]:
    """(low, high) of ``values`` widened by ``pad`` of the range; never empty, so mapping never divides by 0."""
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    if high - low <= 1e-12 * max(1.0, abs(high)):
        half = abs(high) * 0.1 or 1.0
        return low - half, high + half
    extra = (high - low) * pad  # padding never crosses zero, so it never adds a zero line
    return (low - extra if low < 0 else max(low - extra, 0.0)), (high + extra if high > 0 else min(high + extra, 0.0))


def _draw_marker(cv: _Canvas, mx: float, my: float, label: str, box: tuple[float, float, float, float]) -> None:
    pdf = cv.pdf
    left, top, right, bottom = box
    with pdf.local_context(dash_pattern={"dash": 0.8, "gap": 0.8}, draw_color=MARKER, line_width=0.3):
        pdf.line(mx, my, mx, bottom)
    pdf.set_fill_color(*MARKER)
    pdf.set_draw_color(255, 255, 255)
    pdf.set_line_width(0.5)
    pdf.circle(mx, my, 1.6, style="DF")
    if not label:
        return
    cv.font(10, bold=True)
    label = cv.cut(label, (right - left) * 0.6)
    lw, lh = cv.width(label) + 3, 5.5
    lx = mx + 3 if mx + 3 + lw <= right else max(left, mx - 3 - lw)
    ly = my - 3 - lh if my - 3 - lh >= top else min(my + 3, bottom - lh)
    cv.font(10, bold=True, color=MARKER)
    cv.write(lx, ly, lw, label, h=lh, align="C")
