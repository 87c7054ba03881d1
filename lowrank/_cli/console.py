"""Where the command writes: results to stdout, progress and errors to stderr."""

from __future__ import annotations

import contextlib
import sys
import time

__all__ = ["CommandError", "Console", "Terminated", "one_line"]


class CommandError(Exception):
    """A user error: printed as one ``lowrank: error: ...`` line, exit status 1."""


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived during a run.

    Raised by the command's signal handler so that, like KeyboardInterrupt,
    it unwinds the run and every unfinished output file is removed.
    """

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def one_line(message, limit=300):
    """`message` with its whitespace collapsed, cut to about `limit` characters."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Console:
    """Output of one run of the command.

    Parameters
    ----------
    out, err : file, optional
        Where results (default sys.stdout) and progress/notes (default
        sys.stderr) go.
    progress : bool or None, optional
        Report the steps of long work on `err`; None: only when `err` is a
        terminal, so logs and pipes get results only.
    """

    def __init__(self, out=None, err=None, progress=None):
        self.out = sys.stdout if out is None else out
        self.err = sys.stderr if err is None else err
        if progress is None:
            isatty = getattr(self.err, "isatty", None)
            progress = bool(isatty and isatty())
        self.progress = progress

    def print(self, text=""):
        """A line of results on stdout."""
        print(text, file=self.out)

    def note(self, text):
        """A remark on stderr that is neither a result nor an error."""
        print(f"lowrank: note: {one_line(text)}", file=self.err)

    def bar(self, done, total, label=""):
        """A progress bar ``[#####.....] done/total label`` on stderr (if enabled).

        Redrawn in place (carriage return); the line ends when ``done``
        reaches ``total``.
        """
        if not self.progress:
            return
        width = 24
        filled = width * done // max(total, 1)
        label = label if len(label) <= 40 else "..." + label[-37:]
        print(
            f"\rlowrank: [{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
            f"{label:<40}",
            end="\n" if done >= total else "",
            file=self.err,
            flush=True,
        )

    @contextlib.contextmanager
    def step(self, what):
        """Report ``what ... 1.2 s`` on stderr around a long step (if enabled)."""
        if not self.progress:
            yield
            return
        print(f"lowrank: {what} ...", end="", file=self.err, flush=True)
        start = time.perf_counter()
        try:
            yield
        except BaseException:
            print(" failed", file=self.err, flush=True)
            raise
        print(f" {time.perf_counter() - start:.1f} s", file=self.err, flush=True)
