"""Client construction: token and base URL rules, no request at construction, secrecy."""

from __future__ import annotations

import httpx
import pytest

from gcfetch import Client, ConfigurationError
from gcfetch.client import normalise_base_url, normalise_token

TOKEN = "a" * 64


def _refusing_transport(calls: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500)

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (TOKEN, TOKEN),
        (f"Bearer {TOKEN}", TOKEN),
        (f"  TOKEN    {TOKEN} ", TOKEN),
    ],
)
def test_normalise_token_keeps_last_word_when_one_or_two_words(given: str, expected: str) -> None:
    assert normalise_token(given) == expected


def test_normalise_token_refuses_when_three_words() -> None:
    with pytest.raises(ConfigurationError, match="Invalid token format") as caught:
        normalise_token(f"Bearer x {TOKEN}")
    assert TOKEN not in str(caught.value)
    assert isinstance(caught.value, RuntimeError)


def test_normalise_token_reads_environment_when_argument_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRAND_CHALLENGE_AUTHORIZATION", f"Bearer {TOKEN}")
    assert normalise_token(None) == TOKEN
    assert normalise_token("") == TOKEN


def test_normalise_token_names_variable_when_token_missing() -> None:
    with pytest.raises(ConfigurationError) as caught:
        normalise_token(None)
    assert "GRAND_CHALLENGE_AUTHORIZATION" in str(caught.value)
    assert "personal API token" in str(caught.value)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://grand-challenge.org/api/v1", "https://grand-challenge.org/api/v1/"),
        ("https://grand-challenge.org/api/v1/", "https://grand-challenge.org/api/v1/"),
        ("http://127.0.0.1:8000/api/v1/", "http://127.0.0.1:8000/api/v1/"),
        ("http://localhost:8000/api/v1", "http://localhost:8000/api/v1/"),
        ("http://[::1]:8000/api/v1/", "http://[::1]:8000/api/v1/"),
    ],
)
def test_normalise_base_url_adds_slash_and_allows_loopback_http(given: str, expected: str) -> None:
    assert normalise_base_url(given) == expected


@pytest.mark.parametrize(
    "given", ["http://grand-challenge.org/api/v1/", "ftp://127.0.0.1/api/v1/", "api/v1/"]
)
def test_normalise_base_url_refuses_when_not_https_or_not_absolute(given: str) -> None:
    with pytest.raises(ConfigurationError):
        normalise_base_url(given)


def test_normalise_base_url_reads_environment_when_argument_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert normalise_base_url(None) == "https://grand-challenge.org/api/v1/"
    monkeypatch.setenv("GRAND_CHALLENGE_API_URL", "http://127.0.0.1:9/api/v1")
    assert normalise_base_url(None) == "http://127.0.0.1:9/api/v1/"


def test_client_sends_no_request_when_constructed() -> None:
    calls: list[httpx.Request] = []
    with Client(token=TOKEN, transport=_refusing_transport(calls)) as client:
        assert client.base_url == "https://grand-challenge.org/api/v1/"
    assert calls == []


def test_client_hides_token_when_printed() -> None:
    with Client(token=TOKEN, transport=_refusing_transport([])) as client:
        shown = " ".join(
            [
                repr(client),
                str(client),
                repr(client.http),
                repr(vars(client.http)),
                repr(vars(client)),
            ]
        )
    assert TOKEN not in shown


def test_client_refuses_foreign_url_without_any_request() -> None:
    calls: list[httpx.Request] = []
    with Client(token=TOKEN, transport=_refusing_transport(calls)) as client:
        with pytest.raises(ConfigurationError, match="Invalid target URL"):
            client(url="https://evil.example.org/api/v1/algorithms/")
        with pytest.raises(ConfigurationError, match="Invalid target URL"):
            client.algorithms.detail(api_url="http://grand-challenge.org/api/v1/algorithms/x/")
        with pytest.raises(ConfigurationError, match="Invalid target URL"):
            client.images.download(url="https://grand-challenge.org:444/x/", filename="x")
    assert calls == []
