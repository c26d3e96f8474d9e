"""One page's address, however it was saved: the key under which saves of a page meet."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

# Query parameters that say how a reader arrived, not what the page is.
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "_hs", "mc_", "oly_", "vero_", "__s")
_TRACKING = frozenset((
    "fbclid", "gclid", "dclid", "gclsrc", "msclkid", "yclid", "twclid", "igshid", "ttclid", "li_fat_id",
    "mkt_tok", "ref", "ref_src", "ref_url", "referrer", "source", "cmpid", "cmp", "ito", "ns_mchannel",
    "ns_source", "ns_campaign", "ns_linkname", "ns_fee", "sr_share", "share", "smid", "smtyp", "s_cid",
    "at_medium", "at_campaign", "taid", "ocid", "wt.mc_id", "spm", "_ga", "_gl", "guccounter", "rss",
    "output", "amp",
))


def canonical_url(url: str | None) -> str | None:
    """The address reduced to what names the page: no scheme, host lower-case without ``www.``
    (or ``m.``/``amp.``), no default port, no trailing slash, no fragment, no tracking parameters,
    the rest of the query sorted. None for what is not a web address."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    for prefix in ("www.", "m.", "amp.", "mobile."):
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix) :]
            break
    if port not in (None, 80, 443):
        host = f"{host}:{port}"
    path = parts.path or "/"
    for suffix in ("/amp", "/index.html", "/index.htm", "/index.php"):
        if path.lower().endswith(suffix):
            path = path[: -len(suffix)]
    path = path.rstrip("/")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k.lower() not in _TRACKING and not k.lower().startswith(_TRACKING_PREFIXES)]
    q = urlencode(sorted(query))
    return f"{host}{path}" + (f"?{q}" if q else "")
