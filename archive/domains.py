"""A host's registrable domain by the Public Suffix List (``www.bbc.co.uk`` is ``bbc.co.uk``): how the
store groups sites (archive.store.keys) and how the parser knows a site's own name in its host
(archive.parsing.pagemeta), declared once below both."""

from __future__ import annotations

import functools
import ipaddress
from typing import Any


@functools.cache
def _suffixes() -> Any:
    """The Public Suffix List (bundled with publicsuffixlist; read once, ~30 ms, when first asked)."""
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def registrable(host: str) -> str:
    """A host's registrable domain by the Public Suffix List: ``www.bbc.co.uk`` is ``bbc.co.uk``,
    ``money.cnn.com`` ``cnn.com``, ``someone.github.io`` itself; an address (``127.0.0.1``) or a
    suffix alone (``localhost``) stays as it is."""
    host = host.strip().rstrip(".").lower()
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    return str(_suffixes().privatesuffix(host) or host)
