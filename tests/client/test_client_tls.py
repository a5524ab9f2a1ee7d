"""A server whose certificate cannot be verified: one attempt, and a message that says why."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import certifi
import pytest
from typer.testing import CliRunner

from gcfetch import CertificateError, Client, ConfigurationError
from gcfetch.cli import app
from gcfetch.sandbox import Sandbox, SandboxSettings


@pytest.fixture(scope="module")
def tls_sandbox(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    data_dir = tmp_path_factory.mktemp("tls-client") / "data"
    shutil.copytree(demo_dir, data_dir)
    with Sandbox(SandboxSettings(data_dir=data_dir, tls=True)) as running:
        yield running


def test_certificate_failure_is_not_retried_and_names_the_bundle(
    tls_sandbox, demo, monkeypatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with Client(token=demo.tokens["editor"], base_url=tls_sandbox.base_url) as client:
        with pytest.raises(CertificateError) as caught:
            client.algorithms.detail(slug=demo.public_algorithm)
        assert client.http.tally.snapshot()["retries"] == 0
    message = str(caught.value)
    assert isinstance(caught.value, ConfigurationError)
    assert "certifi" in message and "SSL_CERT_FILE" in message and "verify=" in message
    assert "Check your network" not in message


def test_certificate_message_names_the_bundle_in_use(tls_sandbox, demo, monkeypatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())  # a bundle without the sandbox's CA
    with (
        Client(token=demo.tokens["editor"], base_url=tls_sandbox.base_url) as client,
        pytest.raises(CertificateError, match=f"SSL_CERT_FILE \\({re.escape(certifi.where())}"),
    ):
        client.algorithms.detail(slug=demo.public_algorithm)


def test_cli_exits_two_on_a_certificate_failure(tls_sandbox, demo, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    env = {
        "GRAND_CHALLENGE_API_URL": tls_sandbox.base_url,
        "GRAND_CHALLENGE_AUTHORIZATION": demo.tokens["editor"],
    }
    result = CliRunner().invoke(app, ["outputs", "-a", "x", "-o", str(tmp_path)], env=env)
    assert result.exit_code == 2 and "could not be verified" in result.stderr
