"""Snippets: a few words of an article around its first match, the matches marked.

A word is marked when search would have matched it: the analyzer's fold and stem
(:mod:`archive.search.analyzer`) decide, so what is highlighted is what was found."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from archive.models import cjk_char
from archive.search.analyzer import FOLDED_LETTERS, fold, fold_blind_pattern, stem, stem_head

HL_START, HL_END = "\x02", "\x03"  # around each match in a snippet; each output format marks them its way


def snippet_parts(snippet: str) -> list[tuple[str, bool]]:
    """A snippet as ``(text, is_match)`` pieces: each output format marks matches its own way."""
    parts = snippet.replace(HL_END, HL_START).split(HL_START)
    return [(p, i % 2 == 1) for i, p in enumerate(parts) if p]


class _Matcher(NamedTuple):
    """What make_snippet looks for: a regex of the words that keep punctuation (``C++``,
    ``U.S.``) and of the other words' heads over lower-cased text (a literal scan), one over the
    text itself for texts with letters the analyzer folds (case- and fold-blind, compiled when
    first needed: its character classes cost ~2 ms to compile); and the prefixes (three letters
    or more) and stems a candidate is then checked against."""

    literal: tuple[str, ...]
    heads: tuple[str, ...]
    plain: re.Pattern[str]
    wanted: tuple[str, ...]
    stems: frozenset[str]
    cjk: tuple[str, ...]  # CJK words: marked as typed, wherever they are in a run of characters


@functools.lru_cache(maxsize=256)
def _snippet_matcher(words: tuple[str, ...]) -> _Matcher | None:
    literal = tuple(sorted({w.lower() for w in words if w and not w.isalnum()}, key=len, reverse=True))
    wanted = [w for w in (fold(w) for w in words if w and w.isalnum()) if w]
    if not wanted and not literal:
        return None
    heads = tuple(sorted({stem_head(w, stem(w)) for w in wanted}, key=len, reverse=True))
    # No look-behind for the word start: it makes the engine try every position (5x slower);
    # found() checks the character before each (rare) match instead.
    plain = re.compile(_alternatives([re.escape(x) for x in literal], [re.escape(h) for h in heads]))
    cjk = sorted((w for w in wanted if not w.isascii() and cjk_char().match(w)), key=len, reverse=True)
    return _Matcher(literal, heads, plain, tuple(w for w in wanted if len(w) > 2), frozenset(stem(w) for w in wanted),
                    tuple(cjk))


def _alternatives(literal: list[str], heads: list[str]) -> str:
    """A literal word, or a word that starts with one of the heads (up to ``_``: the analyzer's
    tokenizer splits there)."""
    return "|".join([*literal, *(["(?:" + "|".join(heads) + r")[^\W_]*"] if heads else [])])


@functools.lru_cache(maxsize=256)
def _fold_blind(literal: tuple[str, ...], heads: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(_alternatives([re.escape(x) for x in literal], [fold_blind_pattern(h) for h in heads]),
                      re.IGNORECASE)


def make_snippet(text: str, words: Sequence[str], width: int = 32) -> str:
    """About ``width`` words of ``text`` around the first match, matches wrapped in markers.
    A word matches what search matched: the same ``stem``, or (three letters or more) a prefix.
    Only the few candidate words a regex finds are stemmed: a snippet costs tens of µs."""
    if not text:
        return ""
    matcher = _snippet_matcher(tuple(words))
    # Without letters the analyzer folds, folding is lower(), which then keeps every offset (the
    # one letter it lengthens, U+0130, is one of those).
    if matcher is None:
        hay, pattern = text, None
    elif text.isascii() or FOLDED_LETTERS.search(text) is None:
        hay, pattern = text.lower(), matcher.plain
    else:
        hay, pattern = text, _fold_blind(matcher.literal, matcher.heads)

    def found(lo: int, hi: int) -> Iterator[tuple[int, int]]:
        if matcher is None or pattern is None:
            return
        for m in pattern.finditer(hay, lo, hi):
            s, e = m.span()
            if matcher.literal and m.group().lower() in matcher.literal:
                if (s and hay[s - 1].isalnum() and hay[s] != ".") or (e < len(hay) and hay[e].isalnum()):
                    continue  # part of a longer word (a ".NET" may follow a name: ASP.NET)
                yield s, e
                continue
            if matcher.cjk and cjk_char().match(hay, s):
                tok = fold(m.group())
                w = next((w for w in matcher.cjk if tok.startswith(w)), None)
                if w is not None:
                    yield s, s + len(w)
                continue
            if s and (hay[s - 1].isalnum() or hay[s - 1] == "_"):
                continue  # inside a word: only words that start with a head are candidates
            tok = fold(m.group())
            if stem(tok) in matcher.stems or any(tok.startswith(w) for w in matcher.wanted):
                yield m.span()

    first = next(found(0, len(text)), (0, 0))[0]
    # The window: a third of the words before the first match, the rest after, read from slices
    # around it rather than by splitting the whole text.
    before = text[max(0, first - 40 * width):first].split()
    keep = before[-(width // 3):] if width // 3 else []
    lo = first
    for w in reversed(keep):
        lo = text.rindex(w, 0, lo)
    after_text = text[first:first + 60 * width]
    after = after_text.split()
    n_after = max(1, width - len(keep))
    hi = first
    for w in after[:n_after]:
        hi = text.index(w, hi) + len(w)
    at_start = not text[:lo].strip()
    at_end = not text[hi:].strip()
    out, pos = [], lo
    for s, e in found(lo, hi):
        out.append(text[pos:s] + HL_START + text[s:e] + HL_END)
        pos = e
    out.append(text[pos:hi])
    snippet = " ".join("".join(out).split())
    return ("" if at_start else "…") + snippet + ("" if at_end else "…")
