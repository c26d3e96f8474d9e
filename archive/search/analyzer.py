"""The one analyzer: what a word is, and how words are folded and stemmed, for both stores.

A text's words are what the SQLite store's tantivy index stores, and what MongoDB stores in each
article's ``words``/``terms`` arrays, both made here: :func:`index_text` rewrites the few words that
keep punctuation (C++, C#, .NET, U.S.) and spaces CJK characters apart; tantivy's simple tokenizer
splits at anything not a letter or digit; words over 40 bytes are dropped; the rest are lower-cased
and folded to ASCII (Lucene's ASCII folding: é → e, ß → ss, Œ → oe, Ł → l, ﬁ → fi, fullwidth
letters and digits to ASCII). A word's stem is English Snowball (porter2), as tantivy computes it.
The query parser splits by :func:`split_words`; the Python matcher (:mod:`archive.search.match`) and
snippets (:mod:`archive.search.snippets`) fold and stem with :func:`fold` and :func:`stem`, so
what is highlighted is what was found. tantivy is imported when first needed."""

from __future__ import annotations

import functools
import re
from typing import Any

from archive.models import CJK_CLASS, cjk_char, has_cjk_bytes

MAX_WORD_BYTES = 40  # longer words are not indexed (tantivy's remove_long)

# The word rule, for the query parser and (through index_text) the index's tokenizer: a run of
# letters and digits; each Chinese, Japanese or Korean character alone (those scripts put no
# spaces between words: a word is found as the run of its characters, a phrase of one-character
# words); and a few words that keep their punctuation: C++, C#, .NET, and letters with dots (U.S.,
# e.g.). The CJK ranges are archive.models'.
# Letter cases spelled out rather than (?i) (case-folding the CJK class costs ~5 ms); the rule with
# the CJK classes (~3 ms to compile) only for text that is not ASCII.
_SPECIAL = r"\b[a-zA-Z]\+\+|(?<![\w#])[a-zA-Z]#(?!\w)|\.[nN][eE][tT]\b|\b(?:[a-zA-Z]\.){2,}"
_WORD_ASCII = re.compile(_SPECIAL + r"|[^\W_]+")


@functools.cache
def _word_any() -> re.Pattern[str]:
    return re.compile(_SPECIAL + rf"|[{CJK_CLASS}]|[^\W_{CJK_CLASS}]+")


def split_words(text: str) -> list[str]:
    """``text``'s words by the word rule above (the query parser's split)."""
    return (_WORD_ASCII if text.isascii() else _word_any()).findall(text)
# index_text's rewrites: what tantivy's plain tokenizer (letter-digit runs) then reads as the same words.
_CPP = re.compile(r"\b([A-Za-z])\+\+")
_SHARP = re.compile(r"(?<![\w#])([A-Za-z])#(?!\w)")
_DOTNET = re.compile(r"\.(?i:net)\b")
_NET_HINT = re.compile(r"\.[Nn][Ee][Tt]")
_DOTTED_HINT = re.compile(r"\.[A-Za-z]\.")


def index_text(text: str) -> str:
    """``text`` as the search index is given it, so that a tokenizer that splits at anything not a
    letter or digit finds the words of :func:`split_words`: CJK characters spaced apart, ``C++`` →
    ``Cplusplus``, ``C#`` → ``Csharp``, ``.NET`` → ``dotnet``, ``U.S.`` → ``USdotted``. Each
    rewrite runs only where a literal search finds its characters (a few µs for most articles)."""
    if not text.isascii() and has_cjk_bytes(text) and cjk_char().search(text):
        text = cjk_char().sub(r" \g<0> ", text)
    if "++" in text:
        text = _CPP.sub(r"\1plusplus", text)
    if "#" in text and _letter_before(text, "#"):
        text = _SHARP.sub(r"\1sharp", text)
    if _NET_HINT.search(text):
        text = _DOTNET.sub(" dotnet", text)
    if _DOTTED_HINT.search(text):
        text = _undot(text)
    return text


def _letter_before(text: str, ch: str) -> bool:
    """Whether some ``ch`` in ``text`` follows an ASCII letter (``C#``; a heading's ``##`` does not)."""
    i = text.find(ch)
    while i >= 0:
        if i and text[i - 1].isascii() and text[i - 1].isalpha():
            return True
        i = text.find(ch, i + 1)
    return False


def _undot(text: str) -> str:
    """Letters with dots (``U.S.``, ``e.g.``) as one word each (``USdotted``), found from the
    literal ``.X.`` matches: what _DOTTED matches, without scanning every position."""
    out, pos = [], 0
    for m in _DOTTED_HINT.finditer(text):
        start = m.start() - 1
        if start < pos or start < 0 or not (text[start].isascii() and text[start].isalpha()):
            continue
        if start and (text[start - 1].isalnum() or text[start - 1] == "_"):
            continue  # inside a word: "AU.S." is AU and S
        end = m.end()
        while end + 1 < len(text) and text[end].isascii() and text[end].isalpha() and text[end + 1] == ".":
            end += 2
        out.append(text[pos:start])
        out.append(text[start:end].replace(".", "") + "dotted ")
        pos = end
    out.append(text[pos:])
    return "".join(out)


@functools.cache
def _analyzer(kind: str) -> Any:
    import tantivy

    b = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
    if kind == "words":
        b = b.filter(tantivy.Filter.remove_long(MAX_WORD_BYTES))
    b = b.filter(tantivy.Filter.lowercase()).filter(tantivy.Filter.ascii_fold())
    if kind == "stem":
        b = b.filter(tantivy.Filter.stemmer("english"))
    return b.build()


def words_analyzer() -> Any:
    """The tantivy analyzer the index registers for its text fields: what :func:`words` applies
    after :func:`index_text`. Unstemmed: stemming every word at indexing costs more than the rest
    of an ingest (~150 µs per 6 KB article); a query word is expanded to the indexed words of its
    stem instead."""
    return _analyzer("words")


def words(text: str) -> list[str]:
    """The words of ``text`` as both stores index them, in order (a phrase is consecutive words)."""
    return list(_analyzer("words").analyze(index_text(text)))


@functools.lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """The English (Snowball, porter2) stem of a word of :func:`words`."""
    return "".join(_analyzer("stem").analyze(word))


@functools.lru_cache(maxsize=1 << 14)
def fold(token: str) -> str:
    """One word as typed or displayed (``Straße``, ``Œuvre``), folded as :func:`words` folds it
    (``strasse``, ``oeuvre``), its parts joined (``C++`` → ``cplusplus``; ``""`` for none)."""
    if token.isascii() and token.isalnum():
        return token.lower()
    return "".join(words(token))


def stem_head(word: str, stem_of_word: str) -> str:
    """A prefix every word with this stem starts with: the stem's last letters may be rewritten
    (happy → happi, sensible → sensibl ← sensibility), so two letters less than what the word and
    its stem share. Search expands a query word from it; snippets find candidates with it."""
    k = 0
    while k < min(len(word), len(stem_of_word)) and word[k] == stem_of_word[k]:
        k += 1
    return word[: max(1, k - 2)]


# Letters the folding changes other than by case (Latin letters with marks, ligatures, fullwidth
# forms): a text without any is folded by lower() alone, offsets kept.
_RANGES = ((0x00C0, 0x02B0), (0x1E00, 0x1F00), (0x2C60, 0x2C80), (0xA720, 0xA800), (0xFB00, 0xFB07),
           (0xFF10, 0xFF5B))  # [lo, hi)
FOLDED_LETTERS = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi - 1)}" for lo, hi in _RANGES) + "]")


@functools.cache
def _variants() -> tuple[dict[str, str], dict[str, str]]:
    """What folds to what: for an ASCII letter or digit, the characters whose folded form starts
    with it (é, ß, ﬁ, ｆ); for a folded form of two letters or more, the characters folded to it."""
    first: dict[str, str] = {}
    whole: dict[str, str] = {}
    for lo, hi in _RANGES:
        for cp in range(lo, hi):
            ch = chr(cp)
            f = "".join(_analyzer("words").analyze(ch))
            if not f or not f.isascii() or f == ch.lower():
                continue
            first[f[0]] = first.get(f[0], "") + ch
            if len(f) > 1:
                whole[f] = whole.get(f, "") + ch
    return first, whole


def _letter_class(ch: str) -> str:
    return "[" + re.escape("".join(sorted({ch, ch.upper(), *_variants()[0].get(ch, "")}))) + "]"


def fold_blind_pattern(word: str) -> str:
    """A regex (to use with IGNORECASE) for text whose folded form starts with ``word`` (already
    folded): each letter also as the letters that fold to it (``e`` as é, è, ẹ…; ``ss`` as ß)."""
    out, i = [], 0
    whole = _variants()[1]
    while i < len(word):
        pair = word[i:i + 2]
        if len(pair) == 2 and pair in whole:
            out.append(f"(?:[{re.escape(whole[pair])}]|{_letter_class(word[i])}{_letter_class(word[i + 1])})")
            i += 2
        elif word[i].isascii() and word[i].isalnum():
            out.append(_letter_class(word[i]))
            i += 1
        else:
            out.append(re.escape(word[i]))
            i += 1
    return "".join(out)
