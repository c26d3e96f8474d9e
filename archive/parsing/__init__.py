"""Article files in, article fields out (or a :class:`ParseError` with a reason).

One entry point, :func:`parse_bytes`, picks the reader by the file's extension: saved web pages
(``.html``, ``.htm``), Markdown with front matter (``.md``, ``.markdown``), and the light-Markdown
text articles of SPEC.md (everything else).
"""

from __future__ import annotations

from archive.errors import ParseError
from archive.models import ParsedArticle
from archive.parsing.dates import date_in_path, date_in_url, parse_date
from archive.parsing.text import (
    DEFAULT_MAX_BYTES,
    MAX_TITLE_CHARS,
    decode,
    parse_byline,
    parse_text,
    plain_inline,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "HTML_EXTENSIONS",
    "MARKDOWN_EXTENSIONS",
    "MAX_TITLE_CHARS",
    "decode",
    "file_format",
    "parse_byline",
    "parse_bytes",
    "parse_date",
    "parse_text",
    "plain_inline",
]

HTML_EXTENSIONS = (".html", ".htm", ".mhtml", ".mht", ".webarchive")  # then single-file saves: MIME, Safari
MARKDOWN_EXTENSIONS = (".md", ".markdown")


def file_format(path: str | None) -> str:
    """``html``, ``markdown`` or ``text``: how a file of this name is read."""
    name = (path or "").lower()
    if name.endswith(HTML_EXTENSIONS):
        return "html"
    if name.endswith(MARKDOWN_EXTENSIONS):
        return "markdown"
    return "text"


def parse_bytes(
    data: bytes, path: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES, order: str = "dmy"
) -> ParsedArticle:
    """Parse a file's bytes. Raises ParseError with a distinct reason for each failure. An article
    whose file gives no date takes the one in its name or folders (``2019-09-30-post.md``), else
    the one in its address's path (``https://example.com/2019/09/30/ferry``), marked
    ``date_source: path``. ``order`` reads ambiguous numeric dates (``dmy`` or ``mdy``)."""
    parsed = _parse(data, path, max_bytes, order)
    if parsed.published is None and (d := date_in_path(path) or date_in_url(parsed.url)) is not None:
        return parsed._replace(published=d, date_source="path")
    return parsed


def _parse(data: bytes, path: str | None, max_bytes: int, order: str) -> ParsedArticle:
    if len(data) > max_bytes:
        raise ParseError(
            path, "too-large",
            f"over the size limit: {len(data):,} bytes > {max_bytes:,} (ARCHIVE_MAX_BYTES)",
        )
    if not data.strip():
        raise ParseError(path, "empty", "empty: the file has no text")
    kind = file_format(path)
    if kind == "html":
        from archive.parsing.html import parse_html, parse_mhtml, parse_webarchive

        if (path or "").lower().endswith((".mhtml", ".mht")):
            return parse_mhtml(data, path)
        if (path or "").lower().endswith(".webarchive"):
            return parse_webarchive(data, path)
        return parse_html(data, path)
    text = decode(data, path)
    if kind == "markdown":
        from archive.parsing.frontmatter import parse_markdown

        return parse_markdown(text, path, order)
    return parse_text(text, path, order=order)
