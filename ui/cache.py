"""How the UI caches: one decorator whose key is derived for you, and per-script-run values.

    @cached(scope="dataset")
    def description() -> cc.Description:
        return cc.describe(active_dataset())

A cached function's key is the function, the stamp of its **scope** and its **arguments**; callers never build
keys or tokens. The scope says what, besides its arguments, the result depends on:

``"args"``      nothing: a pure function of its arguments (a chart, a table as shown)
``"path"``      the database file: what it reads under a fixed id (a dataset version, a complete run) never changes
``"dataset"``   the database and its active dataset version
``"champion"``  the database and its champion (run id and model)
``"store"``     the database and its change stamp: re-read after any write, by this process or another

A tuple combines scopes, e.g. ``scope=("dataset", "champion")`` for the active data scored by the champion.
So a newly active version, a new champion or any write is seen without invalidating anything by hand: the
key changes, and entries of the old stamp stay valid for it (until the least recently used are dropped).

Arguments are keyed by value when hashable (numbers, strings, frozen records such as ``cc.ColumnRoles``),
tuples, lists and dicts element by element, and anything else (a DataFrame, a result another cached
function returned) by identity: the entry keeps such an argument alive, so its id cannot be reused while it
is a key. Pass only objects nobody modifies. Parameters whose names start with ``_`` are left out of the key
(as in ``st.cache_*``): the other arguments must determine them. ``worded=True`` adds the session's language to
the key, for results that hold words (headers, labels, sentences).

Entries are shared by every session and never copied (like ``st.cache_resource``): never modify what a cached
function returns. Each function keeps at most ``max_entries``, dropping the least recently used; a missing
entry is computed by one caller while others asking for the same key wait for it.

``@once_per_run`` on a function without arguments computes it once in each script run (app.py calls
``begin_run()`` first thing in every run), so one page run never mixes two values, e.g. two champions when
someone promotes meanwhile; outside a run started by app.py (a background thread) it computes every time.

Writes go through ``ui.actions``, which calls ``changed()`` after each: the rest of that script run reads the
new state (this run's values are forgotten) and every ``"store"``-scoped read is read again. ``fn.clear()``
forgets one function's entries, for a write that changes what is stored under an unchanged key.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import os
import threading
from collections import OrderedDict
from collections.abc import Callable

SCOPES = ("args", "path", "dataset", "champion", "store")
_MISSING = object()
_RUN = threading.local()  # a script run's values: a session's script runs on its own thread
_GENERATION = itertools.count(1)
_generation = 0  # bumped by changed(): part of the "store" stamp


def cached(*, scope: str | tuple[str, ...], worded: bool = False, max_entries: int = 64):
    """Cache a function by its scope's stamp and its arguments (see the module docstring)."""
    scopes = (scope,) if isinstance(scope, str) else tuple(scope)
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ValueError(f"The 'scope' of cached must be among {SCOPES}. Got {unknown} instead.")

    def decorate(fn: Callable) -> Callable:
        return _Cached(fn, scopes=scopes, worded=worded, max_entries=max_entries)
    return decorate


class _Cached:
    def __init__(self, fn: Callable, *, scopes: tuple[str, ...], worded: bool, max_entries: int):
        functools.update_wrapper(self, fn)
        self._fn, self._scopes, self._worded, self._max = fn, scopes, worded, max_entries
        self._signature = inspect.signature(fn)
        self._skipped = frozenset(p for p in self._signature.parameters if p.startswith("_"))
        self._entries: OrderedDict = OrderedDict()
        self._computing: dict = {}
        self._lock = threading.Lock()

    def __call__(self, *args, **kwargs):
        key = self._key(args, kwargs)
        with self._lock:
            value = self._entries.get(key, _MISSING)
            if value is not _MISSING:
                self._entries.move_to_end(key)
                return value[0]
            computing = self._computing.setdefault(key, threading.Lock())
        with computing:  # one caller computes a key; the others wait for its value
            with self._lock:
                value = self._entries.get(key, _MISSING)
            if value is not _MISSING:
                return value[0]
            try:
                result = self._fn(*args, **kwargs)
                with self._lock:
                    self._entries[key] = (result, args, kwargs)  # the arguments kept alive: their ids are keys
                    while len(self._entries) > self._max:
                        self._entries.popitem(last=False)
            finally:
                with self._lock:
                    self._computing.pop(key, None)
        return result

    def _key(self, args: tuple, kwargs: dict) -> tuple:
        if self._skipped or kwargs:
            bound = self._signature.bind(*args, **kwargs).arguments
            keyed = tuple((name, _arg_key(v)) for name, v in bound.items() if name not in self._skipped)
        else:
            keyed = tuple(_arg_key(v) for v in args)
        stamp = tuple(_stamp(s) for s in self._scopes)
        return (*stamp, _language() if self._worded else None, keyed)

    def clear(self) -> None:
        """Forget every entry of this function."""
        with self._lock:
            self._entries.clear()


def _arg_key(value):
    try:
        hash(value)
        return value.__class__, value  # 1 and True are equal, but not the same argument
    except TypeError:
        pass
    if isinstance(value, tuple | list):
        return value.__class__, tuple(_arg_key(v) for v in value)
    if isinstance(value, dict):
        return dict, tuple((k, _arg_key(v)) for k, v in value.items())
    return "id", id(value)  # alive as long as the entry holds it


def _stamp(scope: str):
    if scope == "args":
        return None
    from . import state  # state builds on this module

    path = state.db_path()
    if scope == "path":
        return path
    if scope == "dataset":
        return path, state.active_version().version
    if scope == "champion":
        champ = state.champion()
        return path, None if champ is None else (champ.run_id, champ.model)
    return path, store_stamp(path)


def store_stamp(path: str) -> tuple:
    """When the database file (and its write-ahead log) last changed, and this process's count of writes: any
    write by any process (a promotion from the command line, another session's training) changes it."""
    out = [_generation]
    for name in (path, f"{path}.wal"):
        try:
            info = os.stat(name)
            out.append((info.st_mtime_ns, info.st_size))
        except FileNotFoundError:
            out.append(None)
    return tuple(out)


def _language() -> str:
    from .i18n import current_language  # i18n builds on this module's once_per_run

    return current_language()


# -- per script run --------------------------------------------------------------------------------------

def begin_run() -> None:
    """A new script run starts (app.py, first thing): forget the last run's values on this thread."""
    _RUN.values = {}


def once_per_run(fn: Callable[[], object]) -> Callable[[], object]:
    """``fn()``, once per script run (see the module docstring)."""
    @functools.wraps(fn)
    def wrapper():
        values = getattr(_RUN, "values", None)
        if values is None:  # not in a script run that app.py started
            return fn()
        value = values.get(wrapper, _MISSING)
        if value is _MISSING:
            value = values[wrapper] = fn()
        return value
    return wrapper


def changed() -> None:
    """Something was written (ui.actions): this run reads the active version, the champion and everything
    per-run again, and every "store"-scoped read is re-read."""
    global _generation
    _generation = next(_GENERATION)
    values = getattr(_RUN, "values", None)
    if values is not None:
        values.clear()
