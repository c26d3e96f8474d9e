"""Spans of a text between an opening and its closing (``<!-- … -->``, ``<script> … </script>``,
``{% raw %} … {% endraw %}``), found in one pass: to cut them out, or to read them (a page's
JSON-LD blocks).

A regular expression such as ``<!--.*?-->`` reads to the end of the text from every opening that
is never closed: a file of 20,000 unclosed ``<!--`` took 7 s, and a parse is killed at
ARCHIVE_PARSE_TIMEOUT. Here an opening whose closing is not found marks its kind as closed nowhere
after it, and the rest of its kind are passed over.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from typing import AnyStr


def spans(text: AnyStr, opening: re.Pattern[AnyStr],
          closing: Callable[[re.Match[AnyStr]], re.Pattern[AnyStr]]) -> Iterator[tuple[re.Match[AnyStr],
                                                                                      re.Match[AnyStr]]]:
    """Each span of ``text`` from a match of ``opening`` to the first match after it of
    ``closing(that match)``, as the two matches, in order and not overlapping; an opening never
    closed is no span. Openings of one kind (the pattern ``closing`` gives) are looked for again
    only while one of them can still close."""
    at = 0  # where the next opening is looked for
    unclosed: set[AnyStr] = set()
    while (m := opening.search(text, at)) is not None:
        close = closing(m)
        end = None if close.pattern in unclosed else close.search(text, m.end())
        if end is None:
            unclosed.add(close.pattern)
            at = m.end()
            continue
        yield m, end
        at = end.end()


def cut_spans(text: str, opening: re.Pattern[str], closing: Callable[[re.Match[str]], re.Pattern[str]],
              replacement: str = "") -> str:
    """``text`` with each of its :func:`spans` replaced by ``replacement``; an opening never
    closed stays as text."""
    out: list[str] = []
    kept = 0  # text before this is in ``out``
    for start, end in spans(text, opening, closing):
        out += [text[kept : start.start()], replacement]
        kept = end.end()
    out.append(text[kept:])
    return "".join(out)


@functools.cache
def _end_tag(name: str) -> re.Pattern[str]:
    return re.compile(rf"</{name}\s*>", re.I)


def end_tag(m: re.Match[str]) -> re.Pattern[str]:
    """The closing tag of the element whose name an opening's first group holds (``</script >``)."""
    return _end_tag(m[1].lower())


@functools.cache
def closing_tag(name: bytes) -> re.Pattern[bytes]:
    """The closing tag of an element named ``name`` in a page's bytes (``</h2 >``)."""
    return re.compile(rb"</" + re.escape(name.lower()) + rb"\s*>", re.I)
