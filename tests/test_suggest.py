"""Did you mean (issue 26): a search that finds nothing offers the query with its misspelt words
replaced by the closest words the store holds, on the CLI, the web page and the JSON API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from archive.search.suggest import closest, distance, suggestion
from archive.store.base import Store
from tests.conftest import item_for, make_store


def test_distance_and_closest() -> None:
    assert distance("goverment", "government", 2) == 1
    assert distance("abc", "xyzabc", 2) == 3  # past the limit: stops early
    terms = [("government", 90), ("governments", 5), ("movement", 40)]
    assert closest("goverment", terms) == "government"
    assert closest("government", terms) is None  # there already
    assert closest("zzz", terms) is None
    assert suggestion('"prime ministr" goverment -oill', lambda p: terms) == '"prime ministr" government -oill'


@pytest.fixture(params=["sqlite", "mongomock"])
def filled(request: pytest.FixtureRequest, tmp_path: Path, write_article: object) -> Store:
    store = make_store(request.param, tmp_path)
    for i, (title, body) in enumerate([("Troops leave", "The government said the troops would leave."),
                                       ("Election", "The election results came in for the government.")]):
        store.upsert_many([item_for(write_article(f"a{i}.txt", title=title, body=body))])  # type: ignore[operator]
    return store


def test_both_stores_suggest_from_their_words(filled: Store) -> None:
    assert filled.suggest("goverment troops") == "government troops"
    assert filled.suggest("elektion") == "election"
    assert filled.suggest("government") is None


def test_the_web_page_and_the_api_offer_it(filled: Store) -> None:
    from archive.web.app import create_app

    with TestClient(create_app(lambda: filled)) as client:
        assert client.get("/api/search", params={"q": "goverment"}).json()["suggestion"] == "government"
        page = client.get("/", params={"q": "goverment"}).text
        assert 'id="suggestion"' in page and "government</a>" in page
        assert "suggestion" not in client.get("/api/search", params={"q": "government"}).json()


def test_the_cli_says_it_under_no_matches(tmp_path: Path, write_article: object) -> None:
    with make_store("sqlite", tmp_path) as s:
        s.upsert_many([item_for(write_article("a.txt", body="The government said so."))])  # type: ignore[operator]
    run = subprocess.run([sys.executable, "-m", "archive", "--db", str(tmp_path / "archive.db"), "search",
                          "goverment", "--format", "table"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "did you mean: government" in run.stderr, run.stderr
