"""The command line: ``archive [--db URI] COMMAND …`` (the click CLI is in ``app``)."""

from __future__ import annotations

from typing import Any


def main() -> None:
    """Console-script entry point."""
    from archive.cli.app import cli

    cli(prog_name="archive")


def __getattr__(name: str) -> Any:
    if name == "cli":  # ``from archive.cli import cli``: the click group, imported when asked for
        from archive.cli.app import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
