"""Spans of a text cut out between an opening and its closing (``<!-- … -->``, ``<script> …
</script>``, ``{% raw %} … {% endraw %}``), in one pass.

A regular expression such as ``<!--.*?-->`` reads to the end of the text from every opening that
is never closed: a file of 20,000 unclosed ``<!--`` took 7 s, and a parse is killed at
ARCHIVE_PARSE_TIMEOUT. Here an opening whose closing is not found marks its kind as closed nowhere
after it, and the rest of its kind are passed over.
"""

from __future__ import annotations

import re
from collections.abc import Callable


def cut_spans(text: str, opening: re.Pattern[str], closing: Callable[[re.Match[str]], re.Pattern[str]],
              replacement: str = "") -> str:
    """``text`` with each span from a match of ``opening`` to the first match after it of
    ``closing(that match)`` replaced by ``replacement``; an opening never closed stays as text.
    Openings of one kind (the pattern ``closing`` gives) are looked for again only while one of
    them can still close."""
    out: list[str] = []
    kept = 0  # text before this is in ``out``
    at = 0  # where the next opening is looked for
    unclosed: set[str] = set()
    while (m := opening.search(text, at)) is not None:
        close = closing(m)
        if close.pattern in unclosed:
            at = m.end()
            continue
        end = close.search(text, m.end())
        if end is None:
            unclosed.add(close.pattern)
            at = m.end()
            continue
        out += [text[kept : m.start()], replacement]
        kept = at = end.end()
    out.append(text[kept:])
    return "".join(out)
