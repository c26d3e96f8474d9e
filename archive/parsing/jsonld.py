"""What a page's JSON-LD blocks (``<script type="application/ld+json">``) declare: read once for
every field this package takes from them (a page's authors, its headline), wherever on the page
they are (Wikipedia's are at its end) and however wrapped (XHTML's CDATA)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from archive.parsing.spans import spans

MAX_LD_BYTES = 4_000_000  # of a page, searched for JSON-LD
MAX_DEPTH = 8  # of a block's tree, searched for a key
_LD_OPEN = re.compile(rb"""<script\b[^>]{0,500}?ld\+json[^>]{0,200}>""", re.I)
_SCRIPT_CLOSE = re.compile(rb"</script\s*>", re.I)
_CDATA = re.compile(rb"^\s*(?://\s*)?<!\[CDATA\[|(?://\s*)?\]\]>\s*$")


def documents(data: bytes, holding: bytes = b"") -> Iterator[Any]:
    """The page's JSON-LD blocks, decoded (a block that is not JSON, or nests past what the decoder
    takes, is passed over); only those whose text holds ``holding`` (``b'"author"'``) are decoded."""
    import json

    for start, end in spans(data[:MAX_LD_BYTES], _LD_OPEN, lambda m: _SCRIPT_CLOSE):
        block = data[start.end() : end.start()]
        if holding not in block:
            continue
        try:
            yield json.loads(_CDATA.sub(b"", block).decode("utf-8", "replace"), strict=False)
        except (ValueError, RecursionError):
            continue


def values(node: Any, key: str, depth: int = 0) -> Iterator[Any]:
    """Every value of ``key`` in a decoded block, in document order (not looked into for more)."""
    if depth > MAX_DEPTH:
        return
    if isinstance(node, list):
        for x in node:
            yield from values(x, key, depth + 1)
    elif isinstance(node, dict):
        if key in node:
            yield node[key]
        for k, v in node.items():
            if k != key and isinstance(v, (dict, list)):
                yield from values(v, key, depth + 1)
