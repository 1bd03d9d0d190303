"""The ``fer-classic`` command group; each command lives in its own module and stays thin."""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import signal
import sys
import warnings

import click

from .. import __version__
from ..errors import ConfigurationError, FerClassicError, describe_os_error

# Each command's module, imported when the command runs (or for --help): `fer-classic predict` does not
# pay for the imports of training and reporting.
COMMANDS = ("baseline", "extract", "train", "evaluate", "predict", "report", "check")


class FerClassicGroup(click.Group):
    """Turns the library's errors into click's: settings it cannot use are usage errors (exit status
    2), anything else a user can act on (bad data, missing files) a one-line error (exit status 1).
    Commands register themselves when their module (``COMMANDS``) is imported."""

    def list_commands(self, ctx):
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx, name):
        if name in COMMANDS and name not in self.commands:
            importlib.import_module(f"{__name__}.{name}")
        return super().get_command(ctx, name)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ConfigurationError as exc:
            raise click.UsageError(str(exc)) from exc
        except FerClassicError as exc:
            raise click.ClickException(str(exc)) from exc
        except OSError as exc:  # reading or writing a path the user gave: say which, and why
            raise click.ClickException(describe_os_error(exc)) from exc
        except UnicodeError as exc:  # a file name with bytes that are not valid in the file-system encoding
            raise click.ClickException(f"a file name that cannot be encoded: {exc.object!r} ({exc.reason}); "
                                       f"rename it or run with a UTF-8 locale (LC_ALL=C.UTF-8)") from exc
        except KeyboardInterrupt:
            # Files are written under temporary names and renamed when complete, so nothing
            # half-written is left; shells expect 130 after Ctrl-C.
            click.echo("fer-classic: interrupted; finished files were kept, unfinished ones removed", err=True)
            raise click.exceptions.Exit(130) from None


@click.group(cls=FerClassicGroup, context_settings={"help_option_names": ["-h", "--help"],
                                                     "show_default": True})
@click.version_option(__version__, "--version", prog_name="fer-classic")
def main():
    """Classical (non-deep) baselines for facial expression recognition.

    \b
    fer-classic baseline --out out          the standard suite and report on the embedded sample
    fer-classic extract --out feats         descriptors of the embedded FER2013 sample
    fer-classic extract DATA --out feats    descriptors of your dataset
    fer-classic train feats -f hog -m svm --out runs/svm
    fer-classic evaluate runs/svm DATA
    fer-classic predict runs/svm photo.jpg --annotate out/
    fer-classic report runs/* --out report.md
    fer-classic check --baseline reports/baseline.json
    """
    # File names with bytes that are not valid UTF-8 reach Python as surrogates: print them as the bytes
    # they were, instead of failing on them.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError, io.UnsupportedOperation):
            stream.reconfigure(errors="surrogateescape")
    logging.captureWarnings(True)
    # loky restarts a worker whose memory grew by more than 300 MB after a task (each pipeline of the suite
    # loads its own features) and warns that it "stopped while some jobs were given"; they run on the new one.
    warnings.filterwarnings("ignore", message="A worker stopped while some jobs were given", category=UserWarning)
    # A killed run (SIGTERM) unwinds like Ctrl-C, so temporary files and folders are removed.
    signal.signal(signal.SIGTERM, _terminate)


def _terminate(signum, frame):
    raise SystemExit(128 + signum)

