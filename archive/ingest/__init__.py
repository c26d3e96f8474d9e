"""Bringing files into a store: ``rules`` (which files are articles, and the walk), ``reading``
(one file read, hashed and parsed) and ``pipeline`` (the :class:`Ingester` that ``archive ingest``
and the daemon run). The names others use are here."""

from archive.ingest.pipeline import POOL_THRESHOLD, Ingester, Summary, skipped_line
from archive.ingest.reading import NOT_A_FILE, FileStat, Prepared, display, prepare
from archive.ingest.rules import PAGE_FOLDER, Rules, is_article_file, walk

__all__ = ["NOT_A_FILE", "PAGE_FOLDER", "POOL_THRESHOLD", "FileStat", "Ingester", "Prepared", "Rules", "Summary",
           "display", "is_article_file", "prepare", "skipped_line", "walk"]
