"""How pages and front matter list their tags, declared once: what separates tags in one value, and
what a tag is kept as.

Pages give their keywords as one comma-separated value (``<meta name="keywords">``, an
``article:tag`` holding "politics, donald trump, white house", a Japanese "ニュース,IT・科学"); kept
whole, the list is one tag no filter or facet can use (51 of the 187 saved pages of the corpora).
A value with one comma that may be a single term is kept whole: a place and its state or country
code ("Charleston, SC"), an entry filed by its first word, as news sites file people and subjects
("Trump, Donald J", "Bevin, Matthew", "Beshear, Andrew G (1977- )", "Elections, Governors"). Two
capitalised single words ("Health, China") are so kept whole too: a list of two is rarer than such
an entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from archive.models import fold_tag, plain_tag

_SEPARATOR = re.compile(r"\s*[,;\uff0c\u3001\uff1b]\s*")  # , ; and the fullwidth and ideographic ones
_ONE_TERM = re.compile(r"^(?:[^,;]+, (?:[A-Z]{1,3}|(?:[A-Z]\.){1,3})|[A-Z][\w'’.-]*, [A-Z][^,;]*)$")
MAX_TAG = 100  # characters: longer is a sentence (a description put in the keywords), not a tag


def tag_list(values: Iterable[str]) -> tuple[str, ...]:
    """The tags of some values, each split at its list separators: spaces squashed, without a
    hashtag's "#", the first spelling of each as tags compare (models.fold_tag) kept, nothing empty
    or over MAX_TAG."""
    out: dict[str, str] = {}
    for value in values:
        value = " ".join(value.split())
        for part in [value] if _ONE_TERM.match(value) else _SEPARATOR.split(value):
            tag = plain_tag(part.strip(" ,;"))
            if tag and len(tag) <= MAX_TAG:
                out.setdefault(fold_tag(tag), tag)
    return tuple(out.values())
