#!/usr/bin/env python3
"""Generate the README's CLI reference from the click help (``--write`` updates README.md).

tests/test_docs.py checks that README.md matches this output, so the two cannot drift.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- cli-reference:start -->", "<!-- cli-reference:end -->"


def render() -> str:
    from archive.cli import cli

    parts = []
    settings = {**cli.context_settings, "terminal_width": 100, "max_content_width": 100}
    ctx = click.Context(cli, info_name="archive", **settings)
    parts.append("### `archive`\n\n```text\n" + cli.get_help(ctx).rstrip() + "\n```\n")
    for name in sorted(cli.commands):
        cmd = cli.commands[name]
        sub = click.Context(cmd, info_name=name, parent=ctx, terminal_width=100, max_content_width=100)
        parts.append(f"### `archive {name}`\n\n```text\n" + cmd.get_help(sub).rstrip() + "\n```\n")
    return "\n".join(parts)


def splice(readme: str, body: str) -> str:
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{body}{END}{tail}"


def main() -> int:
    readme = (ROOT / "README.md").read_text()
    new = splice(readme, render())
    if "--write" in sys.argv:
        (ROOT / "README.md").write_text(new)
        return 0
    if new != readme:
        print("README.md's CLI reference is out of date: run scripts/cli_reference.py --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
