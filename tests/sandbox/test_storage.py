"""Second hop of a download: the storage origin's signatures, Range and headers."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import select

from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.storage import UrlSigner, signer_for
from gcfetch.sandbox.tables import ImageFile, SocketValue


def _key(sandbox: Sandbox, suffix: str) -> str:
    with sandbox.apps.sessionmaker() as session:
        if suffix in (".mha", ".tif"):
            keys = session.scalars(select(ImageFile.key))
        else:
            keys = session.scalars(
                select(SocketValue.file_key).where(SocketValue.file_key.is_not(None))
            )
        return next(k for k in keys if k.endswith(suffix))


def _url(sandbox: Sandbox, key: str, **kwargs: float) -> str:
    return signer_for(sandbox.settings).url(sandbox.settings.storage_origin, key, **kwargs)


def _assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 403
    if response.request.method == "GET":
        assert "<Error>" in response.text


@pytest.fixture(scope="module")
def mha(sandbox: Sandbox) -> tuple[str, bytes]:
    key = _key(sandbox, ".mha")
    return _url(sandbox, key), (sandbox.settings.blob_dir / key).read_bytes()


def test_storage_serves_blob_with_headers_when_signature_valid(mha: tuple[str, bytes]):
    url, data = mha
    response = httpx.get(url)
    assert response.status_code == 200 and response.content == data
    assert response.headers["content-length"] == str(len(data))
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"].startswith('"') and response.headers["etag"].endswith('"')
    assert response.headers["etag"] == httpx.get(url).headers["etag"]
    assert "GMT" in response.headers["last-modified"]


@pytest.mark.parametrize(
    ("suffix", "content_type"),
    [
        (".json", "application/json"),
        (".pdf", "application/pdf"),
        (".tif", "image/tiff"),
        (".png", "image/png"),
    ],
)
def test_storage_sends_content_type_from_extension_when_serving(
    sandbox: Sandbox, suffix: str, content_type: str
):
    response = httpx.get(_url(sandbox, _key(sandbox, suffix)))
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type


def test_storage_answers_head_without_body_when_signature_valid(mha: tuple[str, bytes]):
    url, data = mha
    response = httpx.head(url)
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-length"] == str(len(data))


def test_storage_refuses_when_signature_wrong_or_missing(sandbox: Sandbox, mha: tuple[str, bytes]):
    url, _ = mha
    base, _, query = url.partition("?")
    params = dict(part.split("=", 1) for part in query.split("&"))
    _assert_refused(httpx.get(base))
    signature = params["Signature"]
    tampered = {**params, "Signature": ("B" if signature[0] == "A" else "A") + signature[1:]}
    _assert_refused(httpx.get(base, params=tampered))
    _assert_refused(httpx.get(base, params={**params, "Key-Pair-Id": "APKAOTHER"}))
    _assert_refused(httpx.get(base, params={**params, "Expires": str(int(params["Expires"]) + 1)}))
    other_key = _url(sandbox, _key(sandbox, ".json")).partition("?")[0]
    _assert_refused(httpx.get(other_key, params=params))


def test_storage_refuses_when_url_expired(sandbox: Sandbox):
    lifetime = sandbox.settings.link_lifetime
    url = _url(sandbox, _key(sandbox, ".json"), now=time.time() - lifetime - 10)
    _assert_refused(httpx.get(url))
    _assert_refused(httpx.head(url))


def test_storage_refuses_when_authorization_header_present(mha: tuple[str, bytes]):
    url, _ = mha
    _assert_refused(httpx.get(url, headers={"Authorization": "Bearer " + "a" * 64}))
    _assert_refused(httpx.get(url, headers={"Authorization": "Basic eDp5"}))


def test_storage_answers_404_when_signed_key_has_no_blob(sandbox: Sandbox):
    response = httpx.get(_url(sandbox, "images/00/00/missing/file.mha"))
    assert response.status_code == 404 and "NoSuchKey" in response.text


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=100-", 100, None),
        ("bytes=-7", -7, None),
    ],
)
def test_storage_answers_206_with_content_range_when_range_requested(
    mha: tuple[str, bytes], header: str, start: int, end: int | None
):
    url, data = mha
    response = httpx.get(url, headers={"Range": header})
    size = len(data)
    first = start % size
    last = end if end is not None else size - 1
    assert response.status_code == 206
    assert response.content == data[first : last + 1]
    assert response.headers["content-range"] == f"bytes {first}-{last}/{size}"
    assert response.headers["content-length"] == str(last - first + 1)


def test_storage_answers_416_when_range_unsatisfiable(mha: tuple[str, bytes]):
    url, data = mha
    response = httpx.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(data)}"


def test_storage_honours_if_range_when_etag_matches_or_not(mha: tuple[str, bytes]):
    url, data = mha
    etag = httpx.head(url).headers["etag"]
    matching = httpx.get(url, headers={"Range": "bytes=5-", "If-Range": etag})
    assert matching.status_code == 206 and matching.content == data[5:]
    stale = httpx.get(url, headers={"Range": "bytes=5-", "If-Range": '"stale"'})
    assert stale.status_code == 200 and stale.content == data


def test_url_signer_verifies_only_its_own_unexpired_signatures_when_checked():
    signer = UrlSigner(b"k" * 32, lifetime=300)
    url = signer.url("http://storage", "a/b.json", now=1000)
    params = dict(p.split("=", 1) for p in url.partition("?")[2].split("&"))
    args = (params["Expires"], params["Signature"], params["Key-Pair-Id"])
    assert params["Expires"] == "1300"
    assert signer.verify("a/b.json", *args, now=1200)
    assert not signer.verify("a/b.json", *args, now=1301)
    assert not signer.verify("a/c.json", *args, now=1200)
    assert not UrlSigner(b"x" * 32, lifetime=300).verify("a/b.json", *args, now=1200)
