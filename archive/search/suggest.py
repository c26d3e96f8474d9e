"""Did you mean: a query's misspelt words replaced by the closest words the index holds."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from archive.search.analyzer import fold
from archive.search.query import parse_query


def distance(a: str, b: str, most: int) -> int:
    """Levenshtein distance of ``a`` and ``b``, or ``most + 1`` once it is sure to exceed ``most``."""
    if abs(len(a) - len(b)) > most:
        return most + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) > most:
            return most + 1
        prev = cur
    return prev[-1]


def closest(word: str, terms: Iterable[tuple[str, int]]) -> str | None:
    """The indexed word nearest ``word`` (one edit for words up to five letters, two beyond), the
    most frequent among equals; None when ``word`` itself is there or nothing is near."""
    most = 1 if len(word) <= 5 else 2
    best: tuple[int, int, str] | None = None
    for term, df in terms:
        if term == word and df > 0:
            return None
        d = distance(word, term, most)
        if d <= most and (best is None or (d, -df, term) < best):
            best = (d, -df, term)
    return best[2] if best else None


def suggestion(text: str, near: Callable[[str], Iterable[tuple[str, int]]]) -> str | None:
    """``text`` with each plain word the index lacks replaced by its closest indexed word
    (``near(prefix)``: the index's words with that prefix and how many articles hold each); None
    when no word changes. Phrases, prefixes and exclusions are left as typed."""
    out = text
    changed = False
    q = parse_query(text)
    for t in (*q.positive, *(t for g in q.any_of for t in g)):
        if t.prefix or t.phrase or not t.words[0].isalpha():
            continue
        typed = t.words[0]
        word = fold(typed)
        if len(word) < 3:
            continue
        better = closest(word, near(word[0]))
        if better:
            out = re.sub(rf"(?<![\w-]){re.escape(typed)}(?!\w)", better, out, count=1)
            changed = True
    return out if changed else None
