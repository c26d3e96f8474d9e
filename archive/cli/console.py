"""What the CLI shows a person at a terminal: paths as typed, score bars, highlighted snippets, and
log lines that print above a live progress bar instead of into it. Only the CLI imports this."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

# C0 and C1 control characters (ESC among them) but tab and newline: text from files must never
# drive the terminal (set its title, clear the screen, move the cursor).
_CONTROLS = {c: None for c in (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0))}
_LINE_CONTROLS = {**_CONTROLS, 0x0A: " ", 0x09: " ", 0x0D: None}


def safe(text: str, *, one_line: bool = False) -> str:
    """``text`` without control characters (``one_line``: newlines and tabs become spaces too)."""
    return text.translate(_LINE_CONTROLS if one_line else _CONTROLS)


def safe_console(**options: Any) -> Any:
    """A rich Console that strips control characters from everything it prints but its own
    styling: a title like ``Innocent \x1b]2;PWNED\x07`` shows as text, never as a command."""
    from rich.console import Console
    from rich.segment import Segment

    class SafeConsole(Console):
        def _render_buffer(self, buffer: Any) -> str:
            return str(super()._render_buffer(
                s if s.control else Segment(safe(s.text), s.style) for s in buffer))

    return SafeConsole(**options)


def display_path(path: str, roots: Sequence[str] = ()) -> str:
    """``path`` as a person would type it: relative to the current folder when inside it, else
    relative to the folder of a watched root (``seeds/a.txt``), else with ``~`` for home; a newline
    or control character in a file name is shown as a space, never printed as it is."""
    return safe(_relative(path, roots), one_line=True)


def _relative(path: str, roots: Sequence[str]) -> str:
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = "/"
    for base in (cwd, *(os.path.dirname(r.rstrip("/")) for r in roots)):
        if base and base != "/" and (path == base or path.startswith(base.rstrip("/") + "/")):
            return os.path.relpath(path, base)
    home = os.path.expanduser("~")
    if home not in ("", "/") and path.startswith(home.rstrip("/") + "/"):
        return "~" + path[len(home.rstrip("/")):]
    return path


def score_bars(scores: Sequence[float], width: int = 5) -> list[str]:
    """Relevance as a bar relative to the best hit shown (raw BM25 figures like ``2e-06`` for a
    common word mean nothing to a reader)."""
    top = max((s for s in scores), default=0.0)
    out = []
    for s in scores:
        filled = round(width * s / top) if top > 0 else 0
        filled = max(1, filled) if s > 0 else 0
        out.append("█" * filled + "·" * (width - filled))
    return out


def rich_snippet(s: str) -> Any:
    """Snippet markers as bold reverse video: visible without colour, and on any background."""
    from rich.text import Text

    from archive.search.snippets import snippet_parts

    t = Text()
    for part, match in snippet_parts(s):
        t.append(part, style="bold reverse" if match else "")
    return t


def console_log_handler(console: Any, limit: int = 10) -> Any:
    """A logging handler that prints through ``console`` (so a live progress bar stays whole
    below the lines). After ``limit`` per-file warnings the rest are only counted (``suppressed``):
    a thousand failures must not flood the screen; ``archive failures`` lists them all."""
    import logging

    from rich.text import Text

    class ConsoleLogHandler(logging.Handler):
        def __init__(self) -> None:
            super().__init__(logging.WARNING)
            self.console = console
            self.limit = limit
            self.shown = 0
            self.suppressed = 0

        def emit(self, record: logging.LogRecord) -> None:
            per_file = getattr(record, "event", None) == "failed"
            if per_file and self.shown >= self.limit:
                self.suppressed += 1
                return
            if per_file:
                self.shown += 1
            try:
                msg = self.format(record)
            except Exception:  # noqa: BLE001 - a log line must never break the command
                msg = record.getMessage()
            style = "red" if record.levelno >= logging.ERROR else "yellow"
            self.console.print(Text(f"{record.levelname.lower()}: {msg}", style=style), soft_wrap=True)

    return ConsoleLogHandler()
