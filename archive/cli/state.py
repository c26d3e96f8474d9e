"""What every command shares, without click: the global flags and the one Settings object built
from them, the store, and how an exception becomes one line on stderr and an exit code."""

from __future__ import annotations

import os
import sys
import warnings
from typing import TYPE_CHECKING, Any

from archive.errors import AmbiguousRef, ArchiveError

if TYPE_CHECKING:
    from archive.config import Settings
    from archive.store.base import Store


def echo_err(message: str) -> None:
    """One message line on stderr (control characters from file names or titles never reach the
    terminal)."""
    from archive.cli.console import safe

    sys.stderr.write(safe(message) + "\n")
    sys.stderr.flush()


class State:
    """The global flags, and the Settings and store built from them once."""

    def __init__(self, db: str | None, log_level: str | None) -> None:
        self.overrides: dict[str, Any] = {"db": db, "log_level": log_level}
        self._settings: Settings | None = None
        self._store: Store | None = None

    def settings(self, **more: Any) -> Settings:
        if self._settings is None:
            from archive.config import load_settings

            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self._settings = load_settings(**self.overrides, **more)  # a ConfigError names the setting
            for w in caught:
                echo_err(f"archive: warning: {w.message}")
        return self._settings

    def store(self, *, create: bool = False) -> Store:
        """The store. Read commands never create one (``create=False``): a missing store is an
        error naming the path, not a new empty store answering "no matches"."""
        if self._store is None:
            from archive.store import open_store

            s = self.settings()
            self._store = open_store(s.db, s, create=create)
        return self._store

    def store_display(self) -> str:
        """The store's name as messages show it (no credentials)."""
        from archive.redaction import redact

        return redact(self.settings().db)

    def debug(self) -> bool:
        """Whether --log-level (or ARCHIVE_LOG_LEVEL) is DEBUG: internal errors keep their traceback."""
        level = self.overrides.get("log_level") or os.environ.get("ARCHIVE_LOG_LEVEL", "")
        return str(level).upper() == "DEBUG"

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def report(exc: BaseException, state: State | None) -> int | None:
    """Say what went wrong in one line on stderr and return the exit code; None for an exception
    that is not archive's to report (SystemExit, the parser's own, an internal error under DEBUG)."""
    if isinstance(exc, AmbiguousRef):
        echo_err(f"archive: {exc.reason}:")
        for id_, title in exc.candidates:
            echo_err(f"  {id_}  {title}")
        return 1
    if isinstance(exc, ArchiveError):
        from archive.redaction import redact

        echo_err(f"archive: {redact(str(exc))}")
        return exc.exit_code
    if isinstance(exc, BrokenPipeError):
        quiet_broken_pipe()
        return 0
    if isinstance(exc, KeyboardInterrupt):
        echo_err("archive: interrupted")
        return 130
    if isinstance(exc, Exception):
        if state is not None and state.debug():
            return None
        from archive.redaction import redact

        echo_err(f"archive: internal error: {redact(str(exc)) or type(exc).__name__} "
                 "(run with --log-level DEBUG for the traceback)")
        return 1
    return None


def quiet_broken_pipe() -> None:
    """The reader went away (``archive list | head``): what is still buffered goes nowhere, silently."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
