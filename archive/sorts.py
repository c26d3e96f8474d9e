"""The orders a list can be read in, declared once (and cheap to import: the CLI's fast path reads
them): the CLI's --sort choices, SQLite's ORDER BY clauses and MongoDB's sort specifications are
checked against it (tests/test_fields.py)."""

from typing import Literal, get_args

Sort = Literal["-published", "published", "-updated", "updated", "-ingested", "ingested", "title", "path"]
SORTS: tuple[Sort, ...] = get_args(Sort)
