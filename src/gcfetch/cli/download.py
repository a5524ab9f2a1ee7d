"""What the download commands share: the client, the progress view, Ctrl-C, the report."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

from gcfetch.cli.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, run_guarded
from gcfetch.cli.logs import setup_logging
from gcfetch.cli.options import make_client
from gcfetch.cli.render import ProgressView, render_failures, render_summary

if TYPE_CHECKING:
    from gcfetch.client import Client
    from gcfetch.outputs.summary import DownloadSummary

Download = Callable[["Client", ProgressView, threading.Event], "DownloadSummary"]


@dataclass(frozen=True)
class Access:
    """How to reach the API: token, base URL, and the connection pool's size."""

    token: str | None
    base_url: str | None
    workers: int


@dataclass(frozen=True)
class Display:
    """What the command prints."""

    quiet: bool
    verbose: int
    dry_run: bool


def run_command(download: Download, access: Access, display: Display) -> NoReturn:
    """Run `download` with a client, a progress view and a cancel event set by Ctrl-C; render
    the summary and exit with its code (a second Ctrl-C exits 130 at once)."""
    setup_logging(display.verbose)
    out, err = Console(), Console(stderr=True, soft_wrap=True)
    cancel = threading.Event()

    def run() -> DownloadSummary:
        with (
            make_client(access.token, access.base_url, access.workers) as client,
            ProgressView(err, quiet=display.quiet, verbose=display.verbose) as view,
        ):
            return download(client, view, cancel)

    try:
        with _cancel_on_sigint(cancel):
            _report(out, err, run_guarded(err, run), display)
    except KeyboardInterrupt:  # a second Ctrl-C
        _stop_now(err)


def _report(out: Console, err: Console, summary: DownloadSummary, display: Display) -> NoReturn:
    """Render the summary and exit with its code."""
    if display.quiet:
        render_failures(err, summary)
    else:
        render_summary(out, summary, verbose=display.verbose)
        if display.dry_run:
            for path in summary.would_download[:20]:
                out.print(f"would download {path}", markup=False, highlight=False)
    if summary.interrupted:
        err.print(
            "Interrupted. Finished files are kept and .part files resume: run the same "
            "command again to continue."
        )
        raise typer.Exit(EXIT_INTERRUPTED)
    if summary.failures:
        err.print(
            f"{summary.files_failed} output(s) failed (listed above); run the same "
            "command again to retry them."
        )
        raise typer.Exit(EXIT_FAILED)
    raise typer.Exit(EXIT_OK)


@contextmanager
def _cancel_on_sigint(cancel: threading.Event) -> Iterator[None]:
    """In the block, a first Ctrl-C sets `cancel` (a clean stop: every wait ends at once) and a
    second one raises KeyboardInterrupt.

    The handler only writes a byte to a pipe; a helper thread sets `cancel`. Setting the event
    in the handler itself could deadlock: the handler runs in the main thread, which may be
    holding the event's lock while it waits on it (a retry wait of the listing). After a Ctrl-C,
    SIGINT stays ignored: the command is exiting with 130, and a later Ctrl-C would only turn
    that exit into a traceback.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    presses = 0
    read_end, write_end = os.pipe()

    def handler(signum: int, frame: object) -> None:
        nonlocal presses
        presses += 1
        if presses > 1:
            raise KeyboardInterrupt
        os.write(write_end, b"!")

    threading.Thread(
        target=_set_on_byte, args=(read_end, cancel), name="gcfetch-sigint", daemon=True
    ).start()
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN if presses else previous)
        os.close(write_end)  # the helper reads end-of-file and ends


def _set_on_byte(read_end: int, event: threading.Event) -> None:
    """Set `event` when a byte arrives on `read_end`; end at end-of-file."""
    try:
        if os.read(read_end, 1):
            event.set()
    finally:
        os.close(read_end)


def _stop_now(err: Console) -> NoReturn:
    """Exit 130 at once. Transfers still blocked on the network (a stalled server) are
    abandoned, as a kill would: their `.part` files resume on the next run."""
    err.print(
        "Interrupted again: stopped at once. Finished files are kept and .part files resume: "
        "run the same command again to continue."
    )
    if _workers_left():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)  # a normal exit would wait for them: what Ctrl-C refused
    raise typer.Exit(EXIT_INTERRUPTED)


def _workers_left() -> bool:
    """Whether threads that a normal exit waits for (the pool's workers) are still running."""
    current = threading.current_thread()
    return any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not current)
