"""The MongoDB backend against the server's documented rules: the exact commands and filters it
sends (mongomock cannot show $text, write concerns or concurrent writers), error classification,
conditional writes, and what a read-only user can do. The contract suite (test_store.py) runs
the same behaviour on mongomock and, with ARCHIVE_TEST_MONGO_URI, on a real server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import mongomock
import pytest
from pymongo.errors import (
    BulkWriteError,
    ConfigurationError,
    OperationFailure,
    ServerSelectionTimeoutError,
    WriteConcernError,
)

from archive.config import redact
from archive.errors import StoreError, StoreMissing, StoreUnavailable
from archive.store.base import Filters
from archive.store.mongo import STOP_WORDS, MongoStore, classify, client_options
from tests.conftest import item_for, patch_mongomock_bulk


@pytest.fixture
def mstore() -> Iterator[MongoStore]:
    patch_mongomock_bulk()
    s = MongoStore("mongodb://mongomock/archive_unit", client=mongomock.MongoClient())
    yield s
    s.close()


class Cursor:
    """A cursor that records how it was sorted and returns given documents."""

    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = docs
        self.sorted_by: Any = None

    def sort(self, spec: Any) -> Cursor:
        self.sorted_by = spec
        return self

    def limit(self, n: int) -> Cursor:
        raise AssertionError("candidates must not be limited before they are checked")

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.docs)

    def __next__(self) -> dict[str, Any]:
        raise StopIteration


def doc(i: int, title: str, body: str, score: float) -> dict[str, Any]:
    return {"_id": f"{i:032d}", "title": title, "authors": [], "tags": [], "body": body, "score": score,
            "word_count": 1, "revision": 1, "published": None,
            "source": {"path": f"/x/{i}.txt", "sha256": "0" * 64, "size": 1, "mtime": 1.0},
            "ingested_at": dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc),
            "updated_at": dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc), "deleted_at": None}


# ---------------------------------------------------------------- 1. search semantics


def test_text_search_sends_words_unquoted_and_checks_every_candidate(mstore: MongoStore,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[Any, ...]] = []
    cands = [doc(1, "Toward peace", "The march toward peace went on.", 9.0),  # "war" inside "toward"
             doc(2, "War and oil", "A war over oil exports.", 5.0),
             doc(3, "Oil", "Oil exports, and war; troops left.", 5.0),
             doc(4, "State of the art", "State-of-the-art gear.", 1.0)]
    cur = Cursor(cands)

    class Spy:
        def find(self, *args: Any, **kw: Any) -> Cursor:
            sent.append(args)
            return cur

    monkeypatch.setattr(mstore, "articles", Spy())
    mstore._text_ok = True
    hits = list(mstore.search('war "oil exports" -troops', Filters(), limit=5))
    flt = sent[0][0]
    assert flt["$text"] == {"$search": "war oil exports"}  # unquoted: candidates and a score, no substring phrases
    assert cur.sorted_by == [("score", {"$meta": "textScore"}), ("_id", 1)]  # equal scores in a stable order
    assert [h.article.title for h in hits] == ["War and oil"]  # AND, the phrase and the exclusion enforced here
    sent.clear()
    cur.docs = cands
    assert [h.article.title for h in mstore.search("state-of-the-art", Filters())] == ["State of the art"]


def test_a_query_of_stop_words_is_scanned_not_sent_to_text(mstore: MongoStore, write_article: Any) -> None:
    mstore.upsert_many([item_for(write_article("a.txt", title="Who we are", body="The who and the what."))])
    assert {"the", "who", "we"} <= STOP_WORDS
    assert [h.article.title for h in mstore.search("the who", Filters())] == ["Who we are"]


def test_the_scan_regex_never_relies_on_the_servers_ascii_word_class(mstore: MongoStore,
                                                                    write_article: Any,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    mstore.upsert_many([item_for(write_article("m.txt", title="Müller speaks", body="Herr Müller said so."))])
    sent: list[Any] = []
    real = mstore.articles.find

    def spy(*args: Any, **kw: Any) -> Any:
        sent.append(args)
        return real(*args, **kw)

    monkeypatch.setattr(mstore.articles, "find", spy)
    assert list(mstore.search("ller", Filters())) == []
    assert [h.article.title for h in mstore.search("müller", Filters())] == ["Müller speaks"]
    assert "\\w" not in repr(sent) and "\\W" not in repr(sent)


# ---------------------------------------------------------------- 2. errors


@pytest.mark.parametrize(
    ("exc", "unavailable"),
    [
        (ServerSelectionTimeoutError("h:1: [Errno 111] Connection refused"), True),
        (WriteConcernError("waiting for replication timed out", 64, {}), True),
        (OperationFailure("not primary", 10107), True),
        (OperationFailure("operation exceeded time limit", 50), True),
        (OperationFailure("you are over your space quota", 8000), True),
        (OperationFailure("interrupted", 11602), True),
        (OperationFailure("x", 2, {"errorLabels": ["RetryableWriteError"]}), True),
        (BulkWriteError({"writeErrors": [], "writeConcernErrors": [{"code": 64, "errmsg": "wtimeout"}]}), True),
        (ConfigurationError("The DNS query name does not exist: _mongodb._tcp.x.example."), True),
        (OperationFailure("BSONObj size is too large", 10334), False),
        (OperationFailure("bad value", 2), False),
    ],
)
def test_transient_server_errors_are_unavailable(exc: Exception, unavailable: bool) -> None:
    got = classify(exc, "db:27017")
    assert isinstance(got, StoreUnavailable) is unavailable
    assert isinstance(got, StoreError) and "\n" not in str(got)


def test_auth_failure_says_when_authsource_is_needed() -> None:
    got = classify(OperationFailure("Authentication failed.", 18), "db:27017")
    assert "authSource=admin" in str(got)


def test_a_store_fault_is_never_recorded_against_a_file(tmp_path: Path, write_article: Any) -> None:
    from archive.config import Settings
    from archive.ingest import Ingester

    class Flaky(MongoStore):
        def upsert_many(self, items: Any) -> Any:
            raise classify(OperationFailure("not primary", 10107), "db")

    patch_mongomock_bulk()
    s = Flaky("mongodb://mongomock/flaky", client=mongomock.MongoClient())
    write_article("a.txt")
    ing = Ingester(s, Settings(db="mongodb://mongomock/flaky", workers=1), log_each=False)
    with pytest.raises(StoreUnavailable):
        ing.reconcile(str(tmp_path / "articles"))
    assert list(s.failures()) == []


# ---------------------------------------------------------------- 3. concurrent writers


def test_a_concurrent_change_is_not_lost(mstore: MongoStore, write_article: Any,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    p = write_article("a.txt", body="First version.")
    mstore.upsert_many([item_for(p)])
    other = MongoStore("mongodb://mongomock/archive_unit", client=mstore.client)  # a second writer
    second = item_for(write_article("a.txt", body="Second version, by the other writer."))
    third = item_for(write_article("a.txt", body="Third version, by this one."))
    real = mstore.articles.find
    raced = []

    def find_then_race(*args: Any, **kw: Any) -> Any:
        docs = list(real(*args, **kw))  # this writer has read revision 1 ...
        if not raced:
            raced.append(1)
            other.upsert_many([second])  # ... and the other writes revision 2 meanwhile
        return iter(docs)

    monkeypatch.setattr(mstore.articles, "find", find_then_race)
    (result,) = mstore.upsert_many([third])
    assert result.outcome == "updated" and result.revision == 3
    art = mstore.get(result.id)
    assert art is not None and art.body == "Third version, by this one."
    assert [r.body for r in mstore.revisions(result.id)] == ["First version.", "Second version, by the other writer."]


def test_import_counts_two_documents_with_one_path_as_a_conflict(mstore: MongoStore, write_article: Any) -> None:
    mstore.upsert_many([item_for(write_article("a.txt"))])
    a = next(iter(mstore.query(Filters())))
    twin = replace(a, id="f" * 32)
    other = replace(a, id="e" * 32, source=replace(a.source, path="/elsewhere.txt"))
    twin_of_other = replace(other, id="d" * 32)
    counts = mstore.put_articles([twin, other, twin_of_other])
    assert counts == {"imported": 1, "updated": 0, "unchanged": 0, "conflict": 2}


# ---------------------------------------------------------------- 5, 6, 7: sorts, options, readers


def test_sorts_have_indexes_and_title_sorts_without_case(mstore: MongoStore, monkeypatch: pytest.MonkeyPatch) -> None:
    names = set(mstore.articles.index_information())
    assert {"published_id", "updated_id", "ingested_id", "title_id"} <= names
    seen: list[dict[str, Any]] = []
    real = mstore.articles.find

    def spy(*args: Any, **kw: Any) -> Any:
        seen.append(kw)
        return real(*args, **kw)

    monkeypatch.setattr(mstore.articles, "find", spy)
    list(mstore.query(Filters(), sort="title"))
    assert seen[-1]["collation"] == {"locale": "en", "strength": 2} and seen[-1]["allow_disk_use"] is True
    assert mstore.meta.find_one({"_id": "schema"})["version"] == 3


def test_the_users_uri_options_win() -> None:
    mine = client_options("mongodb://db/archive?serverSelectionTimeoutMS=30000&socketTimeoutMS=1000", 5.0)
    assert "serverSelectionTimeoutMS" not in mine and "socketTimeoutMS" not in mine
    assert mine["connectTimeoutMS"] == 5000
    default = client_options("mongodb://db/archive", 5.0)
    assert default["serverSelectionTimeoutMS"] == 5000 and default["socketTimeoutMS"] == 60000


def test_a_reader_creates_nothing(write_article: Any) -> None:
    patch_mongomock_bulk()
    client = mongomock.MongoClient()
    with pytest.raises(StoreMissing):
        MongoStore("mongodb://mongomock/empty", client=client, create=False)
    assert "empty" not in client.list_database_names()
    writer = MongoStore("mongodb://mongomock/ro", client=client)
    writer.upsert_many([item_for(write_article("a.txt", title="Readable"))])
    writer.articles.drop_indexes()  # as a reader finds a store whose indexes it may not make
    reader = MongoStore("mongodb://mongomock/ro", client=client, create=False)
    assert set(reader.articles.index_information()) == {"_id_"}
    assert [h.article.title for h in reader.search("readable", Filters())] == ["Readable"]


# ---------------------------------------------------------------- 10: smaller


def test_inode_numbers_above_int64_survive(mstore: MongoStore, write_article: Any) -> None:
    item = item_for(write_article("a.txt"))
    big = replace(item, source=replace(item.source, inode=2**64 - 5, device=2**63 + 1))
    mstore.upsert_many([big])
    a = mstore.get_by_path(item.source.path)
    assert a is not None and a.source.inode == 2**64 - 5 and a.source.device == 2**63 + 1
    assert [k.inode for k in mstore.known_files()] == [2**64 - 5]
    assert [c.id for c in mstore.move_candidates(2**63 + 1, 2**64 - 5, "x")] == [a.id]


def test_secrets_in_uri_options_are_redacted() -> None:
    uri = ("mongodb+srv://u:pw@c.example/db?tlsCertificateKeyFilePassword=s3cret"
           "&authMechanismProperties=AWS_SESSION_TOKEN:tok&appName=x")
    out = redact(f"cannot reach {uri}")
    assert "pw" not in out and "s3cret" not in out and "tok" not in out and "appName=x" in out


def test_ejson_export_carries_the_filter_keys() -> None:
    from archive.export import from_ejson, to_ejson

    d = {"id": "a" * 32, "authors": ["Jane DOE"], "tags": ["Energy"], "ingested_at": "2020-01-01T00:00:00.000Z"}
    e = to_ejson(d)
    assert e["authors_key"] == ["jane doe"] and e["tags_key"] == ["energy"]
    assert from_ejson(e) == {**d, "ingested_at": "2020-01-01T00:00:00.000Z"}


def test_the_real_server_fixture_keeps_uri_options() -> None:
    from tests.conftest import with_database

    got = with_database("mongodb://u:p@h1,h2/admin?replicaSet=rs0&authSource=admin&tls=true", "archive_test_x")
    assert got == "mongodb://u:p@h1,h2/archive_test_x?replicaSet=rs0&authSource=admin&tls=true"
    assert with_database("mongodb://localhost:27017", "t") == "mongodb://localhost:27017/t"


def test_lock_age_is_measured_on_the_servers_clock(mstore: MongoStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from archive.config import Settings
    from archive.watch import lease as lease_mod

    settings = Settings(db="mongodb://mongomock/archive_unit")
    live = {"token": "a" * 32, "pid": 1, "host": "another-host", "folder": "/w", "heartbeat_at": None}
    assert mstore.acquire_lock("watch:/w", live, lambda old: True) is None  # daemon A, on the server's clock
    real_now = mstore.server_now()
    stamped = mstore.state.find_one({"_id": "watch:/w"})
    assert isinstance(stamped["beat_at"], dt.datetime)  # a BSON date written with $currentDate
    # Daemon B's machine runs 90 s fast: by its own clock A's heartbeat looks stale.
    fast = lambda: real_now + dt.timedelta(seconds=90)  # noqa: E731
    monkeypatch.setattr(lease_mod, "utcnow", fast)
    monkeypatch.setattr("archive.store.mongo.lock.utcnow", fast)
    monkeypatch.setattr(mstore, "server_now", lambda: real_now)
    b = lease_mod.Lease("watch:/w", {**live, "token": "b" * 32, "host": "b-host"}, settings)
    held = b.acquire(mstore)
    assert held is not None and held["token"] == "a" * 32  # A is live: B must not take over
    assert lease_mod.daemon_state(mstore.daemons()[0], settings) == "running"


# ---------------------------------------------------------------- the real-server tier (ARCHIVE_TEST_MONGO_URI)

REAL = pytest.mark.skipif(not __import__("archive.config", fromlist=["x"]).test_mongo_uri(),
                          reason="set ARCHIVE_TEST_MONGO_URI to run against a real MongoDB")


@pytest.fixture
def real_uri() -> Iterator[str]:
    import uuid

    from archive.config import test_mongo_uri
    from tests.conftest import with_database

    uri = with_database(test_mongo_uri() or "", f"archive_test_{uuid.uuid4().hex[:8]}")
    yield uri
    s = MongoStore(uri)
    s.client.drop_database(s.db.name)
    s.close()


@REAL
@pytest.mark.mongo
def test_real_two_processes_ingesting_the_same_files(real_uri: str, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import article_text

    folder = tmp_path / "w"
    folder.mkdir()
    for i in range(300):
        (folder / f"a{i}.txt").write_text(article_text(title=f"A {i}", body=f"Body {i}."))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    cmd = [sys.executable, "-m", "archive", "--db", real_uri, "ingest", str(folder)]
    procs = [subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    for i in range(0, 300, 3):  # both change the same files again, concurrently
        (folder / f"a{i}.txt").write_text(article_text(title=f"A {i}", body=f"Body {i}, changed."))
    procs = [subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    s = MongoStore(real_uri)
    try:
        assert list(s.failures()) == []
        arts = list(s.query(Filters()))
        assert len(arts) == 300
        for a in arts:
            revs = [r.revision for r in s.revisions(a.id)] + [a.revision]
            assert revs == sorted(set(revs)) and revs == list(range(1, a.revision + 1))
    finally:
        s.close()


@REAL
@pytest.mark.mongo
@pytest.mark.slow
def test_real_unlimited_list_beyond_100_mb(real_uri: str) -> None:
    from archive.models import Article, Source

    s = MongoStore(real_uri)
    try:
        body = "word " * 20_000  # ~100 KB
        batch = [Article(id=f"{i:032x}", title=f"T {i}", body=body, source=Source(
            path=f"/big/{i}.txt", sha256="0" * 64, size=1, mtime=1.0)) for i in range(1300)]
        for k in range(0, len(batch), 100):
            s.put_articles(batch[k : k + 100])
        assert sum(1 for _ in s.query(Filters(), sort="title")) == 1300  # a sort past 100 MB, on disk
    finally:
        s.close()


@REAL
@pytest.mark.mongo
def test_real_read_only_user_can_search(real_uri: str, write_article: Any) -> None:
    from urllib.parse import quote, urlsplit, urlunsplit

    writer = MongoStore(real_uri)
    writer.upsert_many([item_for(write_article("a.txt", title="Readable"))])
    name = writer.db.name
    try:
        writer.db.command("createUser", "archive_reader", pwd="reader-pw", roles=[{"role": "read", "db": name}])
    except OperationFailure as exc:
        writer.close()
        pytest.skip(f"cannot create a user on this server: {exc}")
    try:
        parts = urlsplit(real_uri)
        host = parts.netloc.rsplit("@", 1)[-1]
        query = "&".join(x for x in [parts.query, f"authSource={quote(name)}"] if x)
        ro = urlunsplit((parts.scheme, f"archive_reader:reader-pw@{host}", parts.path, query, ""))
        reader = MongoStore(ro, create=False)
        assert [h.article.title for h in reader.search("readable", Filters())] == ["Readable"]
        reader.close()
    finally:
        writer.db.command("dropUser", "archive_reader")
        writer.close()


def test_a_long_read_survives_the_cursor_idle_timeout(mstore: MongoStore, write_article: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from pymongo.errors import CursorNotFound

    mstore.upsert_many([item_for(write_article(f"{i}.txt", title=f"T{i}")) for i in range(7)])
    want = [a.id for a in mstore.query(Filters(), sort="path")]
    real = mstore.articles.find
    dropped = []

    class Dropping:
        """The server drops the cursor after three documents, once."""

        def __init__(self, cur: Any) -> None:
            self.cur = cur
            self.n = 0

        def sort(self, *a: Any) -> Dropping:
            self.cur = self.cur.sort(*a)
            return self

        def skip(self, n: int) -> Dropping:
            self.cur = self.cur.skip(n)
            return self

        def limit(self, n: int) -> Dropping:
            self.cur = self.cur.limit(n)
            return self

        def __iter__(self) -> Dropping:
            return self

        def __next__(self) -> Any:
            if self.n == 3 and not dropped:
                dropped.append(1)
                raise CursorNotFound("cursor id 123 not found", 43)
            self.n += 1
            return next(self.cur)

    monkeypatch.setattr(mstore.articles, "find", lambda *a, **k: Dropping(real(*a, **k)))
    assert [a.id for a in mstore.query(Filters(), sort="path")] == want and dropped
