"""Shared fixtures: real SQLite files, mongomock, and a real MongoDB when configured."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from archive.models import Source
from archive.parsing import parse_bytes
from archive.store.base import Store
from archive.store.records import UpsertItem

ROOT = Path(__file__).resolve().parent.parent
# Copies of the shipped seeds: tests never read the working tree's seeds/, which users fill.
SEEDS = ROOT / "tests" / "fixtures" / "wsws"



def test_mongo_uri() -> str | None:
    """The MongoDB URI the real-server tier uses (``ARCHIVE_TEST_MONGO_URI``)."""
    return os.environ.get("ARCHIVE_TEST_MONGO_URI") or None

def patch_mongomock_bulk() -> None:
    """mongomock 4.3 rejects bulk_write under pymongo >= 4.9: pymongo passes a ``sort``
    keyword to the bulk builder that mongomock does not know (mongomock issue 912).
    We drop the keyword here, in the tests, instead of pinning pymongo down for users."""
    from mongomock.collection import BulkOperationBuilder

    for name in ("add_update", "add_replace"):
        orig = getattr(BulkOperationBuilder, name)
        if getattr(orig, "_archive_patched", False):
            continue

        def wrap(self: object, *args: object, _orig: Callable[..., object] = orig, sort: object = None,
                 **kwargs: object) -> object:
            return _orig(self, *args, **kwargs)

        wrap._archive_patched = True  # type: ignore[attr-defined]
        setattr(BulkOperationBuilder, name, wrap)


def _backends() -> list[object]:
    params: list[object] = ["sqlite", "mongomock"]
    params.append(pytest.param("mongodb", marks=pytest.mark.skipif(
        not test_mongo_uri(), reason="set ARCHIVE_TEST_MONGO_URI to run against a real MongoDB")))
    return params


def make_store(kind: str, tmp_path: Path) -> Store:
    if kind == "sqlite":
        from archive.store.sqlite import SQLiteStore

        return SQLiteStore(tmp_path / "archive.db")
    from archive.store.mongo import MongoStore

    if kind == "mongomock":
        import mongomock

        patch_mongomock_bulk()
        return MongoStore("mongodb://mongomock/archive_test", client=mongomock.MongoClient())
    uri = test_mongo_uri()
    assert uri
    return MongoStore(with_database(uri, f"archive_test_{uuid.uuid4().hex[:8]}"))


def with_database(uri: str, name: str) -> str:
    """``uri`` naming database ``name``, its options (replicaSet, authSource, tls…) kept."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@pytest.fixture(params=_backends())
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The contract fixture: every backend."""
    s = make_store(request.param, tmp_path)
    yield s
    if request.param == "mongodb":
        from archive.store.mongo import MongoStore

        assert isinstance(s, MongoStore)
        s.client.drop_database(s.articles.database.name)
    s.close()


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No ARCHIVE_* from the caller's shell (the real-MongoDB URI aside), a private data dir."""
    for k in list(os.environ):
        if k.startswith("ARCHIVE_") and k != "ARCHIVE_TEST_MONGO_URI":
            monkeypatch.delenv(k)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return tmp_path


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    s = make_store("sqlite", tmp_path)
    yield s
    s.close()


ARTICLE = """# {title}

{author}
5 May 2017

{body}
"""


def article_text(title: str = "A title", author: str = "Jane Doe", body: str = "Some body text.") -> str:
    return ARTICLE.format(title=title, author=author, body=body)


@pytest.fixture
def write_article(tmp_path: Path) -> Callable[..., Path]:
    """Write an article file under tmp_path/articles and return its path."""
    root = tmp_path / "articles"

    def write(name: str, text: str | bytes | None = None, **fields: str) -> Path:
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        data = text if text is not None else article_text(**fields)
        p.write_bytes(data.encode() if isinstance(data, str) else data)
        return p

    return write


def item_for(path: Path) -> UpsertItem:
    """The UpsertItem the ingest pipeline would make for ``path``."""
    data = path.read_bytes()
    st = os.stat(path)
    src = Source(path=str(path), sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                 mtime=st.st_mtime, inode=st.st_ino, device=st.st_dev)
    return UpsertItem(parse_bytes(data, str(path)), src)


# ---------------------------------------------------------------- no process outlives the suite

_STARTED: set[int] = set()


def _venv_processes() -> dict[int, str]:
    """Processes running this checkout's Python (daemons, forkservers, parse workers, servers),
    except the test process's own children: multiprocessing keeps one forkserver per process for
    its lifetime, and it ends with this process (archive.procs)."""
    import sys

    exe = os.path.realpath(sys.executable)
    out: dict[int, str] = {}
    parents: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents[int(d.name)] = int(fields[1])
        if fields[0] != "Z" and (exe in cmd or sys.executable in cmd) and "pytest" not in cmd:
            out[int(d.name)] = cmd

    def ours(pid: int) -> bool:
        """Under this process's own multiprocessing helpers (not under a daemon it started)."""
        for _ in range(64):
            parent = parents.get(pid, 0)
            if parent == os.getpid():
                return "multiprocessing" in out.get(pid, "")
            if parent <= 1:
                return False
            pid = parent
        return False

    return {pid: cmd for pid, cmd in out.items() if not ours(pid)}


@pytest.fixture(autouse=True)
def _stop_leftover_daemons() -> Iterator[None]:
    """A test that fails before stopping its daemon must not leave it running."""
    yield
    from tests.daemon import DaemonProc

    DaemonProc.stop_leftovers()


def pytest_sessionstart(session: pytest.Session) -> None:
    _STARTED.update(_venv_processes())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if a process it started is still there (a killed daemon's workers, a server)."""
    import time

    deadline = time.monotonic() + 10
    left: dict[int, str] = {}
    while time.monotonic() < deadline:
        left = {p: c for p, c in _venv_processes().items() if p not in _STARTED}
        if not left:
            return
        time.sleep(0.2)
    print("\nprocesses started by the test suite are still running:")
    for pid, cmd in left.items():
        print(f"  {pid}: {cmd[:160]}")
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
