"""TLS mode: both origins serve https with a trustme CA that clients must trust."""

from __future__ import annotations

import shutil
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gcfetch.sandbox import Sandbox, SandboxSettings
from gcfetch.sandbox.demo import DemoInfo


@pytest.fixture(scope="module")
def tls_sandbox(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    data_dir = tmp_path_factory.mktemp("tls") / "data"
    shutil.copytree(demo_dir, data_dir)
    with Sandbox(SandboxSettings(data_dir=data_dir, tls=True)) as running:
        yield running


def _trusting(sandbox: Sandbox) -> ssl.SSLContext:
    assert sandbox.ca_path is not None and sandbox.ca_path.is_file()
    return ssl.create_default_context(cafile=str(sandbox.ca_path))


def test_tls_sandbox_serves_https_when_client_trusts_the_ca(tls_sandbox: Sandbox):
    assert tls_sandbox.base_url.startswith("https://")
    response = httpx.get(tls_sandbox.base_url + "gcapi/", verify=_trusting(tls_sandbox))
    assert response.status_code == 200


def test_tls_sandbox_is_refused_when_client_does_not_trust_the_ca(tls_sandbox: Sandbox):
    with pytest.raises(httpx.ConnectError):
        httpx.get(tls_sandbox.base_url + "gcapi/")


def test_tls_sandbox_redirects_media_to_https_storage_when_permitted(
    tls_sandbox: Sandbox, demo: DemoInfo
):
    job = demo.public_jobs[0]
    headers = {"Authorization": f"Bearer {demo.tokens['editor']}"}
    with httpx.Client(verify=_trusting(tls_sandbox), headers=headers) as client:
        detail = client.get(f"{tls_sandbox.base_url}algorithms/jobs/{job}/").json()
        image = client.get(detail["inputs"][0]["image"]).json()
        first = client.get(image["files"][0]["file"])
        assert first.status_code == 302
        assert first.headers["location"].startswith(tls_sandbox.storage_url)
        assert tls_sandbox.storage_url.startswith("https://")
        final = client.get(image["files"][0]["file"], follow_redirects=True)
    assert final.status_code == 200 and len(final.content) > 0
