"""Snippets: a few words of an article around its first match, the matches marked.

A word is marked when search would have matched it: the analyzer's fold and stem
(:mod:`archive.search.analyzer`) decide, so what is highlighted is what was found."""

# Annotations are evaluated here (no ``from __future__ import annotations``): a NamedTuple's
# string annotations are compiled one by one at import, a cost every command pays.

import functools
import re
from collections.abc import Sequence
from typing import NamedTuple

from archive.models import HEADING, cjk_char
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
    first needed: its character classes cost ~2 ms to compile); then what a candidate is checked
    against: the stems of the query's words, the prefixes of its ``word*`` terms, and its
    phrases (each a sequence of keys, see _key)."""

    literal: tuple[str, ...]
    heads: tuple[str, ...]
    plain: re.Pattern[str]
    prefixes: tuple[str, ...]
    stems: frozenset[str]
    cjk: tuple[str, ...]  # CJK words: marked as typed, wherever they are in a run of characters
    phrases: tuple[tuple[str, ...], ...]
    literal_alone: frozenset[str]  # the words kept with their punctuation that are query words of their own


def _key(word: str) -> str:
    """How a word of a phrase is compared: its stem, or as typed (lower-case) for ``C++``."""
    return stem(fold(word)) if word.isalnum() else word.lower()


@functools.lru_cache(maxsize=256)
def _snippet_matcher(entries: tuple[str, ...]) -> _Matcher | None:
    phrases = tuple(tuple(_key(w) for w in e.split()) for e in entries if " " in e)
    phrase_words = [w for e in entries if " " in e for w in e.split()]
    prefixes = [fold(e[:-1]) for e in entries if len(e) > 1 and e.endswith("*") and e[:-1].isalnum()]
    singles = [e for e in entries if e and " " not in e and not (len(e) > 1 and e.endswith("*"))]
    every = [*singles, *phrase_words]
    literal = tuple(sorted({w.lower() for w in every if w and not w.isalnum()}, key=len, reverse=True))
    wanted = [w for w in (fold(w) for w in every if w and w.isalnum()) if w]
    if not wanted and not literal and not prefixes:
        return None
    heads = tuple(sorted({stem_head(w, stem(w)) for w in wanted} | {p for p in prefixes if p}, key=len, reverse=True))
    # No look-behind for the word start: it makes the engine try every position (5x slower);
    # found() checks the character before each (rare) match instead.
    plain = re.compile(_alternatives([re.escape(x) for x in literal], [re.escape(h) for h in heads]))
    folded = [w for w in (fold(x) for x in singles if x.isalnum()) if w]
    cjk = sorted((w for w in folded if not w.isascii() and cjk_char().match(w)), key=len, reverse=True)
    single_stems = frozenset(stem(w) for w in folded)
    alone = frozenset(w.lower() for w in singles if not w.isalnum())
    return _Matcher(literal, heads, plain, tuple(p for p in prefixes if p), single_stems, tuple(cjk), phrases, alone)


def _alternatives(literal: list[str], heads: list[str]) -> str:
    """A literal word, or a word that starts with one of the heads (up to ``_``: the analyzer's
    tokenizer splits there)."""
    return "|".join([*literal, *(["(?:" + "|".join(heads) + r")[^\W_]*"] if heads else [])])


@functools.lru_cache(maxsize=256)
def _fold_blind(literal: tuple[str, ...], heads: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(_alternatives([re.escape(x) for x in literal], [fold_blind_pattern(h) for h in heads]),
                      re.IGNORECASE)


class _Mark(NamedTuple):
    start: int
    end: int
    key: str  # the token's phrase key (see _key)
    alone: bool  # marked on its own (a query word, a prefix's word, C++, a CJK word), not only in a phrase


def _marks(text: str, hay: str, pattern: re.Pattern[str] | None, matcher: _Matcher) -> list[tuple[int, int]]:
    """The spans to mark in ``text``, in order: each word search matched alone, and each phrase
    where its words stand together (one span), its words nowhere else."""
    found: list[_Mark] = []
    for m in pattern.finditer(hay) if pattern is not None else ():
        s, e = m.span()
        if matcher.literal and m.group().lower() in matcher.literal:
            if (s and hay[s - 1].isalnum() and hay[s] != ".") or (e < len(hay) and hay[e].isalnum()):
                continue  # part of a longer word (a ".NET" may follow a name: ASP.NET)
            found.append(_Mark(s, e, m.group().lower(), m.group().lower() in matcher.literal_alone))
            continue
        if (matcher.cjk or matcher.phrases) and cjk_char().match(hay, s):
            tok = fold(m.group())
            w = next((w for w in matcher.cjk if tok.startswith(w)), None)
            if w is not None:
                found.append(_Mark(s, s + len(w), w, True))
            elif matcher.phrases:  # each character a word of its own, for a phrase that mixes scripts
                found += [_Mark(s + k, s + k + 1, _key(c), False)
                          for k, c in enumerate(m.group()) if cjk_char().match(c)]
            continue
        if s and hay[s - 1].isalnum():
            continue  # inside a word: only words that start with a head are candidates ("_" splits words)
        tok = fold(m.group())
        key = stem(tok)
        alone = key in matcher.stems or any(tok.startswith(p) for p in matcher.prefixes)
        found.append(_Mark(s, e, key, alone))
    if not matcher.phrases:
        return [(f.start, f.end) for f in found if f.alone]
    spans: list[tuple[int, int]] = []
    taken = [False] * len(found)
    for i in range(len(found)):
        for ph in matcher.phrases:
            j = i + len(ph)
            if j <= len(found) and all(found[i + k].key == ph[k] for k in range(len(ph))) and all(
                    _WORD.search(hay, found[k].end, found[k + 1].start) is None for k in range(i, j - 1)):
                spans.append((found[i].start, found[j - 1].end))
                for k in range(i, j):
                    taken[k] = True
                break
    spans += [(f.start, f.end) for k, f in enumerate(found) if f.alone and not taken[k]]
    spans.sort()
    out: list[tuple[int, int]] = []
    for s, e in spans:  # a word marked alone inside a phrase's span is the phrase's
        if out and s < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


_WORD = re.compile(r"[^\W_]")  # a letter or digit: another word between two of a phrase's
# A sub-heading's marker at a paragraph's start (a body keeps "### Aug 18-19: RustConf" so that an
# export parses back the same): a snippet joins paragraphs into one line, where it reads as noise.
_HEADING_MARK = re.compile("(?m)^" + HEADING.pattern)


def make_snippet(text: str, words: Sequence[str], width: int = 32) -> str:
    """About ``width`` words of ``text`` around the first match, matches wrapped in markers.
    ``words`` are SearchQuery.highlight_words(): a word is marked where search matched it (the
    same stem; a prefix for ``word*``), a phrase where its words stand together, as one mark."""
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
    marks = _marks(text, hay, pattern, matcher) if matcher is not None else []
    first = marks[0][0] if marks else 0
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
    for s, e in marks:
        if s < lo or s >= hi:
            continue
        e = min(e, hi)
        out.append(_HEADING_MARK.sub("", text[pos:s]) + HL_START + text[s:e] + HL_END)
        pos = e
    out.append(_HEADING_MARK.sub("", text[pos:hi]))
    snippet = " ".join("".join(out).split())
    return ("" if at_start else "…") + snippet + ("" if at_end else "…")
