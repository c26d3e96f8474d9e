"""Whether an article matches a query, decided in Python by the analyzer's rules: what the SQLite
store's index decides by its index, for the backends and paths that check candidates on their text
(MongoDB's phrases, a search while the index cannot serve, rows changed since they were indexed)."""

from __future__ import annotations

from collections.abc import Sequence

from archive.search.analyzer import stem, words
from archive.search.query import SearchQuery, Term


def term_words(t: Term) -> list[str]:
    """A query term's words as the index has them (``C++`` → ``cplusplus``, ``O'Brien`` → ``o brien``)."""
    return [w for raw in t.words for w in words(raw)]


def matches(q: SearchQuery, fields: Sequence[str]) -> bool:
    """Whether an article's fields (title, authors, tags, body) satisfy ``q``: every positive
    term, one term of each ``OR`` group, no excluded term; a word matches any word of its stem,
    ``word*`` any word it starts, a phrase consecutive words of one field; a term without words
    (all too long) matches nothing."""
    toks = [words(f) for f in fields]
    stems = [[stem(t) for t in ts] for ts in toks]
    every = {s for ss in stems for s in ss}

    def has(t: Term) -> bool:
        want = term_words(t)
        if not want:
            return False
        if t.prefix:
            return any(tok.startswith(want[0]) for ts in toks for tok in ts)
        ws = [stem(w) for w in want]
        if len(ws) == 1:
            return ws[0] in every
        for ss in stems:
            for i in range(len(ss) - len(ws) + 1):
                if ss[i : i + len(ws)] == ws:
                    return True
        return False

    return (all(has(t) for t in q.positive) and all(any(has(t) for t in g) for g in q.any_of)
            and not any(has(t) for t in q.negative))
