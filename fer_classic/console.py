"""The ``fer-classic`` command: the click group in :mod:`fer_classic.cli`, with Ctrl-C answered the way
shells expect (exit status 130, one line, no traceback) even while the heavy libraries are importing.

A terminal sends Ctrl-C's SIGINT to every process of its foreground group: to joblib's worker processes
too, which would each print a traceback (one that is still importing has no handler yet). So the command
blocks SIGINT in its threads, which every thread and worker process it starts inherits, and one watcher
thread takes the signal and raises KeyboardInterrupt in the main thread alone; joblib then stops the
workers itself.
"""

from __future__ import annotations

import _thread
import signal
import sys
import threading

INTERRUPTED = 130  # 128 + SIGINT


def _forward_interrupts_to_main_thread() -> None:
    """Block SIGINT here (inherited by later threads and child processes) and raise it in the main thread
    from a watcher thread."""
    if not hasattr(signal, "pthread_sigmask") or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return  # not POSIX, or Ctrl-C is ignored / handled otherwise (e.g. started in the background)
    # The standard library's resource tracker (started by the first multiprocessing lock or worker pool)
    # unblocks SIGINT in the thread that starts it, up to Python 3.13: start it now, before blocking.
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})

    def watch() -> None:
        while True:
            signal.sigwait({signal.SIGINT})
            _thread.interrupt_main()

    threading.Thread(target=watch, name="fer-classic-ctrl-c", daemon=True).start()


def main() -> None:
    try:
        _forward_interrupts_to_main_thread()
        from .cli import main as group

        group(prog_name="fer-classic")
    except KeyboardInterrupt:
        sys.stderr.write("fer-classic: interrupted\n")
        sys.exit(INTERRUPTED)
