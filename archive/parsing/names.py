"""How a credit line lists people, declared once for every format: the separators between names
and what a person's name looks like.

Two separator sets, on purpose: ``LIST_SPLIT`` (commas, "and", "&") splits any list of authors
(a text's "By" line, a front matter's ``author``); ``CO_AUTHOR_SPLIT`` adds other languages'
"and" (und, et, y, e), which also joins single names ("José Ortega y Gasset"), so
:func:`archive.parsing.bylines.co_authors` splits at it only when every part is a ``PERSON``."""

from __future__ import annotations

import re

LIST_SPLIT = re.compile(r"\s*,\s*(?:and\s+|&\s*)?|\s+(?:and|&)\s+", re.I)
CO_AUTHOR_SPLIT = re.compile(r"\s*,\s*(?:and\s+|&\s+)?|\s+(?:and|&|und|et|y|e)\s+")

_CAPITAL = "A-Z\u00c0-\u00de"
# Lower-case words that names carry ("Ludwig van Beethoven", "Gabriel García de la Cruz", "José
# Ortega y Gasset").
PARTICLES = frozenset(("van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "la", "le", "al", "el",
                       "bin", "ibn", "y", "e", "dos", "das", "ter", "ten", "zu"))
_PARTICLES = "|".join(sorted(PARTICLES, key=len, reverse=True))
# Two to four words, each capitalised ("Laura E. Adkins", "Jean-Luc O'Brien") or a particle
# ("Ludwig van Beethoven"); the first may be an initial ("J. Smith").
PERSON = re.compile(rf"^[{_CAPITAL}][\w'\u2019.-]*(?:\s+(?:[{_CAPITAL}][\w'\u2019.-]*|{_PARTICLES})){{1,3}}$")


# Other languages' "by" before a writer's name (German, French, Spanish and Portuguese, Dutch,
# Scandinavian, Italian): a text's byline, a page's "By" line and the byline an extractor leaves
# above a page's article read the same words.
OTHER_BY = ("Von", "Par", "Por", "Door", "Av", "Af", "Di")
OTHER_BY_RE = "|".join(OTHER_BY)
