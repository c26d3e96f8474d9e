"""The query language: words ANDed, ``"phrases"``, ``-word`` excluded, ``word*`` prefix, ``a OR b``.

Parsing splits words by the analyzer's word rule (:func:`archive.search.analyzer.split_words`); what a
query word then matches is the analyzer's business."""

# Annotations are evaluated here (no ``from __future__ import annotations``): a NamedTuple's
# string annotations are compiled one by one at import, a cost every command pays.

from typing import NamedTuple

from archive.search.analyzer import split_words


class Term(NamedTuple):
    words: tuple[str, ...]
    negated: bool = False
    prefix: bool = False

    @property
    def phrase(self) -> bool:
        return len(self.words) > 1


class SearchQuery(NamedTuple):
    """A user's query: words ANDed, ``"phrases"``, ``-word`` excluded, ``word*`` prefix, and
    ``a OR b`` alternatives (each group in ``any_of`` needs one of its terms)."""

    positive: tuple[Term, ...]
    negative: tuple[Term, ...]
    any_of: tuple[tuple[Term, ...], ...] = ()

    @property
    def empty(self) -> bool:
        return not self.positive and not self.negative and not self.any_of

    @property
    def has_positive(self) -> bool:
        return bool(self.positive or self.any_of)

    def highlight_words(self) -> list[str]:
        """What a snippet marks (see archive.search.snippets): a word; ``word*`` for a prefix; a
        phrase as its words joined by spaces (marked only where they stand together; a CJK word is
        such a phrase of its characters)."""
        out: list[str] = []
        for t in (*self.positive, *(t for g in self.any_of for t in g)):
            if len(t.words) > 1:
                out.append(" ".join(t.words))
            else:
                out.extend(w + "*" if t.prefix else w for w in t.words)
        return out


def parse_query(text: str) -> SearchQuery:
    """Read any text as a query; never raises. Punctuation splits words.

    ``AND`` between words is the default and ignored; ``OR`` (upper case, between two
    terms) makes them alternatives: ``iraq OR iran troops`` is (iraq or iran) and troops.
    """
    clauses: list[list[Term]] = []
    neg: list[Term] = []
    pending_or = last_positive = False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        negated = False
        if c == "-" and i + 1 < n and not text[i + 1].isspace():
            negated = True
            i += 1
        if i < n and text[i] == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end
            chunk, i = text[i + 1 : end], end + 1
            prefix = False
        else:
            j = i
            while j < n and not text[j].isspace():
                j += 1
            chunk, i = text[i:j], j
            prefix = chunk.endswith("*") and len(chunk) > 1
            if chunk == "AND" and not negated:
                continue  # words are ANDed already: a typed connector is no word
            if chunk == "OR" and not negated and clauses:
                pending_or = last_positive  # after an exclusion it joins nothing
                continue
        words = tuple(split_words(chunk))
        if not words:
            continue
        term = Term(words=words, negated=negated, prefix=prefix and len(words) == 1)
        if negated:
            neg.append(term)
        elif pending_or:
            clauses[-1].append(term)
        else:
            clauses.append([term])
        pending_or, last_positive = False, not negated
    positive = tuple(c[0] for c in clauses if len(c) == 1)
    any_of = tuple(tuple(c) for c in clauses if len(c) > 1)
    return SearchQuery(positive, tuple(neg), any_of)
