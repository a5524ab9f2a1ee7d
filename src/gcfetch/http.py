"""The one place that sends requests: token, origin check, redirects, retries, errors, streaming.

Rules kept here and nowhere else:
- only URLs on the API origin (scheme, host, port of the base URL) may be requested directly;
  anything else is refused before a request is made (gcapi: "Invalid target URL");
- the token is attached by `_TokenAuth`, per request, and only when the request's origin is the
  API origin, so redirects to storage (which gcfetch follows itself) never carry it;
- httpx exceptions are translated into gcfetch's error tree, always with `raise ... from`;
- every wait (retry backoff, Retry-After, a free connection slot) ends with TransferCancelled as
  soon as a cancel event bound with `HttpSession.cancelled_by` is set.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import httpx

from gcfetch import config
from gcfetch.errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    ObjectNotFound,
    ServerError,
    TransferCancelled,
    TransferError,
)
from gcfetch.retry import Outcome, RetryPolicy, RetryState

logger = logging.getLogger(__name__)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_CONNECT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_READ_ERRORS = (
    httpx.ReadError,
    httpx.ReadTimeout,
    httpx.WriteError,
    httpx.WriteTimeout,
    httpx.RemoteProtocolError,
)
Origin = tuple[str, str, int | None]
_POLL = 0.05  # seconds between looks at the cancel events where no one event can be waited on
_RECHECK = 1.0  # longest wait on the one bound cancel event before looking for newly bound ones


class BodyBrokeOff(TransferError):
    """A streamed body stopped before its end (dropped, cut short or stalled): resumable."""


def origin_of(url: httpx.URL | str) -> Origin:
    """(scheme, host, port) with the scheme's default port filled in."""
    url = httpx.URL(url)
    scheme = url.scheme.lower()
    return scheme, url.host.lower(), url.port or _DEFAULT_PORTS.get(scheme)


def _user_agent() -> str:
    try:
        return f"gcfetch/{version('gcfetch')}"
    except PackageNotFoundError:
        return "gcfetch"


class _Secret:
    """Holds the token; its repr and str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return "<hidden token>"

    __str__ = __repr__

    def reveal(self) -> str:
        return self._value


class _TokenAuth(httpx.Auth):
    """Adds `Authorization: Bearer <token>` to requests for the API origin only."""

    def __init__(self, token: _Secret | None, api_origin: Origin) -> None:
        self._token = token
        self._api_origin = api_origin

    def __repr__(self) -> str:
        return f"_TokenAuth(token={self._token!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if origin_of(request.url) == self._api_origin:
            if self._token is not None and "Authorization" not in request.headers:
                request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        else:
            request.headers.pop("Authorization", None)
        yield request


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
        self._cancels: list[threading.Event] = []
        self._cancels_lock = threading.Lock()
        self._auth = _TokenAuth(_Secret(token) if token else None, self.api_origin)
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
    def _slot(self) -> Iterator[None]:
        """Hold one connection slot; waiting for it ends with TransferCancelled on cancel."""
        while not self._slots.acquire(timeout=_POLL):
            self._stop_if_cancelled("waiting for a free connection")
        try:
            yield
        finally:
            self._slots.release()

    def check_url(self, url: str | httpx.URL) -> httpx.URL:
        """Return the URL if it is on the API origin, else refuse it (no request is made)."""
        target = httpx.URL(str(url))
        if not target.is_absolute_url or origin_of(target) != self.api_origin:
            raise ConfigurationError(
                f"Invalid target URL: {display_url(target)}. gcfetch sends requests with your "
                f"token only to the API origin of base_url ({self.base_url}); use a URL on that "
                "host, or set base_url (or GRAND_CHALLENGE_API_URL) to the host you mean."
            )
        return target

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
        target = self.check_url(url)
        response = self._send(method, target, params=params, json=json, headers=headers)
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
            response = self._send(method, target, headers=headers)
            hops += 1
        if raise_for_status:
            self.raise_for_status(response)
        return response

    @contextmanager
    def stream_file(
        self, media_url: str, *, headers: Mapping[str, str] | None = None
    ) -> Iterator[httpx.Response]:
        """Yield the streamed storage response (200 or 206) for a `/media/` URL.

        The first hop goes to the API origin with the token and is not followed automatically;
        the `Location` is then fetched without the token, with `headers` (e.g. Range). A 403
        from another origin (an expired signed link) is renewed by asking `media_url` again.
        """
        with self._slot():
            yield from self._stream_file(media_url, headers)

    def _stream_file(
        self, media_url: str, headers: Mapping[str, str] | None
    ) -> Iterator[httpx.Response]:
        renewals = 0
        while True:
            first = self._send("GET", self.check_url(media_url), stream=True)
            if not first.is_redirect:
                response = first
            else:
                first.read()  # the empty redirect body: read, so the connection is reused
                first.close()
                storage_url = first.request.url.join(first.headers["Location"])
                response = self._send("GET", storage_url, headers=headers, stream=True)
                expired = response.status_code == 403 and origin_of(storage_url) != self.api_origin
                if expired and renewals < config.MAX_LINK_RENEWALS:
                    response.read()
                    response.close()
                    renewals += 1
                    logger.debug("storage link refused (403); asking %s again", media_url)
                    continue
            break
        try:
            if not response.is_success:
                response.read()
                self.raise_for_status(response)
            yield response
        except httpx.HTTPError as exc:
            raise BodyBrokeOff(
                f"The download of {display_url(media_url)} broke off ({type(exc).__name__}: "
                f"{exc}); run it again to resume.",
                url=media_url,
            ) from exc
        finally:
            response.close()

    def _send(
        self,
        method: str,
        url: httpx.URL,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """One request, retried per the policy; never follows redirects."""
        state = RetryState()
        while True:
            self._stop_if_cancelled(f"about to send {method} {display_url(url)}")
            request = self._client.build_request(
                method, url, params=params, json=json, headers=headers
            )
            try:
                if stream:  # the caller, stream_file, holds a slot for the whole stream
                    response = self._client.send(request, stream=True, auth=self._auth)
                else:
                    with self._slot():
                        response = self._client.send(request, auth=self._auth)
            except (*_CONNECT_ERRORS, *_READ_ERRORS) as exc:
                kind = "connect" if isinstance(exc, _CONNECT_ERRORS) else "read"
                decision = self.retry.decide(state, Outcome(method, error=kind))
                logger.debug("%s %s -> %s", method, display_url(url), type(exc).__name__)
                if decision is None:
                    raise TransferError(
                        f"{method} {display_url(url)} failed after {state.total} retries: "
                        f"{type(exc).__name__}: {exc}. Check your network and the base URL.",
                        url=display_url(url),
                    ) from exc
            except httpx.HTTPError as exc:
                raise TransferError(
                    f"{method} {display_url(url)} failed: {type(exc).__name__}: {exc}",
                    url=display_url(url),
                ) from exc
            except RuntimeError as exc:
                if not self._client.is_closed:
                    raise
                raise self._closed_error(method, url) from exc
            else:
                logger.debug("%s %s -> %s", method, display_url(url), response.status_code)
                outcome = Outcome(
                    method,
                    status=response.status_code,
                    retry_after=response.headers.get("Retry-After"),
                )
                decision = None if response.is_success else self.retry.decide(state, outcome)
                if decision is None:
                    return response
                response.close()
            self.wait(decision.delay, f"waiting {decision.delay:g} s to retry {display_url(url)}")
            state = decision.state

    def _closed_error(self, method: str, url: httpx.URL) -> Exception:
        """The error of a request on a closed client: a cancelled run's, or a misuse's."""
        if self.cancelled():
            return TransferCancelled(
                f"Cancelled: {method} {display_url(url)} was not sent, the client is closed.",
                url=display_url(url),
            )
        return ConfigurationError(
            f"Cannot send {method} {display_url(url)}: this Client is closed. Use it inside its "
            "`with` block, or create a new Client."
        )

    def raise_for_status(self, response: httpx.Response) -> None:
        """Raise the most specific gcfetch error for a non-2xx response (body must be read)."""
        if response.is_success:
            return
        status = response.status_code
        url = display_url(response.request.url)
        detail = server_message(response)
        said = f": {detail.rstrip('.')}" if detail else ""
        head = f"{response.request.method} {url} answered {status} {response.reason_phrase}{said}"
        kwargs: dict[str, Any] = {"status_code": status, "url": url, "server_message": detail}
        if response.is_redirect:
            raise APIError(f"{head}. Pass follow_redirects=True to follow it.", **kwargs)
        if status == 401:
            raise AuthenticationError(
                f"{head}. Set {config.TOKEN_ENV} (or pass token=) to a valid personal API "
                f"token; create one at {config.API_TOKEN_HELP_URL}.",
                **kwargs,
            )
        if status == 404:
            raise ObjectNotFound(
                f"{head}. The object does not exist or your token's user may not see it "
                "(Grand Challenge answers 404 for both).",
                **kwargs,
            )
        if status >= 500:
            raise ServerError(f"{head}. The server failed; try again later.", **kwargs)
        raise APIError(f"{head}.", **kwargs)


def display_url(url: str | httpx.URL) -> str:
    """The URL for messages and logs: the query is dropped (signed links carry secrets)."""
    return str(httpx.URL(str(url)).copy_with(query=None, fragment=None))


def server_message(response: httpx.Response) -> str | None:
    """The server's explanation: `detail` of a JSON body, else the compact JSON, else None."""
    if not response.headers.get("Content-Type", "").startswith("application/json"):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return str(body)[:500]
