"""The command line: ``archive [--db URI] COMMAND …``.

``main`` runs a plain read command (search, list, show, …) through ``fast`` without importing
click; everything else, help and every usage error included, goes to the click CLI in ``app``.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn


def main() -> None:
    """Console-script entry point."""
    import os

    from archive.cli.fast import parse, run

    # Shell completion is click's protocol (the shell sets this and the words): never a search.
    inv = None if "_ARCHIVE_COMPLETE" in os.environ else parse(sys.argv[1:])
    if inv is not None:
        _leave(run(inv))
    from archive.cli.app import cli

    cli(prog_name="archive")


def _leave(code: int) -> NoReturn:
    """End a read command's process once its store is closed: output flushed and atexit handlers
    run, as a normal exit does, but without the interpreter's teardown (every module and the search
    index's objects freed one by one: ~6 ms of a ~47 ms search)."""
    import atexit
    import os

    from archive.cli.state import quiet_broken_pipe

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:
            quiet_broken_pipe()  # the reader went away (``archive list | head``)
        except (OSError, ValueError):
            pass
    atexit._run_exitfuncs()
    os._exit(code)


def __getattr__(name: str) -> Any:
    if name == "cli":  # ``from archive.cli import cli``: the click group, imported when asked for
        from archive.cli.app import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
