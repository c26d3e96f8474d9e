"""Exceptions that carry data. Only the CLI turns them into user messages."""

from __future__ import annotations

from typing import Any


def _rebuild(cls: type[ArchiveError], args: tuple[Any, ...], state: dict[str, Any]) -> ArchiveError:
    obj = cls.__new__(cls)
    Exception.__init__(obj, *args)
    obj.__dict__.update(state)
    return obj


class ArchiveError(Exception):
    """Base class of every error archive raises on purpose."""

    exit_code = 1

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take other arguments than Exception.args: pickle the state instead
        # (parse errors travel back from the parsing processes).
        return (_rebuild, (type(self), self.args, self.__dict__))


class ParseError(ArchiveError):
    """A file could not be turned into an article.

    ``code`` is a short machine name (``empty``, ``not-text``, ``no-title``,
    ``no-body``, ``too-large``, ``unreadable``, ``bad-front-matter``, ``no-article``);
    ``reason`` is for humans.
    """

    def __init__(self, path: str | None, code: str, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.code = code

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason


class UsageError(ArchiveError):
    """Bad input from the user (exit code 2)."""

    exit_code = 2


class ConfigError(UsageError):
    """A setting has a value archive cannot use."""


class StoreError(ArchiveError):
    """The store refused an operation."""


class StoreUnavailable(StoreError):
    """The store cannot be reached (or is locked); worth retrying later."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"store unavailable ({where}): {reason}")
        self.where = where
        self.detail = reason


class StoreBusy(StoreUnavailable):
    """Another process holds the store's write lock (or its search index's) past the wait."""


class IndexDamaged(StoreError):
    """The SQLite store's search index cannot be read as it is: a file is missing or fails its
    checksum, or tantivy panicked reading it. Writers rebuild it from the table; readers answer
    without it."""

    def __init__(self, folder: object, reason: str) -> None:
        super().__init__(f"search index {folder} damaged: {reason}")
        self.folder = folder
        self.detail = reason


class StoreReplaced(StoreUnavailable):
    """The store's file was removed or replaced while it was open: open it again."""


class StoreOutdated(StoreError):
    """A store written by an older archive (or loaded with mongoimport) that must be upgraded
    before it is read or written: ``archive migrate --upgrade`` does it, resumably."""

    def __init__(self, where: str, version: int, current: int, imported: bool = False) -> None:
        what = ("has articles loaded without archive (mongoimport?) that search cannot find yet" if imported
                else f"has schema version {version}; this archive uses {current}")
        super().__init__(f"{where} {what}: run 'archive migrate --upgrade' to upgrade it "
                         "(resumable; readers and writers wait for it)")
        self.where = where
        self.version = version
        self.current = current


class StoreMissing(StoreError):
    """A read command named a store that does not exist (read commands never create one)."""

    def __init__(self, where: str) -> None:
        super().__init__(f"no store at {where}: check --db / ARCHIVE_DB, or create it with 'archive ingest' "
                         "or 'archive watch'")
        self.where = where


class NotFound(ArchiveError):
    """A reference (id, prefix or path) matched nothing."""

    def __init__(self, ref: str, what: str = "article") -> None:
        super().__init__(f"no {what} matches {ref!r}")
        self.ref = ref


class FailedFile(NotFound):
    """REF names a file that is not stored because it failed to parse."""

    def __init__(self, ref: str, why: str) -> None:
        ArchiveError.__init__(self, f"{ref} is not stored: it failed to parse ({why}); "
                                    "'archive failures' lists such files")
        self.ref = ref
        self.why = why


class AmbiguousRef(ArchiveError):
    """An id prefix matched several articles."""

    def __init__(self, ref: str, candidates: list[tuple[str, str]]) -> None:
        super().__init__(f"{ref!r} is ambiguous: it matches {len(candidates)} articles")
        self.ref = ref
        self.candidates = candidates


class LockHeld(ArchiveError):
    """Another daemon already watches this folder with this store."""

    def __init__(self, folder: str, pid: int, host: str) -> None:
        super().__init__(
            f"another archive daemon (pid {pid} on {host}) already watches {folder} with this store"
        )
        self.folder = folder
        self.pid = pid
        self.host = host
