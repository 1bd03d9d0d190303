"""The ``fer-classic`` command: the click group in :mod:`fer_classic.cli`, with Ctrl-C answered the way
shells expect (exit status 130, one line, no traceback) even while the heavy libraries are importing."""

from __future__ import annotations

import sys

INTERRUPTED = 130  # 128 + SIGINT


def main() -> None:
    try:
        from .cli import main as group

        group(prog_name="fer-classic")
    except KeyboardInterrupt:
        sys.stderr.write("fer-classic: interrupted\n")
        sys.exit(INTERRUPTED)
