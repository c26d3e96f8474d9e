"""Both stores find the same articles for the same query (issue 24 #1): generated articles with
apostrophes, accents, underscores, hyphens, numbers and stop words, generated queries with OR
groups, exclusions, prefixes and phrases; MongoDB on mongomock always, on a real server when
ARCHIVE_TEST_MONGO_URI is set."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archive.models import ParsedArticle, Source
from archive.store.base import Store
from archive.store.records import Filters, UpsertItem
from tests.conftest import _backends, make_store

VOCAB = ("would", "could", "the", "who", "O'Brien", "l'aquila", "foo_bar", "résumé", "resume", "Résumés",
         "state-of-the-art", "troops", "troop", "Iraq", "iraqi", "2008", "covid-19", "naïve", "naive", "oil",
         "exports", "Müller", "muller", "don't", "U.S.", "C++", "talks", "talking", "talked", "news",
         # letters folded to more than an accentless letter (ß, Œ, Ł, ligatures, Vietnamese, fullwidth)
         "Straße", "strasse", "Œuvre", "oeuvre", "Łódź", "lodz", "Việt", "viet", "ﬁnance", "finance", "ｆｕｌｌ",
         "full")
QUERY_WORDS = (*VOCAB, "troo*", "res*", "o'b*", "talk*", "zzz", "stras*", "ﬁn*", "łod*")

sentence = st.lists(st.sampled_from(VOCAB), min_size=1, max_size=12).map(" ".join)
corpus = st.lists(st.tuples(sentence, sentence), min_size=1, max_size=8)


def _term(draw: Any) -> str:
    kind = draw(st.sampled_from(("word", "word", "phrase", "exclude", "or")))
    w = draw(st.sampled_from(QUERY_WORDS))
    if kind == "phrase":
        return '"' + " ".join(draw(st.lists(st.sampled_from(VOCAB), min_size=2, max_size=3))) + '"'
    if kind == "exclude":
        return "-" + w
    if kind == "or":
        return f"{w} OR {draw(st.sampled_from(QUERY_WORDS))}"
    return w


@st.composite
def queries(draw: Any) -> str:
    return " ".join(_term(draw) for _ in range(draw(st.integers(1, 3))))


@pytest.fixture
def pair(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[tuple[Store, Store]]:
    stores = [make_store("sqlite", tmp_path_factory.mktemp("s")),
              make_store(request.param, tmp_path_factory.mktemp("m"))]
    yield stores[0], stores[1]
    for s in stores:
        s.close()


def _items(docs: list[tuple[str, str]], root: Path) -> list[UpsertItem]:
    out = []
    for i, (title, body) in enumerate(docs):
        data = f"{title}\n{body}".encode()
        src = Source(path=str(root / f"{i}.txt"), sha256=hashlib.sha256(data).hexdigest(), size=len(data), mtime=1.0)
        out.append(UpsertItem(ParsedArticle.of(title, ("Jane Doe",), None, body), src))
    return out


@pytest.mark.parametrize("pair", [b for b in _backends() if b != "sqlite"], indirect=True)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=corpus, qs=st.lists(queries(), min_size=1, max_size=6))
def test_both_stores_find_the_same_articles(pair: tuple[Store, Store], docs: list[tuple[str, str]],
                                            qs: list[str], tmp_path: Path) -> None:
    sqlite, mongo = pair
    for s in pair:  # a fresh collection for each example: delete what the last one stored
        s.mark_deleted([a.source.path for a in s.query(Filters())])
    root = tmp_path / f"ex{abs(hash((tuple(docs), tuple(qs)))) % 10**9}"
    items = _items(docs, root)
    for s in pair:
        s.upsert_many(items)
    for q in qs:
        want = {h.article.source.path for h in sqlite.search(q, Filters())}
        got = {h.article.source.path for h in mongo.search(q, Filters())}
        assert got == want, (q, docs)
        assert mongo.count_matches(q, Filters()) == len(want), q


@pytest.mark.parametrize("pair", [b for b in _backends() if b != "sqlite"], indirect=True)
def test_both_stores_rank_by_bm25(pair: tuple[Store, Store], tmp_path: Path) -> None:
    """Issue 24 #1: MongoDB ranks as the embedded store does (BM25): a word said more often in a
    body of the same length ranks higher, the same count in a longer body lower, a title above
    them all, and an article's score does not depend on which store holds it."""
    filler = " ".join(f"w{i}" for i in range(40))
    docs = [("Report one", f"ferry {filler}"),
            ("Report two", f"ferry ferry ferry ferry {filler}"),
            ("Report three", f"ferry {filler} {filler} {filler} {filler}"),
            ("Ferry news", f"{filler} ferry"),
            ("Report four", f"{filler} {filler}")]
    for s in pair:
        s.upsert_many(_items(docs, tmp_path))
    orders = [[h.article.title for h in s.search("ferry", Filters())] for s in pair]
    assert orders[0] == orders[1] == ["Ferry news", "Report two", "Report one", "Report three"], orders
