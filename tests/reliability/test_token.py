"""The token goes to the API origin only and shows up nowhere: not at storage, not at a third
origin, not in output, logs, records, exceptions or reprs."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from tests.reliability.helpers import MATRIX_ALGORITHM, make_client

from gcfetch import download_outputs
from gcfetch.cli.logs import FORMAT, RedactingFormatter
from gcfetch.errors import GCFetchError
from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo
from gcfetch.sandbox.faults import Fault, FaultSettings
from gcfetch.transfer import stream_file


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        type(self).seen.append(dict(self.headers))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def third_origin() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A third server on loopback that records the headers it receives."""
    seen: ClassVar[list[dict[str, str]]] = []
    handler = type("Recorder", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


class _RedirectingTransport(httpx.HTTPTransport):
    """Answers `/media/elsewhere` on the API origin with a 302 to `location`; else real HTTP."""

    def __init__(self, location: str) -> None:
        super().__init__()
        self.location = location

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/elsewhere"):
            return httpx.Response(302, headers={"Location": self.location})
        return super().handle_request(request)


def _assert_absent(token: str, *texts: str) -> None:
    for text in texts:
        assert token not in text


def test_outputs_never_sends_or_shows_token_when_run_with_redirects_and_debug_logs(
    faulty: Sandbox, demo: DemoInfo, tmp_path: Path
):
    token = demo.tokens["editor"]
    faulty.set_faults(
        FaultSettings(
            seed=9,
            rules=(
                Fault("expired", first=1),
                Fault("status", status=503, rate=0.2, retry_after=0.01),
                Fault("drop", first=1, after_bytes=40),
            ),
        )
    )
    faulty.traffic.clear()
    env = {**os.environ, "GRAND_CHALLENGE_API_URL": faulty.base_url}
    env["GRAND_CHALLENGE_AUTHORIZATION"] = token
    command = [sys.executable, "-m", "gcfetch.cli", "outputs", "-a", MATRIX_ALGORITHM]
    result = subprocess.run(
        [*command, "-o", str(tmp_path), "-vv"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "DEBUG" in result.stderr and "/media/" in result.stderr
    storage = [r for r in faulty.traffic if r.origin == "storage"]
    api = [r for r in faulty.traffic if r.origin == "api"]
    assert len(storage) >= 20 and all(r.authorization for r in api)
    assert [r for r in storage if r.authorization] == []
    assert faulty.faults_injected["expired"] >= 20
    records = [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    _assert_absent(token, result.stdout, result.stderr, *records)


@pytest.mark.parametrize("verbosity", ["-v", "-vv"])
def test_outputs_logs_show_no_signed_link_query_when_verbose(
    faulty: Sandbox, demo: DemoInfo, tmp_path: Path, verbosity: str
):
    token = demo.tokens["editor"]
    faulty.set_faults(FaultSettings(seed=3, rules=(Fault("drop", first=1, after_bytes=40),)))
    env = {**os.environ, "GRAND_CHALLENGE_API_URL": faulty.base_url}
    env["GRAND_CHALLENGE_AUTHORIZATION"] = token
    command = [sys.executable, "-m", "gcfetch.cli", "outputs", "-a", MATRIX_ALGORITHM]
    result = subprocess.run(
        [*command, "-o", str(tmp_path), verbosity],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    shown = result.stdout + result.stderr
    assert "Signature=" not in shown and "Key-Pair-Id=" not in shown
    assert token not in shown
    if verbosity == "-vv":  # the request lines are there, without their query
        assert "/media/" in shown and f"{faulty.settings.storage_origin}/" in shown


def test_redacting_formatter_hides_signed_query_and_bearer_token_in_message_and_traceback():
    link = "https://cdn.example/a.mha?Expires=1&Signature=abc~&Key-Pair-Id=K1"
    try:
        raise ValueError(f"GET {link} failed; sent Authorization: Bearer s3cr3t")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.INFO, "f", 1, "fetching %s", (link,), sys.exc_info()
        )
    text = RedactingFormatter(FORMAT).format(record)
    assert "https://cdn.example/a.mha?<redacted>" in text and "Bearer <redacted>" in text
    assert "Signature" not in text and "s3cr3t" not in text and "Key-Pair-Id" not in text


def test_client_sends_no_token_when_location_points_to_third_origin(
    faulty: Sandbox, demo: DemoInfo, third_origin
):
    origin, seen = third_origin
    transport = _RedirectingTransport(f"{origin}/file?sig=1")
    with make_client(faulty, demo, transport=transport) as client:
        media = faulty.settings.api_origin + "/media/elsewhere"
        with stream_file(client.http, media) as response:
            assert response.read() == b"ok"
        followed = client(url=media, follow_redirects=True)
    assert followed.content == b"ok"
    assert len(seen) == 2
    assert all("Authorization" not in headers for headers in seen)


def test_errors_and_reprs_never_show_token_when_requests_fail(
    faulty: Sandbox, demo: DemoInfo, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    token = demo.tokens["editor"]
    caplog.set_level(logging.DEBUG)
    faulty.set_faults(FaultSettings(rules=(Fault("status", status=500, rate=1.0, path="/api/*"),)))
    errors: list[BaseException] = []
    with make_client(faulty, demo) as client:
        for call in (
            lambda: client(path="algorithms/"),
            lambda: client(url="https://elsewhere.example/api/v1/"),
            lambda: download_outputs(client, algorithm=MATRIX_ALGORITHM, output_directory=tmp_path),
        ):
            with pytest.raises(GCFetchError) as caught:
                call()
            errors.append(caught.value)
        faulty.set_faults(FaultSettings(rules=(Fault("expired", rate=1.0),)))
        summary = download_outputs(client, algorithm=MATRIX_ALGORITHM, output_directory=tmp_path)
        shown = [repr(client), repr(client.http), str(vars(client.http))]
    assert summary.failures
    texts = [caplog.text, *shown, *(f.error for f in summary.failures)]
    for exc in errors:
        texts += ["".join(traceback.format_exception(exc)), repr(exc), repr(exc.__cause__)]
    _assert_absent(token, *texts)
