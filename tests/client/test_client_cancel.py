"""Cancelling an HttpSession's waits: retry backoff, Retry-After and connection slots end at once
when the bound event is set, and a closed client never leaks httpx's bare RuntimeError."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import ExitStack

import httpx
import pytest

from gcfetch import ConfigurationError, TransferCancelled
from gcfetch.http import HttpSession
from gcfetch.transfer import stream_file

API = "https://gc.example.org/api/v1/"
MEDIA = "https://gc.example.org/media/images/file.mha"
LONG_WAIT = "60"  # seconds of Retry-After; a cancelled wait must end long before
BOUND = 3.0  # seconds a cancelled wait may take, with a margin for a loaded 2-core machine


def _busy(request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, headers={"Retry-After": LONG_WAIT})


def _session(handler: Callable[[httpx.Request], httpx.Response], **kwargs) -> HttpSession:
    return HttpSession(API, "t", transport=httpx.MockTransport(handler), **kwargs)


def _outcome_of(call: Callable[[], object]) -> tuple[threading.Thread, list[BaseException]]:
    """Run `call` in a thread; the list receives what it raised."""
    raised: list[BaseException] = []

    def target() -> None:
        try:
            call()
        except BaseException as exc:  # the test inspects it
            raised.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, raised


def _cancel_after_wait_began(cancel: threading.Event, thread: threading.Thread) -> float:
    """Let the thread reach its wait, set `cancel`, return how long the thread took to end."""
    time.sleep(0.3)
    assert thread.is_alive(), "the call ended before it could be cancelled"
    cancel.set()
    set_at = time.monotonic()
    thread.join(BOUND + 5)
    return time.monotonic() - set_at


def test_request_raises_transfer_cancelled_promptly_when_cancelled_during_retry_after() -> None:
    http = _session(_busy)
    cancel = threading.Event()
    with http.cancelled_by(cancel):
        thread, raised = _outcome_of(lambda: http.request("GET", API + "algorithms/"))
        took = _cancel_after_wait_began(cancel, thread)
    assert took < BOUND
    assert len(raised) == 1 and isinstance(raised[0], TransferCancelled)


def test_stream_file_raises_transfer_cancelled_promptly_when_waiting_for_a_connection_slot():
    http = _session(lambda r: httpx.Response(200, content=b"x"), max_concurrent_downloads=1)
    cancel = threading.Event()
    with ExitStack() as held, http.cancelled_by(cancel):
        while True:  # take every connection slot
            thread, raised = _outcome_of(lambda: held.enter_context(stream_file(http, MEDIA)))
            thread.join(1.0)
            if thread.is_alive():
                break
        took = _cancel_after_wait_began(cancel, thread)
    assert took < BOUND
    assert len(raised) == 1 and isinstance(raised[0], TransferCancelled)


def test_session_waits_again_after_a_cancelled_run_when_the_event_is_unbound() -> None:
    answers = iter([httpx.Response(503, headers={"Retry-After": "0.2"}), httpx.Response(200)])
    http = _session(lambda r: next(answers))
    cancel = threading.Event()
    cancel.set()
    with http.cancelled_by(cancel), pytest.raises(TransferCancelled):
        http.request("GET", API + "algorithms/")
    assert http.request("GET", API + "algorithms/").status_code == 200


def test_request_raises_configuration_error_naming_the_fix_when_client_is_closed() -> None:
    http = _session(lambda r: httpx.Response(200))
    http.close()
    with pytest.raises(ConfigurationError, match="closed") as caught:
        http.request("GET", API + "algorithms/")
    assert "Cannot send a request" not in str(caught.value)


def test_request_raises_transfer_cancelled_when_client_was_closed_by_a_cancelled_run() -> None:
    http = _session(lambda r: httpx.Response(200))
    cancel = threading.Event()
    with http.cancelled_by(cancel):
        cancel.set()
        http.close()
        with pytest.raises(TransferCancelled):
            http.request("GET", API + "algorithms/")
