"""How values compare and group: the keys filters match and facets count, both stores alike.

Author names and tags fold (case, spaces, a hashtag's "#"). A page names its site as it likes
("CNN", "money.cnn.com", "NYTimes", "nytimes.com"): stored as written, but grouped (facets, stats,
the site filter) by a key, the registrable domain of the page's address when it has one
(``money.cnn.com`` and ``edition.cnn.com`` are ``cnn.com``), else the name folded; shown by the
name most of the group's articles give.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from archive.domains import registrable as registrable  # declared below the parser, which reads it too
from archive.models import fold_name as fold_name  # how names and tags compare, declared with the tags' form
from archive.models import fold_tag as fold_tag


def name_keys(names: Iterable[str]) -> list[str]:
    """The keys --author compares and facets count: each folded name once, in byline order."""
    return list(dict.fromkeys(fold_name(n) for n in names))


def tag_keys(tags: Iterable[str]) -> list[str]:
    """The keys --tag compares and facets count: each folded tag once, in the file's order."""
    return list(dict.fromkeys(fold_tag(t) for t in tags))


_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$")


def site_key(site: str | None, url: str | None) -> str | None:
    """The key an article's site is grouped by (None: it names no site)."""
    if not site:
        return None
    if url:
        try:
            host = urlsplit(url.strip()).hostname
        except ValueError:
            host = None
        if host:
            return registrable(host)
    folded = fold_name(site)
    host = folded.removeprefix("http://").removeprefix("https://").rstrip("/")
    return registrable(host) if _HOST.match(host) else folded


def document_keys(authors: Iterable[str], tags: Iterable[str], site: str | None, url: str | None) -> dict[str, Any]:
    """What MongoDB's filters and facets read of an article's document: its folded authors and
    tags, index for index with its own (so a key's spelling is found at its place), and its site's
    key. The store writes them; an Extended JSON export carries them for mongoimport."""
    return {"authors_key": [fold_name(a) for a in authors], "tags_key": [fold_tag(t) for t in tags],
            "site_key": site_key(site, url)}


def filter_keys(values: Iterable[str], names: Iterable[tuple[str, str]]) -> list[str]:
    """The keys a site filter of ``values`` selects: each value's own key (a domain or a name),
    and the keys of the sites stored under that name (``names``: (key, name) pairs), so that
    ``--site CNN`` finds the pages of cnn.com whatever they call themselves."""
    wanted = {fold_name(v) for v in values}
    keys = {k for v in values if (k := site_key(v, None))}
    keys.update(k for k, name in names if fold_name(name) in wanted)
    return sorted(keys)


def display_names(named: Iterable[tuple[str, str, int]]) -> dict[str, str]:
    """Each key's name to show, from (key, name, articles) counts: the name most of its articles
    give; when as many give each, a name before an address, one that holds the domain's own label
    ("CNN" for cnn.com, "National Geographic News" before "Magazine" for nationalgeographic.com),
    then the first alphabetically."""
    best: dict[str, tuple[int, bool, bool, str]] = {}
    for key, name, n in named:
        label = key.split(".")[0] if "." in key else ""
        rank = (-n, bool(_HOST.match(fold_name(name))), label not in re.sub(r"[\W_]", "", name.casefold()), name)
        if key not in best or rank < best[key]:
            best[key] = rank
    return {k: r[3] for k, r in best.items()}
