"""Who sees the token: requests to the API origin, and nothing else.

- only URLs on the API origin (scheme, host, port of the base URL) may be requested directly;
  anything else is refused before a request is made (gcapi: "Invalid target URL");
- the token is attached by `TokenAuth`, per request, and only when the request's origin is the
  API origin, so redirects to storage (which gcfetch follows itself) never carry it;
- the token never shows in a repr or message (`Secret`), nor a URL's query in a message or log
  (`display_url`: signed storage links carry secrets there).
"""

from __future__ import annotations

import functools
from collections.abc import Generator

import httpx

from gcfetch.errors import ConfigurationError

Origin = tuple[str, str, int | None]
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: httpx.URL | str) -> Origin:
    """(scheme, host, port) with the scheme's default port filled in."""
    if isinstance(url, str):
        return _origin_of_text(url)
    scheme = url.scheme.lower()
    return scheme, url.host.lower(), url.port or _DEFAULT_PORTS.get(scheme)


@functools.lru_cache(maxsize=256)
def _origin_of_text(url: str) -> Origin:
    """`origin_of` a URL string, parsed once (httpx's parser is slow on long signed URLs)."""
    return origin_of(httpx.URL(url))


def check_url(url: str | httpx.URL, base_url: str) -> httpx.URL:
    """Return the URL if it is on the origin of `base_url`, else refuse it (ConfigurationError)."""
    target = url if isinstance(url, httpx.URL) else httpx.URL(url)
    if not target.is_absolute_url or origin_of(target) != origin_of(base_url):
        raise ConfigurationError(
            f"Invalid target URL: {display_url(target)}. gcfetch sends requests with your "
            f"token only to the API origin of base_url ({base_url}); use a URL on that "
            "host, or set base_url (or GRAND_CHALLENGE_API_URL) to the host you mean."
        )
    return target


def display_url(url: str | httpx.URL) -> str:
    """The URL for messages and logs: the query is dropped (signed links carry secrets)."""
    return str(httpx.URL(str(url)).copy_with(query=None, fragment=None))


class Secret:
    """Holds the token; its repr and str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return "<hidden token>"

    __str__ = __repr__

    def reveal(self) -> str:
        return self._value


class TokenAuth(httpx.Auth):
    """Adds `Authorization: Bearer <token>` to requests for the API origin only."""

    def __init__(self, token: Secret | None, api_origin: Origin) -> None:
        self._token = token
        self._api_origin = api_origin

    def __repr__(self) -> str:
        return f"TokenAuth(token={self._token!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """The token goes to the API origin; an Authorization header holding it is removed
        from a request anywhere else (a storage request's own signed one is kept)."""
        if origin_of(request.url) == self._api_origin:
            if self._token is not None and "Authorization" not in request.headers:
                request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        elif self._token is not None and self._token.reveal() in request.headers.get(
            "Authorization", ""
        ):
            request.headers.pop("Authorization", None)
        yield request
