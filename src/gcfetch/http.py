"""The one place that sends requests: retries, redirects for `request`, slots, cancel waits.

Rules kept here and nowhere else:
- only URLs on the API origin may be requested directly, and the token goes only there
  (`gcfetch.auth`: `check_url`, `TokenAuth`);
- httpx exceptions are translated into gcfetch's error tree, always with `raise ... from`
  (statuses by `gcfetch.api_errors.raise_for_status`);
- never more requests in flight than pooled connections: each holds a connection slot;
- every wait (retry backoff, Retry-After, a free connection slot) ends with TransferCancelled as
  soon as a cancel event bound with `HttpSession.cancelled_by` is set.

`gcfetch.transfer.stream_file` builds the two-hop `/media/` download on `slot` and `send`.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import certifi
import httpx

from gcfetch import config
from gcfetch.api_errors import raise_for_status as _raise_for_status
from gcfetch.auth import Secret, TokenAuth, check_url, display_url, origin_of
from gcfetch.errors import (
    APIError,
    BodyBrokeOff,
    CertificateError,
    ConfigurationError,
    TransferCancelled,
    TransferError,
)
from gcfetch.retry import Decision, Outcome, RetryPolicy, RetryState
from gcfetch.tally import RequestTally

logger = logging.getLogger(__name__)

_CONNECT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_READ_ERRORS = (
    httpx.ReadError,
    httpx.ReadTimeout,
    httpx.WriteError,
    httpx.WriteTimeout,
    httpx.RemoteProtocolError,
)
_POLL = 0.05  # seconds between looks at the cancel events where no one event can be waited on
_RECHECK = 1.0  # longest wait on the one bound cancel event before looking for newly bound ones


def _user_agent() -> str:
    try:
        return f"gcfetch/{version('gcfetch')}"
    except PackageNotFoundError:
        return "gcfetch"


class HttpSession:
    """Owns one httpx.Client (connection pool sized for `max_concurrent_downloads` + a few)."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        verify: bool | str = True,
        timeout: float = config.DEFAULT_TIMEOUT,
        max_concurrent_downloads: int = config.DEFAULT_MAX_CONCURRENT_DOWNLOADS,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.base_url = base_url
        self.api_origin = origin_of(base_url)
        self.retry = retry or RetryPolicy()
        self._sleep = sleep  # tests: called instead of waiting (the cancel events still count)
        self.tally = RequestTally(self.api_origin)
        self._verify = verify
        self._cancels: list[threading.Event] = []
        self._cancels_lock = threading.Lock()
        self._auth = TokenAuth(Secret(token) if token else None, self.api_origin)
        pool = max_concurrent_downloads + config.EXTRA_CONNECTIONS
        # Never more requests in flight than pooled connections: httpcore 1.0.x may close a
        # connection it has handed to a queued request (encode/httpcore#1110), which breaks
        # concurrent downloads once more threads than connections share the pool.
        self._slots = threading.BoundedSemaphore(pool)
        self._client = httpx.Client(
            verify=verify,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": _user_agent()},
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"HttpSession(base_url={self.base_url!r})"

    def close(self) -> None:
        self._client.close()

    @contextmanager
    def cancelled_by(self, event: threading.Event) -> Iterator[None]:
        """While the block runs, setting `event` ends every wait of this session at once.

        A wait (retry backoff, Retry-After, a free connection slot) or a new request then raises
        TransferCancelled. Nothing stays set afterwards: the session is usable again after the
        block, whatever `event` holds. Several events may be bound at once (e.g. two runs).
        """
        with self._cancels_lock:
            self._cancels.append(event)
        try:
            yield
        finally:
            with self._cancels_lock:
                self._cancels.remove(event)

    def cancelled(self) -> bool:
        """Whether a bound cancel event is set."""
        return any(event.is_set() for event in tuple(self._cancels))

    def wait(self, seconds: float, why: str) -> None:
        """Wait `seconds`; raise TransferCancelled as soon as a bound cancel event is set."""
        self._stop_if_cancelled(why)
        if self._sleep is not None:
            self._sleep(seconds)
            self._stop_if_cancelled(why)
            return
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            events = tuple(self._cancels)
            if len(events) == 1:
                events[0].wait(min(left, _RECHECK))
            else:
                time.sleep(min(left, _POLL))
            self._stop_if_cancelled(why)

    def _stop_if_cancelled(self, why: str) -> None:
        if self.cancelled():
            raise TransferCancelled(f"Cancelled while {why}; run again to continue.")

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one connection slot for the block; waiting for it ends with TransferCancelled on
        cancel. A streamed response (`send(..., stream=True)`) must be sent and read, body
        included, inside the block: its connection is in use until then."""
        while not self._slots.acquire(timeout=_POLL):
            self._stop_if_cancelled("waiting for a free connection")
        try:
            yield
        finally:
            self._slots.release()

    @contextmanager
    def extra_slots(self, wanted: int) -> Iterator[int]:
        """Hold up to `wanted` more connection slots, taking only those free now (never waiting,
        so a caller that already holds a slot cannot deadlock); yields how many it got."""
        got = 0
        while got < wanted and self._slots.acquire(blocking=False):
            got += 1
        try:
            yield got
        finally:
            for _ in range(got):
                self._slots.release()

    def request(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        follow_redirects: bool = False,
        raise_for_status: bool = True,
    ) -> httpx.Response:
        """Send one request to the API origin (retried), optionally following redirects.

        The body is read. Non-2xx answers raise (401 AuthenticationError, 404 ObjectNotFound,
        5xx ServerError, other APIError; a redirect that is not followed is an APIError too, as
        in gcapi 0.13) unless `raise_for_status=False`.
        """
        target = check_url(url, self.base_url)
        response = self.send(method, target, params=params, json=json, headers=headers)
        hops = 0
        while follow_redirects and response.is_redirect:
            if hops >= config.MAX_REDIRECTS:
                raise APIError(
                    f"Too many redirects ({hops}) starting from {display_url(url)}.",
                    status_code=response.status_code,
                    url=display_url(url),
                )
            target = target.join(response.headers["Location"])
            if response.status_code == 303 or (
                response.status_code in (301, 302) and method.upper() == "POST"
            ):
                method, json = "GET", None
            response = self.send(method, target, headers=headers)
            hops += 1
        if raise_for_status:
            _raise_for_status(response)
        return response

    def send(
        self,
        method: str,
        url: httpx.URL,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """One request, retried per the policy; never follows redirects; any status returned.

        The URL is not checked (see `request`); the token goes only to the API origin. Without
        `stream` the body is read, within a connection slot. With `stream` the body is left
        unread: the caller holds `slot()` around this call and the reading, then closes it.
        """
        state = RetryState()
        while True:
            if self.cancelled():  # the message only then: building it parses the URL
                self._stop_if_cancelled(f"about to send {method} {display_url(url)}")
            request = self._client.build_request(
                method, url, params=params, json=json, headers=headers
            )
            self.tally.count(request.url, retry=state.total > 0)
            try:
                response = self._transmit(request, stream)
            except (*_CONNECT_ERRORS, *_READ_ERRORS) as exc:
                decision = self._retry_after_error(request, state, exc)
            else:
                decision = self._retry_after_status(request, state, response)
                if decision is None:
                    return response
                response.close()
            self.wait(decision.delay, f"waiting {decision.delay:g} s to retry {display_url(url)}")
            state = decision.state

    def _transmit(self, request: httpx.Request, stream: bool) -> httpx.Response:
        """Send `request` once. Connect and read errors propagate (`send` may retry them);
        other httpx errors and a closed client become gcfetch errors."""
        try:
            if stream:
                return self._client.send(request, stream=True, auth=self._auth)
            with self.slot():
                return self._client.send(request, auth=self._auth)
        except (*_CONNECT_ERRORS, *_READ_ERRORS):
            raise
        except httpx.HTTPError as exc:
            raise TransferError(
                f"{request.method} {display_url(request.url)} failed: {type(exc).__name__}: {exc}",
                url=display_url(request.url),
            ) from exc
        except RuntimeError as exc:
            if not self._client.is_closed:
                raise
            raise self._closed_error(request) from exc

    def _retry_after_error(
        self, request: httpx.Request, state: RetryState, exc: httpx.HTTPError
    ) -> Decision:
        """The wait before the next try after a connect or read error; TransferError if none."""
        method, shown = request.method, display_url(request.url)
        if _certificate_failure(exc):
            raise CertificateError(_certificate_message(request.url, exc, self._verify)) from exc
        kind = "connect" if isinstance(exc, _CONNECT_ERRORS) else "read"
        decision = self.retry.decide(state, Outcome(method, error=kind))
        logger.debug("%s %s -> %s", method, shown, type(exc).__name__)
        if decision is None:
            raise TransferError(
                f"{method} {shown} failed after {state.total} retries: "
                f"{type(exc).__name__}: {exc}. Check your network and the base URL.",
                url=shown,
            ) from exc
        return decision

    def _retry_after_status(
        self, request: httpx.Request, state: RetryState, response: httpx.Response
    ) -> Decision | None:
        """The wait before the next try after an answer; None: return this answer."""
        if logger.isEnabledFor(logging.DEBUG):  # display_url parses: only when it is shown
            logger.debug(
                "%s %s -> %s", request.method, display_url(request.url), response.status_code
            )
        if response.is_success:
            return None
        retry_after = response.headers.get("Retry-After")
        outcome = Outcome(request.method, status=response.status_code, retry_after=retry_after)
        return self.retry.decide(state, outcome)

    def _closed_error(self, request: httpx.Request) -> Exception:
        """The error of a request on a closed client: a cancelled run's, or a misuse's."""
        method, shown = request.method, display_url(request.url)
        if self.cancelled():
            return TransferCancelled(
                f"Cancelled: {method} {shown} was not sent, the client is closed.", url=shown
            )
        return ConfigurationError(
            f"Cannot send {method} {shown}: this Client is closed. Use it inside its "
            "`with` block, or create a new Client."
        )


def _certificate_failure(exc: BaseException) -> bool:
    """Whether a connect error was a failed TLS certificate verification."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


def _certificate_message(url: httpx.URL, exc: BaseException, verify: bool | str) -> str:
    """What failed, which CA bundle was used, and how to trust another one."""
    if isinstance(verify, str):
        bundle = f"the CA bundle you passed as verify= ({verify})"
    elif os.environ.get("SSL_CERT_FILE"):
        bundle = f"SSL_CERT_FILE ({os.environ['SSL_CERT_FILE']})"
    else:
        bundle = f"certifi's CA bundle ({certifi.where()})"
    return (
        f"The TLS certificate of {url.host} could not be verified against {bundle}: {exc}. "
        "This is not a network fault and is not retried. If a company proxy or a private CA "
        "signs this server's certificate, point SSL_CERT_FILE (or Client(verify=...)) at a "
        "PEM file holding that CA; check the base URL's host name otherwise."
    )


@contextmanager
def reading_body(response: httpx.Response, url: str) -> Iterator[None]:
    """While the block reads `response`'s streamed body, an httpx error (a body dropped, cut
    short or stalled) becomes BodyBrokeOff, naming `url`; the response is closed at the end."""
    try:
        yield
    except httpx.HTTPError as exc:
        raise BodyBrokeOff(
            f"The download of {display_url(url)} broke off ({type(exc).__name__}: "
            f"{exc}); run it again to resume.",
            url=url,
        ) from exc
    finally:
        response.close()
