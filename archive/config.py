"""Settings: one typed object built once from flags, ``ARCHIVE_*`` and defaults.

This is the only module that reads the environment.
"""

from __future__ import annotations

import difflib
import os
import re
import warnings
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

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


class Settings(BaseSettings):
    """Every setting of archive. A flag beats ``ARCHIVE_*``, which beats the default."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", validate_default=True)

    db: str = Field(default_factory=default_db, description="store URI or .db path")
    watch_dir: Path = Field(Path("seeds"), description="folder the daemon watches")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    polling: bool = False
    poll_interval: float = Field(1.0, gt=0)
    settle: float = Field(0.25, ge=0)
    rescan_interval: float = Field(300.0, ge=0)
    heartbeat_interval: float = Field(5.0, gt=0)
    ignore: Annotated[list[str], NoDecode] = Field(default_factory=list)
    extensions: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [".txt", ".md", ".markdown", ".html", ".htm"])
    max_bytes: int = Field(5 * 1024 * 1024, gt=0)
    batch_size: int = Field(500, gt=0)
    workers: int = Field(0, ge=0, description="parse processes; 0 = one per core")
    connect_timeout: float = Field(5.0, gt=0, description="seconds to find a MongoDB server")
    host: str = Field("127.0.0.1", description="address archive serve listens on")
    port: int = Field(8080, ge=0, le=65535, description="port archive serve listens on")

    @field_validator("ignore", "extensions", mode="before")
    @classmethod
    def _lists(cls, v: Any) -> Any:
        return _split_list(v)

    @field_validator("extensions")
    @classmethod
    def _dots(cls, v: list[str]) -> list[str]:
        return [e.lower() if e.startswith(".") else "." + e.lower() for e in v]

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.upper() if isinstance(v, str) else v

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
    return sorted(ENV_PREFIX + name.upper() for name in Settings.model_fields)


def unknown_env_warnings(environ: dict[str, str] | None = None) -> list[str]:
    """One message per unknown ``ARCHIVE_*`` variable, naming the closest known one."""
    env = os.environ if environ is None else environ
    known = known_env_names()
    out = []
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name in known or name in _NOT_SETTINGS:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]}?" if close else ""
        out.append(f"unknown setting {name} is ignored{hint}")
    return out


def load_settings(**overrides: Any) -> Settings:
    """Build the settings: ``overrides`` (flags given on the command line) beat the environment."""
    for msg in unknown_env_warnings():
        warnings.warn(msg, stacklevel=2)
    given = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**given)


def test_mongo_uri() -> str | None:
    """The MongoDB URI the test suite may use (``ARCHIVE_TEST_MONGO_URI``)."""
    return os.environ.get("ARCHIVE_TEST_MONGO_URI") or None


_CRED = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<cred>[^@/\s]*@)", re.I)


# URI options that carry secrets (TLS key passwords, AWS session tokens in auth properties).
_SECRET_OPTIONS = re.compile(r"(?P<key>(?:tlsCertificateKeyFilePassword|sslPEMKeyPassword|authMechanismProperties|"
                             r"password|secret|token)=)(?P<value>[^&\s]*)", re.I)


def redact(text: str) -> str:
    """Remove credentials from any URI inside ``text``: user and password, and options that hold secrets."""
    text = _CRED.sub(lambda m: m.group("scheme") + "***@", text)
    return _SECRET_OPTIONS.sub(lambda m: m.group("key") + "***", text)
