"""The one map from an HTTP error status to gcfetch's error tree (`errors.py`, kept httpx-free)."""

from __future__ import annotations

from typing import Any

import httpx

from gcfetch import config
from gcfetch.auth import display_url
from gcfetch.errors import APIError, AuthenticationError, ObjectNotFound, ServerError


def raise_for_status(response: httpx.Response) -> None:
    """Raise the most specific gcfetch error for a non-2xx response (body must be read).

    401 AuthenticationError, 404 ObjectNotFound, 5xx ServerError, any other (a redirect that
    was not followed too, as in gcapi 0.13) APIError; each carries status, URL (no query) and
    the server's message.
    """
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
