"""Write the gettext catalogs (.po) from an old-style catalog module: a Python file with ``STRINGS = {"en":
{...}, "zh": {...}}`` and ``STRINGS["en"].update({...})`` blocks, as churn_core/i18n.py was before the
catalogs moved to .po files. Re-runnable: it merges into the .po files that exist.

What it does, for every key of the module(s) given:
- the text is added, or updated where it changed, in both languages (a key a module does not list in a
  language gets an empty msgstr there, which tests/test_i18n.py reports);
- the key goes to the library's domain (churn_core/locales/<lang>/LC_MESSAGES/churn_core.po) when churn_core
  words it, else to the app's (ui/locales/<lang>/LC_MESSAGES/app.po). The rule (``library_keys``): keys under
  ``error.`` and ``issue.``; any key churn_core's code names in a string literal (``"reason.sentence"``); and
  every key under a prefix it names: a literal ending in a dot (``"risk.tier."``), the literal head of an
  f-string (``f"roi.a.{key}"``), or any dotted literal as a stem (``"flag.international"`` brings
  ``flag.international.yes``, which churn_core asks for as ``f"{kind}.yes"``). A key it takes by mistake
  costs nothing (the app reads the library's catalog too); one it misses fails tests/test_i18n.py. The rule
  is applied afresh to every key on each run, so a key churn_core starts using moves to the library's catalog;
- keys already in the .po files and absent from the module are kept (other branches' keys), unless
  ``--prune`` (the module is the whole catalog) or ``--base`` (see below) says they were removed;
- the Chinese entries carry the English text as a comment for the translator; entries with ``{name}``
  placeholders are flagged ``python-brace-format``; file order is kept, new keys are appended.

Commands (from the repository root, in the merge's working tree, so the scan sees the merged churn_core;
Babel comes with requirements-dev.txt):

    # main has the .po catalogs and merges a branch that still edits the dict (churn_core/i18n.py conflicts):
    # apply only what that branch changed since it forked (keys added, reworded or deleted), so keys main
    # removed meanwhile stay removed and keys other branches added stay
    git show $(git merge-base main BRANCH):churn_core/i18n.py > /tmp/base_i18n.py
    git show BRANCH:churn_core/i18n.py > /tmp/branch_i18n.py
    git checkout --ours churn_core/i18n.py       # keep the gettext module
    .venv/bin/python scripts/catalog_from_dict.py /tmp/branch_i18n.py --base /tmp/base_i18n.py

    # main still has the dict (all other branches merged) and merges the branch that brings the .po
    # catalogs: main's dict is the whole catalog
    git show main:churn_core/i18n.py > /tmp/old_i18n.py
    git checkout --theirs churn_core/i18n.py     # keep the gettext module
    .venv/bin/python scripts/catalog_from_dict.py /tmp/old_i18n.py --prune

Then port by hand any change the branch made to churn_core/i18n.py outside the dict, `git add
churn_core/locales ui/locales churn_core/i18n.py`, and run tests/test_i18n.py. The script prints what it
added and removed, and lists entries that lack a translation.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LANGS = ("en", "zh")
DOMAINS = {"churn_core": ROOT / "churn_core" / "locales", "app": ROOT / "ui" / "locales"}
LIBRARY_PREFIXES = ("error.", "issue.")
HEADERS = {
    "churn_core": "Churn Radar: the messages churn_core words itself (errors, issues, reasons, actions, ROI "
                  "summary, one-page export)",
    "app": "Churn Radar: the app's pages (the library's messages are in churn_core/locales)",
}
HEADER_HELP = ("# Edit msgstr only: msgid is the key the code asks for. Keep {placeholders} as they are.\n"
               "# README, 'Translations', says how to add a key.")
_KEYISH = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+\.?$|^[a-z][a-z0-9_]*\.$")
_PLACEHOLDER = re.compile(r"{(\w+)}")


def read_strings(path: Path) -> dict[str, dict[str, str]]:
    """The ``STRINGS`` table of an old-style catalog module, read from its syntax (nothing is imported).

    Understands ``STRINGS = {...}`` (annotated or not), ``STRINGS[lang].update({...})`` and
    ``STRINGS[lang][key] = "..."`` at module level.
    """
    tree = ast.parse(Path(path).read_text(encoding="utf-8"), filename=str(path))
    strings: dict[str, dict[str, str]] = {}
    for node in tree.body:
        target = value = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and target.id == "STRINGS":
            strings = {lang: dict(texts) for lang, texts in _literal(value, path).items()}
        elif isinstance(target, ast.Subscript) and _lang_of(target.value):
            strings.setdefault(_lang_of(target.value), {})[_literal(target.slice, path)] = _literal(value, path)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) \
                and isinstance(node.value.func, ast.Attribute) and node.value.func.attr == "update" \
                and _lang_of(node.value.func.value):
            strings.setdefault(_lang_of(node.value.func.value), {}).update(_literal(node.value.args[0], path))
    if not strings:
        raise SystemExit(f"{path} has no STRINGS table: give an old-style catalog module "
                         "(e.g. `git show main:churn_core/i18n.py > /tmp/old_i18n.py`).")
    return strings


def _lang_of(node: ast.AST) -> str | None:
    """``"en"`` for the expression ``STRINGS["en"]``, else None."""
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "STRINGS" \
            and isinstance(node.slice, ast.Constant):
        return node.slice.value
    return None


def _literal(node: ast.AST, path: Path):
    try:
        return ast.literal_eval(node)
    except ValueError as err:
        raise SystemExit(f"{path}, line {node.lineno}: the catalog must be plain literals ({err}).") from None


def library_keys(keys, *, code: Path = ROOT / "churn_core") -> set[str]:
    """The keys that belong to the library's domain: see the module docstring for the rule."""
    keys = list(keys)
    named, prefixes = set(), list(LIBRARY_PREFIXES)
    for path in sorted(code.rglob("*.py")):
        if path.name == "i18n.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
                literal = node.values[0].value
                if _KEYISH.match(literal) and literal.endswith("."):
                    prefixes.append(literal)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _KEYISH.match(node.value):
                named.add(node.value)
                prefixes.append(node.value if node.value.endswith(".") else node.value + ".")
    return {k for k in keys if k in named or k.startswith(tuple(prefixes))}


def read_catalogs() -> tuple[dict[str, dict[str, dict[str, str]]], dict[str, Catalog]]:
    """The .po files as they are: {domain: {lang: {key: text}}}, and each file's Babel catalog (for its header)."""
    texts, parsed = {}, {}
    for domain in DOMAINS:
        texts[domain] = {}
        for lang in LANGS:
            path = po_path(domain, lang)
            if path.exists():
                with path.open("rb") as fh:
                    parsed[domain, lang] = read_po(fh, locale=lang, domain=domain)
                texts[domain][lang] = {m.id: m.string for m in parsed[domain, lang] if m.id}
            else:
                texts[domain][lang] = {}
    return texts, parsed


def po_path(domain: str, lang: str) -> Path:
    return DOMAINS[domain] / lang / "LC_MESSAGES" / f"{domain}.po"


def merge(existing: dict[str, dict[str, dict[str, str]]], new: dict[str, dict[str, str]], *,
          removed: set[str] = frozenset(), prune: bool = False) -> dict[str, dict[str, dict[str, str]]]:
    """The catalogs after applying ``new`` ({lang: {key: text}}) to ``existing`` and dropping ``removed``
    (or, with ``prune``, every key ``new`` does not list); each key in the domain ``library_keys`` picks."""
    texts = {lang: {} for lang in LANGS}
    order: dict[str, list[str]] = {domain: [] for domain in DOMAINS}
    for domain in DOMAINS:
        for lang in LANGS:
            texts[lang].update(existing[domain][lang])
            order[domain] += [k for k in existing[domain][lang] if k not in order[domain]]
    for lang in LANGS:
        texts[lang].update(new.get(lang, {}))
    keep = set(new.get("en", {})) | set(new.get("zh", {})) if prune else None
    every = [k for domain in DOMAINS for k in order[domain]]
    every += [k for lang in LANGS for k in new.get(lang, {}) if k not in every]
    every = [k for k in dict.fromkeys(every) if k not in removed and (keep is None or k in keep)]
    library = library_keys(every)
    out = {}
    for domain in DOMAINS:
        mine = [k for k in every if (k in library) == (domain == "churn_core")]
        ordered = [k for k in order[domain] if k in mine] + [k for k in mine if k not in order[domain]]
        out[domain] = {lang: {k: texts[lang].get(k, "") for k in ordered} for lang in LANGS}
    return out


def write_catalogs(texts: dict[str, dict[str, dict[str, str]]], parsed: dict[str, Catalog]) -> list[str]:
    """Write the .po files whose messages changed; the names of the files written."""
    written = []
    now = dt.datetime.now(dt.UTC)
    for domain in DOMAINS:
        english = texts[domain]["en"]
        for lang in LANGS:
            old = parsed.get((domain, lang))
            if old is not None and {m.id: m.string for m in old if m.id} == texts[domain][lang] \
                    and list(m.id for m in old if m.id) == list(texts[domain][lang]):
                continue
            language = "English" if lang == "en" else "Simplified Chinese"
            catalog = Catalog(locale=lang, domain=domain, project="Churn Radar", version="1",
                              header_comment=f"# {HEADERS[domain]}; {language}.\n{HEADER_HELP}",
                              last_translator="Churn Radar team", language_team=language,
                              creation_date=old.creation_date if old is not None else now, revision_date=now,
                              fuzzy=False)
            for key, string in texts[domain][lang].items():
                comments = [f"English: {english[key]}"] if lang != "en" and english.get(key) else []
                message = catalog.add(key, string, auto_comments=comments)
                if _PLACEHOLDER.search(english.get(key) or string):  # set after: Babel infers flags from msgid
                    message.flags.add("python-brace-format")
            path = po_path(domain, lang)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as fh:
                write_po(fh, catalog, width=0, sort_output=False, ignore_obsolete=True)
            written.append(str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("module", type=Path, help="an old-style catalog module (a Python file with STRINGS)")
    parser.add_argument("--base", type=Path, help="the same module as it was when the branch forked: only the "
                        "keys the branch added, reworded or deleted since are applied")
    parser.add_argument("--prune", action="store_true",
                        help="the module is the whole catalog: drop keys it does not list")
    args = parser.parse_args(argv)
    if args.base and args.prune:
        parser.error("--base and --prune do not go together: --base already says which keys were deleted")
    new = read_strings(args.module)
    removed: set[str] = set()
    if args.base:
        base = read_strings(args.base)
        removed = {k for lang in LANGS for k in base.get(lang, {})} - {k for lang in LANGS for k in new.get(lang, {})}
        new = {lang: {k: v for k, v in new.get(lang, {}).items() if base.get(lang, {}).get(k) != v} for lang in LANGS}
    existing, parsed = read_catalogs()
    merged = merge(existing, new, removed=removed, prune=args.prune)
    before = {k for domain in DOMAINS for k in existing[domain]["en"]}
    after = {k for domain in DOMAINS for k in merged[domain]["en"]}
    written = write_catalogs(merged, parsed)
    print(f"{len(after - before)} keys added, {len(before - after)} removed; "
          f"library {len(merged['churn_core']['en'])} keys, app {len(merged['app']['en'])} keys.")
    print("wrote " + (", ".join(written) if written else "nothing: the catalogs were up to date"))
    missing = [f"{domain}/{lang}: {k}" for domain in DOMAINS for lang in LANGS
               for k, v in merged[domain][lang].items() if not v]
    if missing:
        print(f"{len(missing)} entries lack a translation (empty msgstr): {missing[:10]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
