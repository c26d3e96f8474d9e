"""The MongoDB backend against the server's documented rules: the exact commands and filters it
sends (mongomock cannot show $text, write concerns or concurrent writers), error classification,
conditional writes, and what a read-only user can do. The contract suite (test_store.py) runs
the same behaviour on mongomock and, with ARCHIVE_TEST_MONGO_URI, on a real server."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
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

from archive.errors import StoreError, StoreMissing, StoreUnavailable
from archive.models import Article
from archive.redaction import redact
from archive.store.mongo import MongoStore, classify, client_options
from archive.store.mongo.store import SCHEMA_VERSION
from archive.store.records import Filters
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
            "ingested_at": dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
            "updated_at": dt.datetime(2020, 1, 1, tzinfo=dt.UTC), "deleted_at": None}


# ---------------------------------------------------------------- 1. search semantics


def spy_find(mstore: MongoStore, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """The arguments of every ``articles.find`` from now on."""
    sent: list[tuple[Any, ...]] = []
    real = mstore.articles.find

    def spy(*args: Any, **kw: Any) -> Any:
        sent.append(args)
        return real(*args, **kw)

    monkeypatch.setattr(mstore.articles, "find", spy)
    return sent




def test_search_asks_the_articles_terms_never_the_servers_text_index(mstore: MongoStore, write_article: Any,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 24 #1/#2: what $text did differently from SQLite is gone: stop words (``would``), an
    apostrophe inside a word (``O'Brien``), ``_``, stemming after folding (``résumé`` meets
    ``resume``), and the old scan's missing stems (``troop`` finds "troops")."""
    texts = {"w.txt": ("Would they?", "They would, could and ought to."),
             "o.txt": ("O'Brien in L'Aquila", "Mr O'Brien flew to L'Aquila."),
             "u.txt": ("Snake case", "The foo_bar function."),
             "r.txt": ("Résumé tips", "Write a résumé."),
             "t.txt": ("Troops", "The troops left.")}
    mstore.upsert_many([item_for(write_article(n, title=t, body=b)) for n, (t, b) in texts.items()])
    sent = spy_find(mstore, monkeypatch)

    def titles(q: str) -> set[str]:
        return {h.article.title for h in mstore.search(q, Filters())}

    assert titles("would") == {"Would they?"} and titles('"ought to"') == {"Would they?"}
    assert titles("O'Brien") == titles("aquila") == {"O'Brien in L'Aquila"}
    assert titles("foo_bar") == titles("foo") == {"Snake case"}
    assert titles("resume") == titles("résumés") == {"Résumé tips"}
    assert titles("troop") == {"Troops"} and titles("troo*") == {"Troops"}
    assert titles('"the who" OR troops') == {"Troops"}
    assert "$text" not in repr(sent)
    assert mstore.count_matches("would OR troop", Filters()) == 2


def test_the_ranking_reads_no_body_and_keeps_only_the_top(mstore: MongoStore, write_article: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 24 #4: ``-iraq`` or a common word no longer loads the collection: candidates are read
    as their small ranking arrays, the best ``limit`` kept, and only those read whole."""
    items = [item_for(write_article(f"{i}.txt", title="Oil" if i == 7 else f"Report {i}", body=f"Oil news {i}."))
             for i in range(30)]
    mstore.upsert_many(items)
    sent = spy_find(mstore, monkeypatch)
    hits = list(mstore.search("oil", Filters(), limit=3))
    assert hits[0].article.title == "Oil" and len(hits) == 3  # a title match ranks first
    scan, fetch = next(x for x in sent if len(x) > 1), sent[-1]  # (mongomock's $sample finds with no arguments)
    assert scan[1] is not None and "body" not in scan[1]  # ranking projects the arrays only
    assert len(fetch[0]["_id"]["$in"]) == 3  # only the top are read whole
    assert [h.article.title for h in mstore.search("oil", Filters(), limit=3)] == [h.article.title for h in hits]


def test_the_scan_regex_never_relies_on_the_servers_ascii_word_class(mstore: MongoStore,
                                                                    write_article: Any,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    mstore.upsert_many([item_for(write_article("m.txt", title="Müller speaks", body="Herr Müller said so."))])
    sent = spy_find(mstore, monkeypatch)
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


def test_a_revision_kept_meanwhile_by_another_writer_is_a_lost_race_not_a_failure(
        mstore: MongoStore, write_article: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 24 #10: the revision's upsert is a bulk write, so a duplicate key there comes as a
    BulkWriteError: read again and written, outcome and revision right."""
    from pymongo.errors import BulkWriteError

    a, b = write_article("a.txt", body="First version of a."), write_article("b.txt", body="First version of b.")
    mstore.upsert_many([item_for(a), item_for(b)])
    changed = [item_for(write_article("a.txt", body="Second version of a.")),
               item_for(write_article("b.txt", body="Second version of b."))]
    real = mstore.revs.bulk_write
    calls: list[int] = []

    def race(ops: Any, **kw: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:  # b's revision: another writer kept it a moment ago
            raise BulkWriteError({"writeErrors": [{"index": 0, "code": 11000, "errmsg": "E11000 duplicate key"}],
                                  "writeConcernErrors": [], "nInserted": 0})
        return real(ops, **kw)

    monkeypatch.setattr(mstore.revs, "bulk_write", race)
    results = mstore.upsert_many(changed)
    assert [(r.outcome, r.revision) for r in results] == [("updated", 2), ("updated", 2)]
    assert [r.body for r in mstore.revisions(results[0].id)] == ["First version of a."]


def test_import_counts_two_documents_with_one_path_as_a_conflict(mstore: MongoStore, write_article: Any) -> None:
    mstore.upsert_many([item_for(write_article("a.txt"))])
    a = next(iter(mstore.query(Filters())))
    twin = a._replace(id="f" * 32)
    other = a._replace(id="e" * 32, source=a.source._replace(path="/elsewhere.txt"))
    twin_of_other = other._replace(id="d" * 32)
    counts = mstore.put_articles([twin, other, twin_of_other])
    assert counts == {"imported": 1, "updated": 0, "unchanged": 0, "conflict": 2}


# ---------------------------------------------------------------- 3. transactions on replica sets


class Recorder:
    """A mongomock collection that takes a ``session`` (mongomock refuses one) and notes, for each
    call, whether it came with the transaction's session."""

    def __init__(self, coll: Any, log: list[tuple[str, str, bool]], session: object) -> None:
        self._coll, self._log, self._session = coll, log, session

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._coll, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kw: Any) -> Any:
            given = kw.pop("session", None)
            self._log.append((self._coll.name, name, given is self._session))
            return attr(*args, **kw)

        return call


@pytest.fixture
def txn_store(mstore: MongoStore, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[MongoStore, dict[str, Any]]]:
    """``mstore`` as on a replica set: sessions and transactions, recorded."""
    session = object()
    seen: dict[str, Any] = {"log": [], "transactions": [], "fail_once": None}

    class Session:
        def __enter__(self) -> Session:
            return self

        def __exit__(self, *exc: Any) -> None:
            return None

        def with_transaction(self, work: Any, **kw: Any) -> Any:
            seen["transactions"].append(kw)
            return work(session)

    mstore.transactions = True
    monkeypatch.setattr(mstore.client, "start_session", lambda **kw: Session())
    for name in ("articles", "revs", "fails", "paths", "bands"):
        setattr(mstore, name, Recorder(getattr(mstore, name), seen["log"], session))
        if hasattr(mstore.writes, name):  # the store's writer holds the same collections
            setattr(mstore.writes, name, getattr(mstore, name))
    mstore.claims.paths, mstore.claims.articles = mstore.paths, mstore.articles
    yield mstore, seen


def test_on_a_replica_set_article_revision_claims_and_failure_commit_together(
        txn_store: tuple[MongoStore, dict[str, Any]], write_article: Any) -> None:
    from archive.models import Failure

    store, seen = txn_store
    p = write_article("a.txt", body="First version.")
    store.upsert_many([item_for(p)])
    moved = p.with_name("b.txt")
    store.record_failures([Failure(path=str(moved), code="parse-error", reason="x")])  # b.txt was broken
    p.rename(moved)
    moved.write_text(moved.read_text().replace("First version.", "Second version."))
    item = item_for(moved)._replace(move_from=next(iter(store.query(Filters()))).id)
    seen["log"].clear()
    seen["transactions"].clear()
    (result,) = store.upsert_many([item])
    assert result.outcome == "updated" and result.revision == 2
    rc, wc = seen["transactions"][0]["read_concern"], seen["transactions"][0]["write_concern"]
    assert rc.level == "snapshot" and wc.document == {"w": "majority", "wtimeout": 30_000}
    # Issue 24 #6: the primary, whatever readPreference the URI gives (a secondary refuses them)
    from pymongo import ReadPreference

    assert seen["transactions"][0]["read_preference"] == ReadPreference.PRIMARY
    writes = [(coll, op) for coll, op, in_txn in seen["log"] if op not in ("find", "find_one")]
    assert {("paths", "bulk_write"), ("revisions", "bulk_write"), ("articles", "replace_one"),
            ("failures", "delete_many")} <= set(writes)
    assert all(in_txn for _, _, in_txn in seen["log"]), seen["log"]  # reads too: one snapshot
    assert list(store.failures()) == []
    assert {d["_id"] for d in store.paths.find({})} == {str(moved)}  # the old path given up


def test_a_duplicate_key_inside_a_transaction_runs_the_round_again(
        txn_store: tuple[MongoStore, dict[str, Any]], write_article: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    store, seen = txn_store
    real = store.claims.claim
    calls = []

    def lose_first(wanted: Any, s: Any = None) -> Any:
        calls.append(1)
        if len(calls) == 1:  # a concurrent writer claimed the path first: the transaction aborts
            raise BulkWriteError({"writeErrors": [{"index": 0, "code": 11000, "errmsg": "E11000"}]})
        return real(wanted, s)

    monkeypatch.setattr(store.claims, "claim", lose_first)
    (result,) = store.upsert_many([item_for(write_article("a.txt"))])
    assert result.outcome == "new" and len(calls) == 2 and len(seen["transactions"]) == 2
    assert store.articles.count_documents({}) == 1


def test_a_daemon_batch_is_cut_into_short_transactions(txn_store: tuple[MongoStore, dict[str, Any]],
                                                       write_article: Any) -> None:
    """Issue 24 #7: 250 files are three transactions of at most TXN_FILES, not one of 250."""
    from archive.store.mongo.writes import TXN_FILES

    store, seen = txn_store
    results = store.upsert_many([item_for(write_article(f"{i}.txt", title=f"T{i}")) for i in range(250)])
    assert [r.outcome for r in results] == ["new"] * 250 and TXN_FILES == 100
    assert len(seen["transactions"]) == 3


def test_a_document_too_large_is_that_documents_error(mstore: MongoStore) -> None:
    """Issue 24 #16: the driver's DocumentTooLarge (no PyMongoError) becomes a StoreError, which the
    import and the daemon isolate to its line or file and go on."""
    from pymongo.errors import DocumentTooLarge

    from archive.errors import StoreError

    with pytest.raises(StoreError, match="cannot store a document: BSON document too large"), mstore._guard():
        raise DocumentTooLarge("BSON document too large (17000000 bytes)")


def test_collections_are_made_at_open_never_inside_a_first_transaction(mstore: MongoStore) -> None:
    """Issue 24 #13: MongoDB 4.2 and sharded clusters refuse to create a collection in a transaction."""
    names = set(mstore.db.list_collection_names())
    assert {"articles", "revisions", "failures", "daemons", "paths", "story_bands"} <= names


def test_atlas_not_allowed_is_final_over_quota_is_not() -> None:
    """Issue 24 #17: code 8000 on a free tier ("not allowed") is not retried forever."""
    from archive.errors import StoreUnavailable

    final = classify(OperationFailure("$where is not allowed in this atlas tier", 8000), "h")
    busy = classify(OperationFailure("you are over your space quota", 8000), "h")
    assert not isinstance(final, StoreUnavailable) and isinstance(busy, StoreUnavailable)


# ---------------------------------------------------------------- 4. a layout that can be sharded


def test_paths_are_unique_through_claims_not_an_index_on_articles(mstore: MongoStore, write_article: Any) -> None:
    info = mstore.articles.index_information()
    assert not info["source_path"].get("unique")  # a sharded articles collection could not keep it
    a, b = write_article("a.txt"), write_article("b.txt", title="B")
    mstore.upsert_many([item_for(a), item_for(b)])
    claims = {d["_id"]: d["article"] for d in mstore.paths.find({})}
    assert claims == {x.source.path: x.id for x in mstore.query(Filters())}
    # another article (an import) cannot take a path that is held
    held = next(iter(mstore.query(Filters())))
    assert mstore.put_articles([held._replace(id="f" * 32)])["conflict"] == 1
    assert mstore.articles.count_documents({"source.path": held.source.path}) == 1


def test_every_single_document_write_names_the_shard_key(mstore: MongoStore, write_article: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """articles and paths are sharded on {_id: "hashed"}, revisions on {article_id: 1, revision: 1},
    failures on {_id: "hashed"}: before 7.1 a single-document update or upsert must name it."""
    filters: list[tuple[str, dict[str, Any]]] = []
    for coll in (mstore.articles, mstore.revs, mstore.fails, mstore.paths):
        for op in ("update_one", "replace_one", "bulk_write"):
            real = getattr(coll, op)

            def spy(*args: Any, _real: Any = real, _op: str = op, _name: str = coll.name, **kw: Any) -> Any:
                if _op == "bulk_write":
                    for r in args[0]:
                        if type(r).__name__ in ("UpdateOne", "ReplaceOne", "DeleteOne"):
                            filters.append((_name, r._filter))
                else:
                    filters.append((_name, args[0]))
                return _real(*args, **kw)

            monkeypatch.setattr(coll, op, spy)
    p = write_article("a.txt", body="One.")
    mstore.upsert_many([item_for(p)])
    mstore.touch_many([item_for(p).source])
    p.write_text(p.read_text().replace("One.", "Two."))
    mstore.upsert_many([item_for(p)])
    moved = p.rename(p.with_name("c.txt"))
    mstore.upsert_many([item_for(moved)._replace(move_from=next(iter(mstore.query(Filters()))).id)])
    mstore.put_articles(list(mstore.query(Filters())), list(mstore.all_revisions()))
    key = {"articles": ("_id",), "paths": ("_id",), "failures": ("_id",), "revisions": ("article_id", "revision")}
    assert {name for name, _ in filters} >= {"articles", "paths", "revisions"}
    for name, flt in filters:
        assert all(k in flt for k in key[name]), (name, flt)


def test_a_writer_refuses_a_database_made_by_a_newer_archive() -> None:
    patch_mongomock_bulk()
    client = mongomock.MongoClient()
    client["newer"]["archive_meta"].insert_one({"_id": "schema", "version": 99})
    with pytest.raises(StoreError, match=r"schema version 99.*upgrade archive"):
        MongoStore("mongodb://mongomock/newer", client=client)


@pytest.mark.parametrize("deployment", ["standalone", "replica set"])
def test_a_claim_left_by_a_crashed_writer_is_taken_over_after_the_grace(
        deployment: str, request: pytest.FixtureRequest, write_article: Any) -> None:
    from archive.store.mongo.claims import GRACE

    mstore = (request.getfixturevalue("mstore") if deployment == "standalone"
              else request.getfixturevalue("txn_store")[0])
    p = write_article("a.txt")
    now = mstore.server_now()
    mstore.paths.insert_one({"_id": str(p), "article": "0" * 32, "at": now})  # in flight, or crashed just now
    with pytest.raises(StoreUnavailable):
        mstore.upsert_many([item_for(p)])
    assert mstore.articles.count_documents({}) == 0
    mstore.paths.update_one({"_id": str(p)}, {"$set": {"at": now - GRACE - dt.timedelta(seconds=1)}})
    (result,) = mstore.upsert_many([item_for(p)])
    assert result.outcome == "new" and mstore.paths.find_one({"_id": str(p)})["article"] == result.id


def upgraded(uri: str, client: Any, imported: bool = False) -> MongoStore:
    """The store at ``uri`` once ``archive migrate --upgrade`` has run, after checking that
    writers and readers refuse it until then, saying to run it (issue 24 #12, item 4)."""
    from archive.errors import StoreOutdated

    for create in (True, False):
        with pytest.raises(StoreOutdated, match=r"run 'archive migrate --upgrade'") as e:
            MongoStore(uri, client=client, create=create)
        assert ("without archive" in str(e.value)) == imported
    done: list[int] = []
    s = MongoStore(uri, client=client, upgrade=True, progress=done.append)
    assert sum(done) == s.articles.count_documents({}) and s.schema_version() == SCHEMA_VERSION
    s.close()
    again = MongoStore(uri, client=client, upgrade=True)  # a second run finds nothing to do
    assert again.upgraded_from == SCHEMA_VERSION
    again.close()
    return MongoStore(uri, client=client)


def test_an_interrupted_upgrade_goes_on_where_it_stopped(write_article: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 24 item 4: the upgrade is resumable: a second run rewrites only what the first did not."""
    import archive.store.mongo.store as mongo_store

    patch_mongomock_bulk()
    client = mongomock.MongoClient()
    s = MongoStore("mongodb://mongomock/resume", client=client)
    for i in range(5):
        s.upsert_many([item_for(write_article(f"a{i}.txt", title=f"Straße {i}"))])
    s.meta.update_one({"_id": "schema"}, {"$set": {"version": 6}})
    s.close()
    monkeypatch.setattr(mongo_store, "UPGRADE_BATCH", 2)
    first: list[int] = []

    def stop_after_two_batches(n: int) -> None:
        first.append(n)
        if len(first) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        MongoStore("mongodb://mongomock/resume", client=client, upgrade=True, progress=stop_after_two_batches)
    rest: list[int] = []
    s = MongoStore("mongodb://mongomock/resume", client=client, upgrade=True, progress=rest.append)
    assert (first, rest, s.schema_version()) == ([2, 2], [1], SCHEMA_VERSION)
    assert len(list(s.search("strasse", Filters()))) == 5 and s.meta.find_one({"_id": "upgrade"}) is None
    s.close()


def test_the_daemon_keeps_the_files_of_an_older_store_until_it_is_upgraded(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 24 item 4: the daemon does not upgrade the store itself: it says to run the upgrade
    once, keeps its files waiting as for an unreachable store, and stores them once it has run."""
    import logging
    import threading

    from archive.config import Settings
    from archive.watch.daemon import Daemon
    from tests.conftest import article_text
    from tests.daemon import wait_for

    patch_mongomock_bulk()
    client = mongomock.MongoClient()
    uri = "mongodb://mongomock/older"
    s = MongoStore(uri, client=client)
    s.upsert_many([item_for(_file(tmp_path / "kept.txt", "Kept"))])
    s.meta.update_one({"_id": "schema"}, {"$set": {"version": 6}})
    s.close()
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / "a.txt").write_text(article_text(title="Waiting"))
    caplog.set_level(logging.INFO, logger="archive")
    settings = Settings(db=uri, settle=0.05, rescan_interval=0)  # type: ignore[call-arg]
    daemon = Daemon(settings, str(folder), store_factory=lambda: MongoStore(uri, client=client))
    t = threading.Thread(target=daemon.run, daemon=True)
    t.start()
    try:
        wait_for(lambda: "archive migrate --upgrade" in caplog.text)
        assert client["older"]["articles"].count_documents({}) == 1
        MongoStore(uri, client=client, upgrade=True).close()
        wait_for(lambda: client["older"]["articles"].count_documents({"title": "Waiting"}) == 1, timeout=30)
    finally:
        daemon.request_stop()
        t.join(10)
    assert caplog.text.count("archive migrate --upgrade") == 1  # said once, not every second


def _file(path: Path, title: str) -> Path:
    from tests.conftest import article_text

    path.write_text(article_text(title=title))
    return path


def test_an_older_store_gets_its_claims_and_loses_its_unique_index(write_article: Any) -> None:
    patch_mongomock_bulk()
    client = mongomock.MongoClient()
    s = MongoStore("mongodb://mongomock/old", client=client)
    s.upsert_many([item_for(write_article("a.txt")), item_for(write_article("b.txt", title="B"))])
    # what schema 3 left: a unique index on source.path, no claims
    s.paths.drop()
    s.articles.drop_index("source_path")
    s.articles.create_index("source.path", unique=True, name="source_path")
    s.meta.update_one({"_id": "schema"}, {"$set": {"version": 3}})
    s.close()
    s = upgraded("mongodb://mongomock/old", client)
    assert not s.articles.index_information()["source_path"].get("unique")
    assert {d["_id"] for d in s.paths.find({})} == {a.source.path for a in s.query(Filters())}
    assert s.meta.find_one({"_id": "schema"})["version"] == SCHEMA_VERSION
    s.close()


def test_an_older_store_gets_its_search_arrays_and_stories_when_upgraded(write_article: Any) -> None:
    from tests.test_stories import republished, text

    patch_mongomock_bulk()
    client = mongomock.MongoClient()
    s = MongoStore("mongodb://mongomock/old5", client=client)
    s.upsert_many([item_for(write_article("a.txt", title="Troops leave", body=text(5))),
                   item_for(write_article("b.txt", title="Copy", body=republished(text(5))))])
    # what schema 4 left: no search arrays, no stories, a $text index
    s.articles.update_many({}, {"$unset": {"terms": "", "words": "", "t_title": "", "t_meta": "", "story": ""}})
    s.bands.drop()
    s.meta.update_one({"_id": "schema"}, {"$set": {"version": 4}})
    s.close()
    s = upgraded("mongodb://mongomock/old5", client)
    assert [h.article.title for h in s.search("troop", Filters())] == ["Troops leave"]
    assert [len(x.members) for x in s.stories(Filters())] == [2]
    assert s.meta.find_one({"_id": "schema"})["version"] == SCHEMA_VERSION
    s.close()


def test_articles_indexed_before_story_sketches_get_them_when_upgraded(write_article: Any) -> None:
    """The keeper passes over candidates by their fine sketch; articles indexed before it was kept
    have none (and are always compared) until ``migrate --upgrade`` gives them one."""
    from archive.stories.signature import signature
    from tests.test_stories import text

    patch_mongomock_bulk()
    client = mongomock.MongoClient()
    s = MongoStore("mongodb://mongomock/oldsk", client=client)
    s.upsert_many([item_for(write_article(f"a{i}.txt", title=f"T{i}", body=text(40 + i))) for i in range(3)])
    s.articles.update_many({}, {"$unset": {"story_sketch": ""}})
    s.close()
    s = MongoStore("mongodb://mongomock/oldsk", client=client, upgrade=True)  # the store's schema is today's
    docs = list(s.articles.find({}, {"body": 1, "story_sketch": 1}))
    assert len(docs) == 3 and all(bytes(d["story_sketch"]) == signature(d["body"]).sketch for d in docs)
    s.close()


def test_a_schema_6_store_gets_arrays_made_by_the_one_analyzer(write_article: Any) -> None:
    """Schema 7: the search arrays of a store made when MongoDB folded with its own table (ß -> s)
    are made again by the analyzer the SQLite index uses (ß -> ss), 500 at a time, by the
    upgrade; a reader finds Straße as strasse then."""
    patch_mongomock_bulk()
    client = mongomock.MongoClient()
    s = MongoStore("mongodb://mongomock/old6", client=client)
    for i in range(3):
        s.upsert_many([item_for(write_article(f"a{i}.txt", title=f"Die Straße {i}", body="Die Straße ist lang."))])
    # what schema 6 left: arrays folded with the old table (ß -> s)
    s.articles.update_many({}, {"$set": {"terms": ["die", "strase", "ist", "lang"],
                                         "words": ["die", "strase", "ist", "lang"], "t_title": ["strase"]}})
    s.meta.update_one({"_id": "schema"}, {"$set": {"version": 6}})
    assert list(s.search("strasse", Filters())) == []
    s.close()
    s = upgraded("mongodb://mongomock/old6", client)
    assert len(list(s.search("strasse", Filters()))) == 3 and len(list(s.search("Straße", Filters()))) == 3
    assert s.meta.find_one({"_id": "schema"})["version"] == SCHEMA_VERSION
    s.close()


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
    assert mstore.meta.find_one({"_id": "schema"})["version"] == SCHEMA_VERSION


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
    big = item._replace(source=item.source._replace(inode=2**64 - 5, device=2**63 + 1))
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

    d = {"id": "a" * 32, "authors": ["Jane DOE"], "tags": ["Energy"], "ingested_at": "2020-01-01T00:00:00.000Z",
         "site": "CNN", "url": "https://money.cnn.com/x"}
    e = to_ejson(d)
    assert e["authors_key"] == ["jane doe"] and e["tags_key"] == ["energy"] and e["site_key"] == "cnn.com"
    assert from_ejson(e) == {**d, "ingested_at": "2020-01-01T00:00:00.000Z"}


def test_ejson_revisions_mongoimport_into_the_stores_layout(tmp_path: Path, write_article: Any) -> None:
    """export --format ejson --revisions is what the MongoDB store's revisions collection holds:
    loaded as mongoimport would, the store reads the history back; import refuses it."""
    from bson import json_util
    from click.testing import CliRunner

    from archive.cli import cli

    db = str(tmp_path / "a.db")
    p = write_article("a.txt", body="First version.")
    run = CliRunner().invoke
    assert run(cli, ["--db", db, "ingest", str(p.parent)]).exit_code == 0
    p.write_text(p.read_text().replace("First version.", "Second version."))
    assert run(cli, ["--db", db, "ingest", str(p.parent)]).exit_code == 0
    r = run(cli, ["--db", db, "export", "--format", "ejson", "--revisions"])
    assert r.exit_code == 0, r.output
    (line,) = r.stdout.splitlines()
    patch_mongomock_bulk()
    m = MongoStore("mongodb://mongomock/imported", client=mongomock.MongoClient())
    m.revs.insert_one(json_util.loads(line))  # what mongoimport -c revisions does with the line
    doc = json_util.loads(line)
    assert doc["_id"] == f"{doc['article_id']}:1" and doc["revision"] == 1
    (rev,) = m.revisions(doc["article_id"])
    assert rev.body == "First version." and rev.revision == 1
    m.close()
    out = tmp_path / "revs.jsonl"
    assert run(cli, ["--db", db, "export", "--revisions", "-o", str(out)]).exit_code == 0
    r = run(cli, ["--db", db, "import", str(out)])
    assert r.exit_code == 1 and "migrate copies revisions" in r.output
    assert run(cli, ["--db", db, "export", "--revisions", "--author", "x"]).exit_code == 2


def test_facets_of_a_filter_are_aggregations_not_a_read_of_every_article(
        mstore: MongoStore, write_article: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    names = ["Ann Zed", "Bob Roe", "Cy Dee"]
    mstore.upsert_many([item_for(write_article(f"{i}.txt", author=names[i % 3])) for i in range(9)])
    calls: list[str] = []
    depth = [0]  # mongomock's aggregate calls its own find: only archive's calls count

    def spy(real: Any, op: str) -> Any:
        def call(*a: Any, **k: Any) -> Any:
            if not depth[0]:
                calls.append(op)
            depth[0] += 1
            try:
                return real(*a, **k)
            finally:
                depth[0] -= 1
        return call

    for op in ("find", "aggregate"):
        monkeypatch.setattr(mstore.articles, op, spy(getattr(mstore.articles, op), op))
    f = mstore.facets("", Filters())
    # one aggregation per facet (each sorted and cut on the server), never a find of the articles
    assert "find" not in calls and calls.count("aggregate") == 4
    assert f.total == 9 and [c for _, c in f.authors] == [3, 3, 3]


@pytest.mark.parametrize(("hello", "said"), [
    ({"setName": "rs0", "isWritablePrimary": True}, "replica set rs0, writes in transactions"),
    ({"msg": "isdbgrid"}, "sharded cluster, writes in transactions"),
    ({"isWritablePrimary": True}, "standalone server, no transactions"),
])
def test_status_says_what_the_store_runs_on(hello: dict[str, Any], said: str, write_article: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from click.testing import CliRunner

    from archive.cli import cli
    from archive.store import mongo as mongo_mod

    patch_mongomock_bulk()
    client = mongomock.MongoClient()
    monkeypatch.setattr(mongo_mod.pymongo, "MongoClient", lambda *a, **k: client)
    uri = "mongodb://db.example:27017/arch"
    assert CliRunner().invoke(cli, ["--db", uri, "ingest", str(write_article("a.txt").parent)]).exit_code == 0
    monkeypatch.setattr(MongoStore, "_hello", lambda self: hello)
    r = CliRunner().invoke(cli, ["--db", uri, "status", "--format", "json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["deployment"] == said
    r = CliRunner().invoke(cli, ["--db", uri, "status", "--format", "table"])
    assert said.split(",")[0] in r.stdout


def test_the_real_server_fixture_keeps_uri_options() -> None:
    from tests.conftest import with_database

    got = with_database("mongodb://u:p@h1,h2/admin?replicaSet=rs0&authSource=admin&tls=true", "archive_test_x")
    assert got == "mongodb://u:p@h1,h2/archive_test_x?replicaSet=rs0&authSource=admin&tls=true"
    assert with_database("mongodb://localhost:27017", "t") == "mongodb://localhost:27017/t"


def test_lock_age_is_measured_on_the_servers_clock(mstore: MongoStore, monkeypatch: pytest.MonkeyPatch) -> None:
    check_lock_age_on_the_servers_clock(mstore, monkeypatch)


def check_lock_age_on_the_servers_clock(mstore: MongoStore, monkeypatch: pytest.MonkeyPatch) -> None:
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

REAL = pytest.mark.skipif(not os.environ.get("ARCHIVE_TEST_MONGO_URI"),
                          reason="set ARCHIVE_TEST_MONGO_URI to run against a real MongoDB")


@pytest.fixture
def real_uri() -> Iterator[str]:
    import uuid

    from tests.conftest import test_mongo_uri, with_database

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
        assert len(arts) == 300 and len({a.source.path for a in arts}) == 300
        assert {d["_id"]: d["article"] for d in s.paths.find({})} == {a.source.path: a.id for a in arts}
        hello = s.db.command("hello")
        assert s.transactions == bool(hello.get("setName") or hello.get("msg") == "isdbgrid")
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
def test_real_lock_takeover_under_clock_skew(real_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    s = MongoStore(real_uri)
    try:
        check_lock_age_on_the_servers_clock(s, monkeypatch)
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


@pytest.mark.parametrize("sort", ["path", "-published", "published", "title", "-ingested"])
def test_a_long_read_survives_the_cursor_idle_timeout(mstore: MongoStore, write_article: Any,
                                                      monkeypatch: pytest.MonkeyPatch, sort: str) -> None:
    """Issue 24 #15: a dropped cursor is opened again after the last document read (keyset), not by
    skipping as many: an article stored meanwhile before that point neither repeats one nor hides one."""
    from pymongo.errors import CursorNotFound

    results = mstore.upsert_many([item_for(write_article(f"{i}.txt", title=f"T{i}")) for i in range(7)])
    for i, r in enumerate(results):  # dates apart, some alike, some missing (null sorts apart)
        mstore.articles.update_one({"_id": r.id}, {"$set": {"published": f"2020-01-0{i % 3}" if i % 3 else None}})
    want = [a.id for a in mstore.query(Filters(), sort=sort)]  # type: ignore[arg-type]
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
                # meanwhile an article is stored that sorts first: a skip(3) would repeat one
                first = {"_id": "0" * 32, "source": {"path": "/"}, "published": "2099-01-01", "title": "A",
                         "ingested_at": dt.datetime(2099, 1, 1)}
                mstore.articles.insert_one(first if sort in ("path", "-published", "title", "-ingested") else
                                           {**first, "published": None})
                raise CursorNotFound("cursor id 123 not found", 43)
            self.n += 1
            return next(self.cur)

    monkeypatch.setattr(mstore.articles, "find", lambda *a, **k: Dropping(real(*a, **k)))
    got = [a.id for a in mstore.query(Filters(), sort=sort)]  # type: ignore[arg-type]
    assert got == want and dropped, (got, want)


def test_facets_are_cut_on_the_server_and_cached_against_the_writers_version(mstore: MongoStore,
                                                                            write_article: Any) -> None:
    """Issue 24 #5, #21: each facet is its own aggregation sorted and limited on the server (no
    $facet document of every author), years are counted there, and writers bump a version."""
    v0 = mstore.data_version()
    names = ("Ann Lee", "Bob Ray", "Cy Dee", "Di Fox")
    mstore.upsert_many([item_for(write_article(f"{i}.txt", title=f"T{i}", author=names[i % 4]))
                        for i in range(12)])
    v1 = mstore.data_version()
    assert v1 != v0
    mstore.upsert_many([item_for(write_article("0.txt", title="T0", author="Ann Lee"))])  # unchanged
    assert mstore.data_version() == v1
    pipelines: list[Any] = []
    real = mstore.articles.aggregate

    def spy(pipeline: Any, **kw: Any) -> Any:
        pipelines.append(pipeline)
        return real(pipeline, **kw)

    mstore.articles.aggregate = spy  # type: ignore[method-assign]
    f = mstore.facets("", Filters(), limit=2)
    assert f.total == 12 and [c for _, c in f.authors] == [3, 3] and len(f.authors) == 2
    assert not any("$facet" in stage for p in pipelines for stage in p)
    assert any({"$limit": 2} in p for p in pipelines)
    assert mstore.stats(Filters()).years == [("2017", 12)]
    mstore.mark_deleted([str(write_article("0.txt"))])
    assert mstore.data_version() != v1


def mongoimported(uri: str, client: Any, write_article: Any) -> tuple[MongoStore, Article]:
    """A store at ``uri`` holding one article ("Troops leave") as mongoimport leaves an ejson
    export's line: no search arrays, no path claim."""
    from archive.export import to_ejson

    patch_mongomock_bulk()
    s = MongoStore(uri, client=client)
    s.upsert_many([item_for(write_article("a.txt", title="Troops leave"))])
    art = next(iter(s.query(Filters())))
    s.articles.delete_many({})
    s.paths.delete_many({})  # mongoimport loads articles, never archive's path claims
    ejson = to_ejson(art.to_doc())
    s.articles.insert_one({**ejson, "ingested_at": art.ingested_at, "updated_at": art.updated_at})
    return s, art


def test_articles_loaded_by_mongoimport_are_found_once_the_store_is_upgraded(write_article: Any) -> None:
    """An ejson export loaded with mongoimport has no search arrays and no path claims: writers and
    readers say to run ``archive migrate --upgrade``, which adds them."""
    client = mongomock.MongoClient()
    s, art = mongoimported("mongodb://mongomock/imp", client, write_article)
    assert list(s.search("troops", Filters())) == []
    s.close()
    s = upgraded("mongodb://mongomock/imp", client, imported=True)
    assert [h.article.title for h in s.search("troops", Filters())] == ["Troops leave"]
    assert s.count(Filters(authors=[art.authors[0].upper()])) == 1  # its names are folded for filters too
    # ... and its file is claimed (issue 24 #20): another article cannot take the path
    assert s.paths.find_one({"_id": art.source.path})["article"] == art.id
    s.close()


def test_a_lock_is_taken_in_one_write_stamped_by_the_server(mstore: MongoStore,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 24 #19: insert-then-stamp could leave a record without the server's time."""
    writes: list[str] = []
    for op in ("insert_one", "update_one", "replace_one"):
        real = getattr(mstore.state, op)

        def spy(*a: Any, _real: Any = real, _op: str = op, **k: Any) -> Any:
            writes.append(_op)
            return _real(*a, **k)

        monkeypatch.setattr(mstore.state, op, spy)
    assert mstore.acquire_lock("w", {"token": "t1", "pid": 1}, lambda old: False) is None
    assert writes == ["update_one"] and isinstance(mstore.state.find_one({"_id": "w"})["beat_at"], dt.datetime)
    mstore.release_lock("w", "t1", {"stopped_at": "2026-01-01T00:00:00Z"})
    writes.clear()
    assert mstore.acquire_lock("w", {"token": "t2", "pid": 2}, lambda old: False) is None  # a stopped one
    rec = mstore.state.find_one({"_id": "w"})
    assert writes == ["update_one"] and rec["token"] == "t2" and "stopped_at" not in rec


def test_queries_people_wait_for_carry_a_server_time_limit(mstore: MongoStore, write_article: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 24 #18: only the client's socket timeout bounded a query, and the server went on running
    an abandoned one. Search, counts, facets, stats and duplicates now run under pymongo.timeout (which
    sends maxTimeMS with each operation); a stream (an export) is not cut by it."""
    from pymongo import _csot

    mstore.upsert_many([item_for(write_article(f"{i}.txt", title=f"Troops {i}")) for i in range(3)])
    seen: list[tuple[str, float | None]] = []
    for op in ("find", "aggregate", "count_documents", "estimated_document_count"):
        real = getattr(mstore.articles, op)

        def spy(*a: Any, _real: Any = real, _op: str = op, **k: Any) -> Any:
            seen.append((_op, _csot.get_timeout()))
            return _real(*a, **k)

        monkeypatch.setattr(mstore.articles, op, spy)
    list(mstore.search("troops", Filters(), limit=2))
    mstore.count_matches("troops -x", Filters())
    mstore.count(Filters())
    mstore.facets("troops", Filters())
    mstore.stats(Filters())
    mstore.duplicates()
    assert seen and all(t is not None and 0 < t <= 60 for _, t in seen), seen
    seen.clear()
    list(mstore.query(Filters()))
    assert seen and all(t is None for _, t in seen), seen


def test_a_writer_stalled_past_the_grace_does_not_add_a_second_article_at_a_path(
        write_article: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 24 #11: on a standalone server, writer A claims a path, stalls past GRACE; writer B takes
    the stale claim over and stores its article there; A's late insert then made two articles on one
    path. A reads its claim again after inserting: it lost it, so its article goes and its file is
    applied to B's article instead (as a new revision)."""
    from archive.store.mongo.claims import GRACE

    patch_mongomock_bulk()
    client = mongomock.MongoClient()
    a = MongoStore("mongodb://mongomock/fence", client=client)
    b = MongoStore("mongodb://mongomock/fence", client=client)
    assert not a.transactions
    p = write_article("a.txt", title="From A")
    item_a = item_for(p)
    p.write_text(p.read_text().replace("From A", "From B"))
    item_b = item_for(p)
    real = a.claims.claim
    stalled: list[int] = []

    def claim_then_stall(wanted: Any, session: Any = None) -> set[str]:
        refused = real(wanted, session)
        if not stalled:  # A stalls here; meanwhile its claim ages and B takes the path
            stalled.append(1)
            a.paths.update_one({"_id": str(p)}, {"$set": {"at": a.server_now() - GRACE - dt.timedelta(seconds=1)}})
            (rb,) = b.upsert_many([item_b])
            assert rb.outcome == "new"
        return refused

    monkeypatch.setattr(a.claims, "claim", claim_then_stall)
    (ra,) = a.upsert_many([item_a])
    docs = list(a.articles.find({"source.path": str(p)}))
    assert len(docs) == 1 and stalled, docs
    assert ra.outcome == "updated" and docs[0]["title"] == "From A" and docs[0]["revision"] == 2
    assert a.paths.find_one({"_id": str(p)})["article"] == docs[0]["_id"] == ra.id
    a.close()
    b.close()


def test_articles_mongoimported_into_an_older_store_are_claimed_by_its_upgrade(write_article: Any) -> None:
    """An upgrade that rewrites every article (schema < 9) claims the paths of the articles that
    arrived by mongoimport too, as the upgrade of a current store does."""
    client = mongomock.MongoClient()
    s, art = mongoimported("mongodb://mongomock/imp8", client, write_article)
    s.meta.update_one({"_id": "schema"}, {"$set": {"version": 8}})
    s.close()
    s = upgraded("mongodb://mongomock/imp8", client, imported=False)
    assert s.paths.find_one({"_id": art.source.path})["article"] == art.id
    assert [h.article.title for h in s.search("troops", Filters())] == ["Troops leave"]
    s.close()


def test_hashtag_keys_an_older_archive_wrote_are_refolded_by_the_upgrade(write_article: Any) -> None:
    """Schema 8: tag keys lose a hashtag's '#' ("#oil" → "oil") in ``migrate --upgrade``, as
    SQLite's schema 7 does, instead of every filter and facet asking for both spellings."""
    patch_mongomock_bulk()
    client = mongomock.MongoClient()
    s = MongoStore("mongodb://mongomock/hashtags", client=client)
    it = item_for(write_article("a.txt"))
    s.upsert_many([it._replace(parsed=it.parsed._replace(tags=("#Oil", "Gas")))])
    assert s.articles.find_one({})["tags_key"] == ["oil", "gas"]
    s.articles.update_many({}, {"$set": {"tags_key": ["#oil", "gas"]}})  # as schema 7 kept them
    s.meta.update_one({"_id": "schema"}, {"$set": {"version": 7}})
    s.close()
    s = upgraded("mongodb://mongomock/hashtags", client)
    assert s.articles.find_one({})["tags_key"] == ["oil", "gas"]
    assert s.count(Filters(tags=["oil"])) == s.count(Filters(tags=["#oil"])) == 1
    assert s.facets("", Filters()).tags == [("Gas", 1), ("Oil", 1)]
    s.close()


def test_duplicates_group_on_disk_and_read_the_groups_in_few_finds(
        mstore: MongoStore, write_article: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 24 #14: the grouping may spill to disk (allowDiskUse: a large store passes the 100 MB
    of a $group in memory) and the groups' articles are read in one find per 500 groups, not one
    per group."""
    files = [write_article(f"g{g}-{k}.txt", title=f"Copy {g}", body=f"Body {g} words here.")
             for g in range(3) for k in range(2)]  # three groups of two byte-identical files
    files.append(write_article("alone.txt", title="Alone"))
    mstore.upsert_many([item_for(p) for p in files])
    aggregations: list[dict[str, Any]] = []
    finds: list[Any] = []
    real_agg, real_find = mstore.articles.aggregate, mstore.articles.find
    depth = [0]  # mongomock's aggregate calls its own find: only archive's calls count

    def agg(pipeline: Any, **kw: Any) -> Any:
        aggregations.append(kw)
        depth[0] += 1
        try:
            return real_agg(pipeline, **kw)
        finally:
            depth[0] -= 1

    def find(*a: Any, **kw: Any) -> Any:
        if not depth[0]:
            finds.append(a)
        return real_find(*a, **kw)

    monkeypatch.setattr(mstore.articles, "aggregate", agg)
    monkeypatch.setattr(mstore.articles, "find", find)
    groups = mstore.duplicates()
    assert sorted(sorted(Path(a.source.path).name for a in g) for g in groups) == [
        [f"g{g}-0.txt", f"g{g}-1.txt"] for g in range(3)]
    assert aggregations and all(kw.get("allowDiskUse") is True for kw in aggregations)
    assert len(finds) == 1
