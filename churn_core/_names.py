"""Names made unique: the one loop both the reader (pandas-style "a", "a.1") and the model's safe feature
names ("a", "a~2") use."""

from __future__ import annotations

from collections.abc import Callable, Iterable


def unique_names(names: Iterable[str], *, mark: Callable[[str, int], str]) -> list[str]:
    """Each name as it is, or ``mark(name, k)`` for the smallest k >= 1 that no earlier name took."""
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        candidate, k = name, 0
        while candidate in seen:
            k += 1
            candidate = mark(name, k)
        seen.add(candidate)
        out.append(candidate)
    return out
