"""In a real browser: the file uploader's texts (which Streamlit draws in English) follow the UI language."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

pytest.importorskip("playwright.sync_api")

ZONE = '[data-testid="stFileUploader"] [data-testid="stFileUploaderDropzone"]'
# What a person sees in an element: its displayed text nodes and ::before/::after content, in order (innerText
# leaves out the CSS-generated text the page uses; material icons' ligature names are not text).
VISIBLE_TEXT = """(root) => {
  const out = [];
  const pseudo = (el, which) => {
    const c = getComputedStyle(el, which).content;
    if (!c || c === 'none' || c === 'normal') return;
    try { out.push(JSON.parse(c)); } catch (e) { out.push(c.slice(1, -1)); }
  };
  const walk = (el) => {
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden' || el.dataset.testid === 'stIconMaterial') return;
    pseudo(el, '::before');
    for (const n of el.childNodes) {
      if (n.nodeType === Node.TEXT_NODE && n.textContent.trim()) out.push(n.textContent.trim());
      else if (n.nodeType === Node.ELEMENT_NODE) walk(n);
    }
    pseudo(el, '::after');
  };
  walk(root);
  return out.join(' | ');
}"""
STREAMLIT_ENGLISH = ("Drag and drop", "per file", "Upload")


def shown(page, *, settled_on: str | None = None, timeout_s: float = 15.0) -> str:
    """The zone's visible text; with ``settled_on``, polled until it equals that (on a loaded machine the page's
    style element can land a moment after the script run ends), then returned as it is."""
    import time

    deadline = time.monotonic() + timeout_s
    text = page.locator(ZONE).evaluate(VISIBLE_TEXT)
    while settled_on is not None and text != settled_on and time.monotonic() < deadline:
        page.wait_for_timeout(250)
        text = page.locator(ZONE).evaluate(VISIBLE_TEXT)
    return text


def drag_a_file_over(page) -> None:
    transfer = page.evaluate_handle(
        "() => { const t = new DataTransfer(); t.items.add(new File(['a'], 'a.csv', {type: 'text/csv'})); return t; }")
    page.locator(ZONE).dispatch_event("dragenter", {"dataTransfer": transfer})


FORMATS = "CSV / TXT / TSV / GZ / ZIP / XLSX / XLSM / PARQUET"  # the uploader's types, as it lists them


@pytest.mark.parametrize(("lang", "button", "limits", "drop"), [
    ("zh", "选择文件", "将文件拖放到此处 · 单个文件不超过 200 MB · " + FORMATS, "松开鼠标即可上传文件"),
    ("en", "Browse files", "Drag and drop a file here · up to 200 MB · " + FORMATS,
     "Drop the file to upload it"),
], ids=["zh", "en"])
def test_the_uploader_shows_the_users_language(page, app_url, lang, button, limits, drop):
    page.goto(f"{app_url}/data?lang={lang}")  # the shared server runs in local mode: an analyst, so an uploader
    page.locator(ZONE).wait_for()
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    assert shown(page, settled_on=f"{button} | {limits}") == f"{button} | {limits}"
    assert page.get_by_role("button", name=button, exact=True).count() == 1  # its accessible name too
    if lang == "zh":
        assert not [word for word in STREAMLIT_ENGLISH if word in shown(page)]

    drag_a_file_over(page)
    page.wait_for_function(f"() => document.querySelector('{ZONE} > div:not([data-testid])') !== null")
    assert shown(page).startswith(f"{drop} | ")  # Streamlit's "Drag and drop a file here" overlay, replaced
    if lang == "zh":
        assert "Drag and drop" not in shown(page)
