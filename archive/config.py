"""Settings: one typed object built once from flags, ``ARCHIVE_*`` and defaults.

This is the only module that reads the environment.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from archive.errors import ConfigError

ENV_PREFIX = "ARCHIVE_"
# Variables that are ours but are not settings (read by the test suite only).
_NOT_SETTINGS = {"ARCHIVE_TEST_MONGO_URI"}

DEFAULT_IGNORE = (
    ".*",
    "*~",
    "*.swp",
    "*.swx",
    "*.tmp",
    "*.part",
    "*.crdownload",
    "*.partial",
    "Thumbs.db",
    "desktop.ini",
    "@eaDir",
    "#*#",
)


def data_dir() -> Path:
    """Where the embedded store lives by default (XDG data dir)."""
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "archive"


def default_db() -> str:
    """The default store URI: ``archive.db`` in the user's data directory."""
    return str(data_dir() / "archive.db")


def _split_list(value: Any) -> Any:
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    return value


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError(f"{v!r} is not a boolean (use 1/0, true/false, yes/no)")


def _number(kind: type, *, gt: float | None = None, ge: float | None = None,
            le: float | None = None) -> Any:
    def conv(v: Any) -> Any:
        if isinstance(v, bool):
            raise ValueError(f"{v!r} is not a number")
        try:
            n = kind(v)
        except (TypeError, ValueError):
            raise ValueError(f"{v!r} is not {'an integer' if kind is int else 'a number'}") from None
        if gt is not None and not n > gt:
            raise ValueError(f"must be greater than {gt:g}")
        if ge is not None and not n >= ge:
            raise ValueError(f"must be at least {ge:g}")
        if le is not None and not n <= le:
            raise ValueError(f"must be at most {le:g}")
        return n

    return conv


def _choice(*allowed: str, upper: bool = False) -> Any:
    def conv(v: Any) -> str:
        s = str(v).upper() if upper else str(v)
        if s not in allowed:
            raise ValueError(f"{v!r} is not one of {', '.join(allowed)}")
        return s

    return conv


def _extensions(v: Any) -> list[str]:
    out = [e.lower() if e.startswith(".") else "." + e.lower() for e in _split_list(v)]
    if not out:
        raise ValueError("no extension given: nothing would be read (e.g. .txt,.md,.html)")
    return out


def _text(v: Any) -> str:
    return str(v)


# Every setting: its default and the converter that checks a given value (from a flag, from
# ARCHIVE_*, or from code) and turns it into the typed value.
_SETTINGS: dict[str, tuple[Any, Any]] = {
    "db": (None, _text),  # store URI or .db path; None: default_db()
    "watch_dir": ("seeds", lambda v: Path(v)),  # folder the daemon watches
    "log_level": ("INFO", _choice("DEBUG", "INFO", "WARNING", "ERROR", upper=True)),
    "log_format": ("text", _choice("text", "json")),
    "polling": (False, _bool),
    "poll_interval": (1.0, _number(float, gt=0)),
    "settle": (0.25, _number(float, ge=0)),
    "rescan_interval": (300.0, _number(float, ge=0)),
    "heartbeat_interval": (5.0, _number(float, gt=0)),
    "ignore": ((), lambda v: list(_split_list(v))),
    "extensions": ((".txt", ".md", ".markdown", ".html", ".htm", ".mhtml", ".mht", ".webarchive"), _extensions),
    "max_bytes": (5 * 1024 * 1024, _number(int, gt=0)),
    "batch_size": (500, _number(int, gt=0)),
    "workers": (0, _number(int, ge=0)),  # parse processes; 0 = one per core
    "parse_timeout": (30.0, _number(float, gt=0)),  # seconds one file's parse may take
    "date_order": ("dmy", _choice("dmy", "mdy")),  # how 02/03/2017 reads: 2 March (dmy) or February 3 (mdy)
    "connect_timeout": (5.0, _number(float, gt=0)),  # seconds to find a MongoDB server
    "host": ("127.0.0.1", _text),  # address archive serve listens on
    "port": (8080, _number(int, ge=0, le=65535)),  # port archive serve listens on
    "serve_workers": (0, _number(int, ge=0)),  # archive serve processes; 0 = one per core
}


class Settings:
    """Every setting of archive. A flag beats ``ARCHIVE_*``, which beats the default.

    A plain class whose values are converted and checked on construction (a ConfigError names
    the setting): no validation library and no generated code, so a query command starts fast."""

    __slots__ = tuple(_SETTINGS)

    db: str
    watch_dir: Path
    log_level: str
    log_format: str
    polling: bool
    poll_interval: float
    settle: float
    rescan_interval: float
    heartbeat_interval: float
    ignore: list[str]
    extensions: list[str]
    max_bytes: int
    batch_size: int
    workers: int
    parse_timeout: float
    date_order: str
    connect_timeout: float
    host: str
    port: int
    serve_workers: int

    def __init__(self, **values: Any) -> None:
        unknown = sorted(values.keys() - _SETTINGS.keys())
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(unknown)}")
        for name, (default, conv) in _SETTINGS.items():
            raw = values.get(name, default)
            if raw is None and name == "db":
                raw = default_db()
            try:
                setattr(self, name, conv(raw))
            except ValueError as exc:
                raise ConfigError(f"bad setting {name} ({ENV_PREFIX}{name.upper()}): {exc}") from None

    def __repr__(self) -> str:
        return "Settings(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in _SETTINGS) + ")"

    @property
    def ignore_patterns(self) -> tuple[str, ...]:
        """Built-in ignore patterns plus the user's."""
        return DEFAULT_IGNORE + tuple(self.ignore)

    @property
    def parse_workers(self) -> int:
        """How many processes parse a large backlog."""
        return self.workers or (os.cpu_count() or 1)


def known_env_names() -> list[str]:
    """Every ``ARCHIVE_*`` variable archive understands."""
    return sorted(ENV_PREFIX + name.upper() for name in _SETTINGS)


def unknown_env_warnings(environ: dict[str, str] | None = None) -> list[str]:
    """One message per unknown ``ARCHIVE_*`` variable, naming the closest known one."""
    env = os.environ if environ is None else environ
    known = known_env_names()
    out = []
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name in known or name in _NOT_SETTINGS:
            continue
        import difflib

        close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]}?" if close else ""
        out.append(f"unknown setting {name} is ignored{hint}")
    return out


def load_settings(**overrides: Any) -> Settings:
    """Build the settings: ``overrides`` (flags given on the command line) beat the environment."""
    for msg in unknown_env_warnings():
        warnings.warn(msg, stacklevel=2)
    names = _SETTINGS.keys()
    given: dict[str, Any] = {}
    for name in names:
        raw = os.environ.get(ENV_PREFIX + name.upper())
        if raw is not None:
            given[name] = raw
    given.update({k: v for k, v in overrides.items() if v is not None and k in names})
    return Settings(**given)
