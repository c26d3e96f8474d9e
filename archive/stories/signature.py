"""What an article's text is, for telling one story from another: its word shingles and a small
sketch of them whose bands find likely copies.

Pure functions of the body only: headlines, bylines and dates never decide similarity. The body is
folded to lower-case words (each CJK character a word of its own: those scripts put no spaces
between words), and every run of ``SHINGLE`` words is hashed to 32 bits (CRC-32: stable across
processes and Python versions, and computed in C).

The sketch is one-permutation MinHash: the hashes fall into ``BINS`` bins by their top bits and
each bin keeps its smallest; bins left empty (short texts) borrow the next bin's value, so that
every sketch has ``BINS`` values. Two sketches agree in a bin with probability about the Jaccard
similarity of the two shingle sets; ``BANDS`` bands of ``ROWS`` bins each make a key, and two
articles sharing any key are candidates, to be confirmed on the shingles themselves.

Candidates are many where texts share paragraphs, and most are no copy: a finer sketch (``FINE``
bins of one byte each, b-bit MinHash) estimates a pair's Jaccard similarity in a few microseconds,
so that the shingles are compared only for a pair it leaves room for.
"""

from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Collection, Iterable
from typing import NamedTuple

from archive.models import CJK_CLASS, has_cjk_bytes

SHINGLE = 4  # words per shingle
BINS = 64
ROWS = 2  # bins per band: a pair at Jaccard 0.2 shares one of 32 bands with probability ~0.73, at 0.3 ~0.95
BANDS = BINS // ROWS
_BIN_BITS = 6  # 2 ** 6 == BINS
_SHIFT = 32 - _BIN_BITS
_MASK64 = (1 << 64) - 1
_EMPTY = 1 << _SHIFT  # above every value a bin can hold


@functools.cache
def _cjk_words() -> re.Pattern[str]:
    """Words with each CJK character one (compiled when a CJK text first needs it: ~2 ms)."""
    return re.compile(rf"[{CJK_CLASS}]|[^\W{CJK_CLASS}]+")


_ANY_WORD = re.compile(r"\w+")
# ASCII bytes: letters and digits lower-cased, "_" kept (as \w does), everything else a space.
_ASCII_FOLD = bytes(ord(chr(c).lower()) if chr(c).isalnum() or c == 0x5F else 0x20 for c in range(128)) + bytes(
    range(128, 256))


# Non-ASCII characters common in news text that are never part of a word (\w): a text whose only
# non-ASCII characters are these is split as ASCII once they are spaces (a pound sign or a curly
# quote no longer sends a whole article down the regex path: half the time of it).
_NOT_WORD = re.compile("[\u00a0\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u00a3\u20ac\u2022\u00b0]")


def words(body: str) -> list[bytes]:
    """The body as folded words, UTF-8: letters and digits, lower-case; each CJK character one
    word. ASCII text is split by a byte table in C (~4x the regex's speed)."""
    if not body.isascii() and (plain := _NOT_WORD.sub(" ", body)).isascii():
        body = plain
    if body.isascii():
        return body.encode("ascii").translate(_ASCII_FOLD).split()
    text = body.lower()
    found = _cjk_words().findall(text) if has_cjk_bytes(text) else _ANY_WORD.findall(text)
    return [w.encode("utf-8", "surrogatepass") for w in found]


def _hashes(body: str) -> list[int]:
    w = words(body)
    if len(w) < SHINGLE:
        return [zlib.crc32(b" ".join(w))] if w else []
    return list(map(zlib.crc32, map(b" ".join, zip(*(w[i:] for i in range(SHINGLE)), strict=False))))


def opening(body: str, k: int) -> list[int]:
    """The hashes of a text's first shingles in order (at least ``k`` of them where the text has
    as many), read from its start only."""
    return _hashes(body[: 40 * k])  # 40 characters a shingle: a few words' worth to spare


def shingles(body: str) -> frozenset[int]:
    """The 32-bit hashes of every ``SHINGLE`` consecutive words of ``body`` (a text shorter than
    that is one shingle of all its words; an empty one has none)."""
    return frozenset(_hashes(body))


_NONE = 1 << 32  # above every hash: a bin that has none


def _fine_mins(distinct: Iterable[int]) -> list[int]:
    """The smallest hash of each of the FINE bins (by a hash's top bits), _NONE where a bin has none."""
    mins = [_NONE] * FINE
    for h in distinct:
        b = h >> _FINE_SHIFT
        if h < mins[b]:
            mins[b] = h
    return mins


def _filled(mins: list[int]) -> list[tuple[int, int]]:
    """Each bin's smallest hash and 0, or for an empty bin the next non-empty bin's (round the
    end) and its distance (``mins`` has one hash at least)."""
    n = len(mins)
    out = [(v, 0) for v in mins]
    for i in range(n):
        if mins[i] == _NONE:
            step = 1
            while mins[(i + step) % n] == _NONE:
                step += 1
            out[i] = (mins[(i + step) % n], step)
    return out


def sketch(hashes: Iterable[int]) -> tuple[int, ...]:
    """``BINS`` values: the smallest hash of each bin (an empty bin borrows the next non-empty
    bin's, marked by that bin's distance); all zero for an empty text."""
    return _coarse(_fine_mins(set(hashes)))


def _coarse(fine: list[int]) -> tuple[int, ...]:
    """:func:`sketch` from the fine bins' smallest hashes (each coarse bin is FINE // BINS of them)."""
    k = FINE // BINS
    mins = [min(fine[b * k : (b + 1) * k]) for b in range(BINS)]
    if mins.count(_NONE) == BINS:
        return (0,) * BINS
    return tuple((v & (_EMPTY - 1)) + step * _EMPTY for v, step in _filled(mins))


def band_keys(values: tuple[int, ...]) -> list[int]:
    """One signed 63-bit key per band (what the stores index): the band's number and its values."""
    keys = []
    for band in range(BANDS):
        h = band + 1
        for v in values[band * ROWS : (band + 1) * ROWS]:
            h = (h * 0x9E3779B97F4A7C15 + v) & _MASK64
        keys.append((h ^ (h >> 31)) - (1 << 62) >> 1)  # 63 bits, signed: SQLite's INTEGER, BSON's long
    return keys


MIN_SHINGLES = 8  # a shorter text (a caption, a stub) is nobody's copy: no keys


FINE = 256  # bins of the fine sketch
_FINE_SHIFT = 24  # 2 ** (32 - 24) == FINE


def fine_sketch(hashes: Collection[int]) -> bytes:
    """The fine sketch of a text's shingle hashes: how many distinct shingles it has (4 bytes,
    little-endian), then FINE bins of the low byte of each bin's smallest hash (an empty bin
    borrows the next non-empty bin's, shifted by its distance). Empty for no shingles."""
    distinct = set(hashes)
    return _fine(_fine_mins(distinct), len(distinct))


def _fine(mins: list[int], distinct: int) -> bytes:
    if not distinct:
        return b""
    out = bytes(((v & 0xFF) + step * 157) & 0xFF for v, step in _filled(mins))
    return distinct.to_bytes(4, "little") + out


def agreement(a: bytes, b: bytes) -> tuple[float, int]:
    """How two fine sketches agree: the share of bins with equal values (about the texts' Jaccard
    similarity, plus 1/256 of chance), and how many bins that share rests on (the smaller text's
    shingles, at most FINE: a short text fills few bins and the rest repeat them)."""
    x = int.from_bytes(a[4:], "little") ^ int.from_bytes(b[4:], "little")
    equal = x.to_bytes(FINE, "little").count(0)
    return equal / FINE, min(FINE, int.from_bytes(a[:4], "little"), int.from_bytes(b[:4], "little"))


class Signature(NamedTuple):
    """What a parse worker computes of a body for the stories (see :func:`signed`)."""

    keys: tuple[int, ...]  # its band keys: none for a text too short to tell
    sketch: bytes  # its fine sketch


def signed(body: str) -> tuple[Signature, bytes]:
    """A parse worker's part: the body's :class:`Signature` and its shingles packed as 32-bit
    numbers (see :func:`unpack`), so that the writer need not shingle it again."""
    from array import array

    hashes = _hashes(body)
    distinct = set(hashes)
    packed = array("I", distinct).tobytes()
    if len(hashes) < MIN_SHINGLES:
        return Signature((), b""), packed
    mins = _fine_mins(distinct)  # both sketches are made of them
    return Signature(tuple(band_keys(_coarse(mins))), _fine(mins, len(distinct))), packed


def signature(body: str) -> Signature:
    """:func:`signed` without the shingles (the writer's, for a text no worker signed)."""
    return signed(body)[0]


def unpack(packed: bytes) -> frozenset[int]:
    """Shingles packed by :func:`signed` (or the writer's cache) as a set again."""
    return frozenset(unpacked(packed))


def unpacked(packed: bytes) -> Collection[int]:
    """Shingles packed by :func:`signed` as they are, distinct numbers in an array: what
    :func:`similarity` takes for its second text without a set made of it (3x quicker)."""
    from array import array

    a = array("I")
    a.frombytes(packed)
    return a


def similarity(a: frozenset[int], b: Collection[int]) -> tuple[float, float]:
    """(containment, jaccard) of two shingle sets (``b`` a set, or distinct numbers as
    :func:`unpacked` gives them): how much of the shorter is in the longer, and how much they
    share of both. A copy cut short keeps a high containment; an article quoted inside a much
    longer one has a low Jaccard."""
    return ratios(len(a.intersection(b)) if a else 0, len(a), len(b))


def ratios(common: int, a: int, b: int) -> tuple[float, float]:
    """(containment, jaccard) of two sets of ``a`` and ``b`` shingles sharing ``common``."""
    if not a or not b:
        return 0.0, 0.0
    return common / min(a, b), common / (a + b - common)
