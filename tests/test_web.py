"""`archive serve`: every route and error case through Starlette's TestClient, on every backend."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from archive.models import Failure
from archive.store.base import Store
from archive.store.records import Filters
from archive.web import create_app
from tests.conftest import article_text, item_for

HOSTILE = '<script>alert("x")</script> <img src=x onerror=alert(1)>'


@pytest.fixture
def filled(store: Store, write_article: Any) -> dict[str, Any]:
    """A store with articles by two authors, tags and sites, a revision, a deleted file, a
    hostile article and a failure."""
    a = write_article("iraq.txt", title="Troops leave Iraq", author="Jane Doe",
                      body="Troops left Iraq in December after talks failed.")
    b = write_article("oil.txt", title="Oil exports rise", author="John Roe", body="Iraq oil exports rose again.")
    c = write_article("paris.txt", title="Rain in Paris", author="Jane Doe", body="It rained in Paris all week.")
    h = write_article("hostile.txt", title=f"Hostile {HOSTILE}", author="Eve Hacker",
                      body=f"Body with {HOSTILE} inside and the word iraq.")
    tagged = item_for(b)._replace(parsed=item_for(b).parsed._replace(
        tags=("Energy", "Middle East"), site="Example News", url="https://news.example/oil"))
    store.upsert_many([item_for(a), tagged, item_for(c), item_for(h)])
    a.write_text(article_text(title="Troops leave Iraq", author="Jane Doe",
                              body="Troops left Iraq in December after the talks collapsed."))
    store.upsert_many([item_for(a)])
    store.mark_deleted([str(c)])
    store.record_failures([Failure(path=str(a.parent / "broken.txt"), code="empty", reason="empty: <b>no</b> text")])
    ids = {x.title.split()[0]: x.id for x in store.query(Filters(include_deleted=True))}
    return {"store": store, "ids": ids}


@pytest.fixture
def client(filled: dict[str, Any]) -> Iterator[TestClient]:
    store = filled["store"]

    class Borrowed:  # the test owns the store: the app must not close it
        def __getattr__(self, name: str) -> Any:
            return getattr(store, name)

        def close(self) -> None:
            pass

    app = create_app(lambda: Borrowed())  # type: ignore[arg-type,return-value]
    with TestClient(app, raise_server_exceptions=False) as c:  # its exit stops the store threads
        yield c


def test_search_page_ranks_highlights_counts_and_facets(client: TestClient) -> None:
    r = client.get("/", params={"q": "iraq"})
    assert r.status_code == 200
    html = r.text
    assert html.index("Troops leave Iraq") < html.index("Oil exports rise")  # the title weighs most
    assert "<mark>Iraq</mark>" in html or "<mark>iraq</mark>" in html
    assert '<span id="total">3</span> matches' in html
    assert 'data-kind="author"' in html and "Jane Doe" in html and '<span class="count">1</span>' in html
    assert "<svg" in html and "articles over time" in html


def test_a_facet_click_filters_and_its_chip_removes_it(client: TestClient) -> None:
    r = client.get("/", params=[("q", "iraq"), ("author", "John Roe")])
    assert '<span id="total">1</span> match' in r.text and "Oil exports rise" in r.text
    assert "author: John Roe ×" in r.text
    r = client.get("/", params=[("q", "iraq"), ("tag", "energy")])
    assert '<span id="total">1</span>' in r.text
    r = client.get("/", params=[("q", "iraq"), ("site", "Example News")])
    assert '<span id="total">1</span>' in r.text


def test_empty_query_lists_newest_and_deleted_are_hidden(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and '<span id="total">3</span> articles' in r.text and "Rain in Paris" not in r.text
    r = client.get("/", params={"deleted": "1"})
    assert "Rain in Paris" in r.text and "deleted" in r.text


def test_cached_facets_follow_new_articles(client: TestClient, filled: dict[str, Any], write_article: Any) -> None:
    assert '<span id="total">3</span>' in client.get("/").text
    filled["store"].upsert_many([item_for(write_article("new.txt", title="Fresh news", body="Just in."))])
    assert '<span id="total">4</span>' in client.get("/").text


def test_partial_is_the_results_fragment(client: TestClient) -> None:
    r = client.get("/", params={"q": "oil", "partial": "1"})
    assert r.status_code == 200 and "<html" not in r.text and "Oil exports rise" in r.text


def test_timeline_period_and_pagination(client: TestClient) -> None:
    r = client.get("/", params={"period": "2017-05"})
    assert '<span id="total">3</span>' in r.text  # every article of the fixture is dated 5 May 2017
    assert client.get("/", params={"period": "2016"}).text.count('<li class="hit') == 0
    first = client.get("/api/search", params={"limit": "2"}).json()
    assert len(first["hits"]) == 2 and first["next_cursor"]
    second = client.get("/api/search", params={"limit": "2", "cursor": first["next_cursor"]}).json()
    assert len(second["hits"]) == 1 and second["next_cursor"] is None
    assert {h["id"] for h in first["hits"]}.isdisjoint(h["id"] for h in second["hits"])


def test_list_pages_are_keyset_new_articles_do_not_shift_them(client: TestClient, filled: dict[str, Any],
                                                              write_article: Any) -> None:
    first = client.get("/api/search", params={"limit": "2"}).json()
    newest = "# Newest of all\n\nJane Doe\n1 January 2024\n\nFresh news.\n"  # sorts before every page read
    filled["store"].upsert_many([item_for(write_article("newer.txt", newest))])
    second = client.get("/api/search", params={"limit": "2", "cursor": first["next_cursor"]}).json()
    ids = [h["id"] for h in first["hits"]] + [h["id"] for h in second["hits"]]
    assert len(ids) == len(set(ids)) == 3  # no article twice, none skipped, the newcomer not in the old pages
    page = client.get("/", params={"cursor": first["next_cursor"]}).text
    assert "← first page" in page


def test_article_page_with_revisions_and_diff(client: TestClient, filled: dict[str, Any]) -> None:
    aid = filled["ids"]["Troops"]
    r = client.get(f"/articles/{aid}")
    assert r.status_code == 200 and "Troops leave Iraq" in r.text and "Jane Doe" in r.text
    assert "?diff=1..2" in r.text
    r = client.get(f"/articles/{aid}", params={"diff": "1..2"})
    assert "<del>failed.</del>" in r.text and "<ins>collapsed.</ins>" in r.text
    deleted = client.get(f"/articles/{filled['ids']['Rain']}")
    assert "the file is gone" in deleted.text


def test_an_article_page_shows_sub_headings_and_leaves_hashtags_as_text(
        store: Store, write_article: Any, client: TestClient) -> None:
    """A body's "## " paragraph is a heading; a paragraph opening with a hashtag was one too, its
    "#" dropped ("#MeToo trended all week" printed as the heading "MeToo trended all week")."""
    f = write_article("tags.md", title="Hashtags and headings", author="Jane Doe",
                      body="The campaign went on.\n\n## What came next\n\n#MeToo trended all week.")
    store.upsert_many([item_for(f)])
    aid = next(x.id for x in store.query(Filters()) if x.title == "Hashtags and headings")
    page = client.get(f"/articles/{aid}").text
    assert "<h2>What came next</h2>" in page and "<p>#MeToo trended all week.</p>" in page


def test_status_page_shows_failures_escaped(client: TestClient) -> None:
    r = client.get("/status")
    assert r.status_code == 200 and "broken.txt" in r.text and "&lt;b&gt;no&lt;/b&gt;" in r.text


def test_hostile_text_stays_text(client: TestClient, filled: dict[str, Any]) -> None:
    for r in (client.get("/", params={"q": "hostile"}), client.get(f"/articles/{filled['ids']['Hostile']}")):
        assert r.status_code == 200
        assert "<script>alert" not in r.text and "<img src=x" not in r.text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in r.text or "&lt;script&gt;" in r.text


def test_api_documents_are_export_documents(client: TestClient, filled: dict[str, Any]) -> None:
    store: Store = filled["store"]
    aid = filled["ids"]["Oil"]
    doc = client.get(f"/api/articles/{aid}").json()
    assert doc == store.get(aid).to_doc()  # type: ignore[union-attr]
    assert doc["tags"] == ["Energy", "Middle East"] and doc["site"] == "Example News"
    hits = client.get("/api/search", params={"q": "oil"}).json()
    assert hits["total"] == 1 and hits["hits"][0]["id"] == aid
    assert set(doc) < set(hits["hits"][0]) and "**" in hits["hits"][0]["snippet"]
    revs = client.get(f"/api/articles/{filled['ids']['Troops']}/revisions").json()
    assert [r["revision"] for r in revs] == [1, 2]
    stats = client.get("/api/stats").json()
    assert stats["articles"] == 3 and {"tag": "Energy", "articles": 1} in stats["tags"]
    facets = client.get("/api/facets", params={"q": "iraq"}).json()
    assert facets["total"] == 3 and {"value": "Jane Doe", "count": 1} in facets["authors"]
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.") and {"/api/search", "/api/articles/{id}", "/api/stats",
                                                 "/api/facets", "/api/articles/{id}/revisions"} <= set(spec["paths"])


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/", {"since": "yesterday"}, 400),
        ("/", {"sort": "random"}, 400),
        ("/", {"limit": "1000"}, 400),
        ("/", {"cursor": "!!!"}, 400),
        ("/", {"period": "20x7"}, 400),
        ("/", {"since": "2020-01-02", "until": "2020-01-01"}, 400),
        ("/api/search", {"limit": "x"}, 400),
        ("/articles/nope", {}, 404),
        ("/api/articles/nope", {}, 404),
        ("/api/articles/nope/revisions", {}, 404),
        ("/no/such/page", {}, 404),
    ],
)
def test_errors_are_pages_never_tracebacks(client: TestClient, path: str, params: dict[str, str], code: int) -> None:
    r = client.get(path, params=params)
    assert r.status_code == code
    assert "Traceback" not in r.text
    if path.startswith("/api"):
        assert "error" in r.json()
    else:
        assert "<h1>" in r.text


def test_bad_diff_is_400(client: TestClient, filled: dict[str, Any]) -> None:
    r = client.get(f"/articles/{filled['ids']['Troops']}", params={"diff": "1..9"})
    assert r.status_code == 400 and "two revisions" in r.text


def test_any_query_text_is_a_valid_query(client: TestClient) -> None:
    for q in ['"unclosed', "-", "AND OR", "*", "(", "NEAR(a b)", "a:b", "\x00"]:
        assert client.get("/api/search", params={"q": q}).status_code == 200, q


def test_nothing_writes(client: TestClient) -> None:
    app = client.app
    for route in app.routes:  # type: ignore[attr-defined]
        methods = getattr(route, "methods", None) or {"GET", "HEAD"}
        assert methods <= {"GET", "HEAD"}, route
    assert client.post("/api/search").status_code == 405
    assert client.delete("/api/articles/x").status_code in (404, 405)


def test_credentials_are_never_rendered(tmp_path: Path) -> None:
    import mongomock

    from archive.store.mongo import MongoStore
    from tests.conftest import patch_mongomock_bulk

    patch_mongomock_bulk()
    store = MongoStore("mongodb://admin:hunter2@db.example:27017/archive", client=mongomock.MongoClient())
    c = TestClient(create_app(lambda: store))
    page = c.get("/status").text
    assert "hunter2" not in page and "db.example:27017" in page


def test_serve_binds_loopback_and_warns_when_wider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from archive.cli import cli

    for k in ("ARCHIVE_HOST", "ARCHIVE_PORT", "ARCHIVE_DB"):
        monkeypatch.delenv(k, raising=False)
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    db = str(tmp_path / "s.db")
    missing = CliRunner().invoke(cli, ["--db", db, "serve"])
    assert missing.exit_code == 1 and "no store" in missing.stderr and not calls  # never creates one
    from archive.store.sqlite import SQLiteStore

    SQLiteStore(db).close()
    r = CliRunner().invoke(cli, ["--db", db, "serve"])
    assert r.exit_code == 0 and calls[-1]["host"] == "127.0.0.1" and calls[-1]["port"] == 8080
    assert "warning" not in r.stderr
    r = CliRunner().invoke(cli, ["--db", db, "serve", "--host", "0.0.0.0", "--port", "9000"])
    assert calls[-1]["host"] == "0.0.0.0" and calls[-1]["port"] == 9000 and "warning: listening on 0.0.0.0" in r.stderr


def test_a_request_past_the_time_limit_is_a_503_and_others_go_on(sqlite_store: Store, write_article: Any) -> None:
    """Store calls run on their own threads under a time limit (issue 22): a slow one answers
    503 with a clear message; a request beside it is answered meanwhile."""
    import threading
    import time as _time

    sqlite_store.upsert_many([item_for(write_article("a.txt", title="Quick", body="Ceasefire talks."))])
    release = threading.Event()

    class Slow:
        def __init__(self) -> None:
            self.inner = sqlite_store

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

        def facets(self, *a: Any, **k: Any) -> Any:
            release.wait(10)  # as a query that takes long
            return self.inner.facets(*a, **k)

        def close(self) -> None:
            pass

    app = create_app(lambda: Slow(), time_limit=0.5)  # type: ignore[arg-type,return-value]
    with TestClient(app, raise_server_exceptions=False) as c:  # its exit waits for the store threads
        t0 = _time.monotonic()
        r = c.get("/api/facets", params={"q": "ceasefire"})
        assert r.status_code == 503 and "longer than 0.5 s" in r.json()["error"]
        assert _time.monotonic() - t0 < 5
        quick = c.get("/api/search", params={"q": "ceasefire"})  # a slow call still holds a thread
        assert quick.status_code == 200 and quick.json()["total"] == 1
        release.set()


def test_every_response_carries_the_security_headers(client: TestClient) -> None:
    for path in ("/", "/api/search?q=iraq", "/static/app.css", "/no/such/page"):
        h = client.get(path).headers
        csp = h["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY"


def test_a_pathological_diff_is_bounded(sqlite_store: Store, write_article: Any) -> None:
    """30,000 words from a two-word vocabulary, two revisions: the diff comes back at once
    (difflib's word diff of it took ~105 s and held the whole server)."""
    import random
    import time as _time

    rng = random.Random(5)
    p = write_article("a.txt", title="Twins", body=" ".join(rng.choice(("alpha", "beta")) for _ in range(30_000)))
    sqlite_store.upsert_many([item_for(p)])
    write_article("a.txt", title="Twins", body=" ".join(rng.choice(("alpha", "beta")) for _ in range(30_000)))
    sqlite_store.upsert_many([item_for(p)])
    art = next(iter(sqlite_store.query(Filters())))
    with TestClient(create_app(lambda: sqlite_store), raise_server_exceptions=False) as c:
        t0 = _time.monotonic()
        r = c.get(f"/articles/{art.id}", params={"diff": "1..2"})
        assert r.status_code == 200 and "<del>" in r.text
        assert _time.monotonic() - t0 < 10


def test_date_sorted_search_sorts_in_the_store(client: TestClient) -> None:
    newest = client.get("/api/search", params={"q": "iraq", "sort": "newest"}).json()["hits"]
    oldest = client.get("/api/search", params={"q": "iraq", "sort": "oldest"}).json()["hits"]
    key = [(h["published"] or "", h["id"]) for h in newest]
    assert key == sorted(key, reverse=True) and len(newest) == len(oldest) >= 2
    assert [h["id"] for h in oldest] == [h["id"] for h in reversed(newest)]


def test_serve_with_two_processes_answers_a_busy_port_is_one_line_and_a_kill_leaves_nothing(
        tmp_path: Path, write_article: Any) -> None:
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time as _time
    import urllib.request

    from tests.daemon import all_gone, descendants, wait_for

    db = tmp_path / "a.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    archive = str(Path(sys.executable).with_name("archive"))
    write_article("a.txt", title="Served", body="Ceasefire talks.")
    subprocess.run([archive, "--db", str(db), "ingest", str(tmp_path / "articles")], env=env, check=True,
                   capture_output=True, timeout=120)
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        port = sk.getsockname()[1]
    p = subprocess.Popen([archive, "--db", str(db), "serve", "--port", str(port), "--workers", "2"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def answers() -> bool:
            try:
                return b"Served" in urllib.request.urlopen(f"http://127.0.0.1:{port}/?q=ceasefire", timeout=5).read()
            except OSError:
                return False

        wait_for(answers, 60)
        procs = descendants(p.pid)
        assert len(procs) >= 2  # two server processes under the supervisor
        busy = subprocess.run([archive, "--db", str(db), "serve", "--port", str(port)], env=env,
                              capture_output=True, text=True, timeout=60)
        assert busy.returncode == 1 and "cannot listen" in busy.stderr and "serving" not in busy.stderr
        assert len(busy.stderr.strip().splitlines()) == 1, busy.stderr
        os.kill(p.pid, signal.SIGKILL)
        p.wait(10)
        t0 = _time.monotonic()
        wait_for(lambda: all_gone(procs), 15)
        assert _time.monotonic() - t0 < 15
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
        if p.stderr:
            p.stderr.close()


def test_stories_page_api_and_an_article_page_with_its_story_and_similar(client: TestClient, filled: dict[str, Any],
                                                                         write_article: Any) -> None:
    from tests.test_stories import republished, text

    store = filled["store"]
    assert client.get("/api/stories").json() == []
    assert "No stories yet" in client.get("/stories").text
    wire = write_article("wire.txt", title="Wire copy", body=text(90))
    copy = write_article("copy.txt", title="Outlet headline", body=republished(text(90)))
    store.upsert_many([item_for(wire), item_for(copy)])
    ids = {a.title: a.id for a in store.query(Filters())}
    [story] = client.get("/api/stories").json()
    assert story["id"] == ids["Wire copy"] and [a["id"] for a in story["articles"]] == [ids["Wire copy"],
                                                                                          ids["Outlet headline"]]
    assert client.get("/api/stories", params={"min_size": 3}).json() == []
    assert client.get("/api/stories", params={"min_size": "x"}).status_code == 400
    page = client.get("/stories").text
    assert "Outlet headline" in page and "near-duplicate" in page
    art = client.get(f"/articles/{ids['Outlet headline']}").text
    assert "The same story elsewhere" in art and f"?with={ids['Wire copy']}" in art and "Similar articles" in art
    compared = client.get(f"/articles/{ids['Outlet headline']}", params={"with": ids["Wire copy"]}).text
    assert "Compared with" in compared and "<ins" in compared
    similar = client.get(f"/api/articles/{ids['Outlet headline']}/similar").json()
    assert similar and similar[0]["id"] == ids["Wire copy"] and "score" in similar[0]
    assert client.get("/api/articles/nope/similar").status_code == 404
    assert client.get("/api/stories", params={"limit": 200, "author": "Nobody"}).json() == []  # filters kept


@pytest.mark.parametrize(("route", "params"), [
    ("/api/search", {"q": "x", "limit": 0}), ("/api/search", {"q": "x", "limit": 10_000}),
    ("/api/stories", {"limit": 0}), ("/api/stories", {"limit": 501}), ("/api/stories", {"min_size": 1}),
    ("/stories", {"limit": "many"}), ("/api/articles/ANY/similar", {"limit": 101}),
])
def test_every_route_refuses_a_limit_out_of_range_alike(client: TestClient, route: str, params: dict[str, Any]) -> None:
    """Review: /stories and /similar clamped a limit silently while /api/search refused it."""
    r = client.get(route, params=params)
    assert r.status_code == 400 and "between" in r.text, (route, params, r.status_code, r.text[:200])


def test_a_story_is_one_hit_on_the_search_page_with_its_other_articles_folded(client: TestClient,
                                                                            filled: dict[str, Any],
                                                                            write_article: Any) -> None:
    from tests.test_stories import republished, text

    store = filled["store"]
    body = text(91) + "\n\nThe zeppelin landed."
    files = [write_article(f"z{i}.txt", title=f"Zeppelin {i}", body=republished(body, 0.1) if i else body)
             for i in range(3)]
    store.upsert_many([item_for(f) for f in files])
    page = client.get("/", params={"q": "zeppelin"}).text
    assert page.count("<li class=\"hit") == 1 and "and 2 more in" in page
    assert page.count("/articles/") >= 3  # the folded ones are still a click away
    api = client.get("/api/search", params={"q": "zeppelin"}).json()
    assert len(api["hits"]) == 3  # the API lists every article


def test_a_range_that_ends_before_it_starts_is_refused_as_the_cli_refuses_it(client: TestClient,
                                                                             tmp_path: Path) -> None:
    """One rule for the CLI and the web (archive.store.records.build_filters): a 400 naming both
    dates here, exit 2 naming both options there."""
    r = client.get("/api/search", params={"q": "x", "since": "2020-01-02", "until": "2020-01-01"})
    assert r.status_code == 400 and "since 2020-01-02 is after until 2020-01-01" in r.text
    from archive.store.sqlite import SQLiteStore

    SQLiteStore(tmp_path / "a.db").close()
    run = subprocess.run([sys.executable, "-m", "archive", "--db", str(tmp_path / "a.db"), "list", "--since",
                          "2020-01-02", "--until", "2020-01-01"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "--since 2020-01-02 is after --until 2020-01-01" in run.stderr


def test_a_revision_diff_opens_on_the_changes(sqlite_store: Store, write_article: Any) -> None:
    """Issue 26: the diff shows the changed paragraphs with one of context and the metadata that
    changed, before the article; the whole text with its changes is one click away."""
    paras = [f"Paragraph {i} of the long report." for i in range(12)]
    p = write_article("a.txt", title="Before", body="\n\n".join(paras))
    sqlite_store.upsert_many([item_for(p)])
    paras[6] = "Paragraph 6 of the long report, corrected."
    write_article("a.txt", title="After", body="\n\n".join(paras))
    sqlite_store.upsert_many([item_for(p)])
    art = next(iter(sqlite_store.query(Filters())))
    with TestClient(create_app(lambda: sqlite_store)) as c:
        page = c.get(f"/articles/{art.id}", params={"diff": "1..2"}).text
    changes = page[page.index('id="diff"'):page.index('<details class="whole"')]
    assert "<ins>corrected.</ins>" in changes or "<ins>report, corrected.</ins>" in changes
    assert "Paragraph 5 of" in changes and "Paragraph 7 of" in changes  # one paragraph of context
    assert "Paragraph 2 of" not in changes and "unchanged paragraphs" in changes
    assert "<td>title</td><td><del>Before</del></td><td><ins>After</ins></td>" in changes
    assert page.index('id="diff"') < page.index('<article class="doc')  # the page opens on the changes
    whole = page[page.index('<details class="whole"'):]
    assert "Paragraph 2 of" in whole


def test_the_timeline_is_labelled_by_year_and_zoomed_by_month(client: TestClient) -> None:
    """Issue 26: the timeline said only its two ends; now years (every one, or every 2nd, 5th…)
    and, within a year or less, months, as HTML that stays readable at any width."""
    from archive.web.render import timeline_ticks

    assert timeline_ticks(["2016-11", "2016-12", "2017-01"]) == [(0, "Nov 2016"), (1, "Dec"), (2, "Jan 2017")]
    decades = [f"{y}-{m:02d}" for y in range(1990, 2021) for m in range(1, 13)]
    assert [label for _, label in timeline_ticks(decades)] == ["1990", "1995", "2000", "2005", "2010", "2015", "2020"]
    page = client.get("/").text
    assert '<svg class="ticks"' in page and '2017</text>' in page
