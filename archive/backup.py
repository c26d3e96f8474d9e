"""Backups: a consistent copy of a whole store (articles, every kept revision, deletions, failures)
in one SQLite file, and that file brought back into an empty store.

The embedded store is copied with SQLite's online backup API: a snapshot taken while a daemon may
be writing (its search index is not copied: it is derived, and the next writer rebuilds it). Any
other store is copied into a new SQLite file the way ``migrate`` copies, and verified. A restore
reads the backup as a store and copies it into the target with ``migrate`` (the same counts and
checksums are verified); the target's search index follows from its own change log.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from archive.errors import ArchiveError, UsageError
from archive.export import MigrateReport, fingerprint, migrate
from archive.store.base import Store
from archive.store.records import Filters


class BackupReport(NamedTuple):
    articles: int
    revisions: int
    failures: int
    path: str


def backup(store: Store, dest: Path) -> BackupReport:
    """Copy ``store`` into the new SQLite file ``dest`` (it must not exist; its folder must)."""
    from archive.store.sqlite import SQLiteStore

    dest = dest.expanduser().absolute()
    if dest.exists():
        raise UsageError(f"{dest} exists: a backup is written to a new file")
    if not dest.parent.is_dir():
        raise UsageError(f"the folder {dest.parent} does not exist")
    if isinstance(store, SQLiteStore):
        store.backup_to(dest)
    else:
        target = SQLiteStore(dest)
        try:
            rep = migrate(store, target)
        finally:
            target.close()
        if not rep.verified:
            raise ArchiveError(f"the backup in {dest} does not match the store: {rep.detail}")
    copy = SQLiteStore(dest, create=False)
    try:
        n_art, n_rev, n_fail, _ = fingerprint(copy)
    finally:
        copy.close()
    return BackupReport(n_art, n_rev, n_fail, str(dest))


def restore(store: Store, src: Path) -> MigrateReport:
    """Bring the backup file ``src`` (what ``archive backup`` writes, or an ``export --all``) into
    ``store``, which must be empty (no articles, revisions or failures: a restore never merges
    into a collection)."""
    from archive.store.sqlite import SQLiteStore

    src = src.expanduser().absolute()
    if not src.is_file():
        raise UsageError(f"no backup at {src}")
    if store.count(Filters(include_deleted=True)) or next(iter(store.all_revisions()), None) is not None \
            or next(iter(store.failures()), None) is not None:
        raise UsageError(f"{store.display} is not empty: restore into a new store (--db)")
    with open(src, "rb") as fh:
        sqlite = fh.read(16) == b"SQLite format 3\x00"
    if not sqlite:
        return _restore_export(store, src)
    source = SQLiteStore(src, create=False)
    try:
        if source.path == getattr(store, "path", None):
            raise UsageError("the backup is the store itself")
        return migrate(source, store)
    finally:
        source.close()


def _restore_export(store: Store, src: Path) -> MigrateReport:
    """An ``export --all`` file into the empty ``store``, then the counts compared."""
    from archive.export import restore_records

    with open(src, encoding="utf-8", errors="replace") as fh:
        want = restore_records(store, fh)
    n_art, n_rev, n_fail, _ = fingerprint(store)
    got = (n_art, n_rev, n_fail)
    detail = "" if got == want else f"the file holds {want[0]} articles, {want[1]} revisions and {want[2]} failures"
    return MigrateReport(n_art, n_rev, n_fail, got == want, detail)
