"""First hop of a download: /media/ on the API origin checks permissions and redirects."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo
from gcfetch.sandbox.tables import AlgorithmImage, ImageFile, Job, SocketValue


def _auth(demo: DemoInfo, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {demo.tokens[user]}"}


def _image_key(sandbox: Sandbox, job_pk: str) -> str:
    """The storage key of the input image of a job."""
    with sandbox.apps.sessionmaker() as session:
        job = session.get(Job, job_pk)
        return session.scalar(
            select(ImageFile.key).where(ImageFile.image_pk == job.inputs[0].image_pk)
        )


def _value(sandbox: Sandbox, job_pk: str, suffix: str) -> SocketValue:
    with sandbox.apps.sessionmaker() as session:
        job = session.get(Job, job_pk)
        return next(v for v in job.outputs if v.file_key and v.file_key.endswith(suffix))


def _private_job(demo: DemoInfo, viewer: str = "editor") -> str:
    return next(
        pk
        for pk in demo.job_viewers[viewer]
        if pk not in demo.public_jobs and demo.jobs[pk] == "Succeeded"
    )


def _media(sandbox: Sandbox, key: str) -> str:
    return f"{sandbox.settings.api_origin}/media/{key}"


def _assert_html(response: httpx.Response, status: int) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    if response.request.method == "GET":
        assert "<html" in response.text


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_media_image_redirects_to_signed_storage_url_when_permitted(
    sandbox: Sandbox, demo: DemoInfo, method: str
):
    key = _image_key(sandbox, _private_job(demo))
    response = httpx.request(method, _media(sandbox, key), headers=_auth(demo, "editor"))
    assert response.status_code == 302
    assert response.content == b""
    assert response.headers["content-type"].startswith("text/html")
    location = urlsplit(response.headers["location"])
    assert location.port == sandbox.settings.storage_port != sandbox.settings.api_port
    assert location.path == f"/{key}"
    assert {"Expires", "Signature", "Key-Pair-Id"} <= {
        part.split("=")[0] for part in location.query.split("&")
    }


def test_media_image_serves_the_stored_bytes_when_redirect_followed(
    sandbox: Sandbox, demo: DemoInfo
):
    key = _image_key(sandbox, _private_job(demo))
    response = httpx.get(_media(sandbox, key), headers=_auth(demo, "editor"), follow_redirects=True)
    assert response.status_code == 200
    assert response.content == (sandbox.settings.blob_dir / key).read_bytes()


def test_media_image_answers_403_when_user_may_not_view(sandbox: Sandbox, demo: DemoInfo):
    key = _image_key(sandbox, _private_job(demo))
    _assert_html(httpx.get(_media(sandbox, key), headers=_auth(demo, "outsider")), 403)
    _assert_html(httpx.head(_media(sandbox, key)), 403)


def test_media_image_treats_invalid_token_as_anonymous_when_token_unknown(
    sandbox: Sandbox, demo: DemoInfo
):
    bad = {"Authorization": "Bearer " + "0" * 64}
    public_key = _image_key(sandbox, demo.public_jobs[0])
    assert httpx.get(_media(sandbox, public_key), headers=bad).status_code == 302
    assert httpx.get(_media(sandbox, public_key)).status_code == 302
    private_key = _image_key(sandbox, _private_job(demo))
    _assert_html(httpx.get(_media(sandbox, private_key), headers=bad), 403)
    inactive = _auth(demo, "inactive")
    _assert_html(httpx.get(_media(sandbox, private_key), headers=inactive), 403)


def test_media_image_answers_404_when_image_unknown(sandbox: Sandbox, demo: DemoInfo):
    pk = str(uuid.UUID(int=1, version=4))
    key = f"images/{pk[:2]}/{pk[2:4]}/{pk}/{pk}/{pk}.mha"
    _assert_html(httpx.get(_media(sandbox, key), headers=_auth(demo, "editor")), 404)
    _assert_html(httpx.get(_media(sandbox, "images/not-a-uuid/x.mha")), 404)


def test_media_image_accepts_short_form_and_checks_permission_when_no_prefix(
    sandbox: Sandbox, demo: DemoInfo
):
    key = _image_key(sandbox, _private_job(demo))
    short = "images/" + key.split("/", 3)[3]  # images/<image uuid>/<file uuid>/<name>
    _assert_html(httpx.get(_media(sandbox, short)), 403)


def test_media_image_answers_404_when_blob_missing(fresh_sandbox: Sandbox, demo: DemoInfo):
    key = _image_key(fresh_sandbox, _private_job(demo))
    (fresh_sandbox.settings.blob_dir / key).unlink()
    _assert_html(httpx.get(_media(fresh_sandbox, key), headers=_auth(demo, "editor")), 404)


@pytest.mark.parametrize("suffix", [".json", ".pdf", ".csv", ".png"])
def test_media_value_file_serves_the_stored_file_when_permitted(
    sandbox: Sandbox, demo: DemoInfo, suffix: str
):
    value = _value(sandbox, _private_job(demo), suffix)
    response = httpx.get(
        _media(sandbox, value.file_key), headers=_auth(demo, "editor"), follow_redirects=True
    )
    assert response.status_code == 200
    assert response.content == (sandbox.settings.blob_dir / value.file_key).read_bytes()
    assert len(response.history) == 1 and response.history[0].status_code == 302


def test_media_value_file_ignores_prefix_and_name_when_pk_matches(sandbox: Sandbox, demo: DemoInfo):
    value = _value(sandbox, _private_job(demo), ".pdf")
    url = _media(sandbox, f"components/componentinterfacevalue/ff/ff/{value.pk}/other.txt")
    response = httpx.get(url, headers=_auth(demo, "editor"))
    assert response.status_code == 302
    assert urlsplit(response.headers["location"]).path == f"/{value.file_key}"


def test_media_value_file_answers_404_when_not_permitted_or_absent(
    sandbox: Sandbox, demo: DemoInfo
):
    value = _value(sandbox, _private_job(demo), ".json")
    _assert_html(httpx.get(_media(sandbox, value.file_key), headers=_auth(demo, "outsider")), 404)
    _assert_html(httpx.head(_media(sandbox, value.file_key)), 404)
    absent = _media(sandbox, "components/componentinterfacevalue/ff/ff/99999999/x.json")
    _assert_html(httpx.get(absent, headers=_auth(demo, "editor")), 404)


def test_media_answers_each_user_for_themselves_when_they_alternate(
    sandbox: Sandbox, demo: DemoInfo
):
    """The permission statements are built once per user: none answers for another."""
    job = _private_job(demo)
    urls = [_media(sandbox, _value(sandbox, job, ".json").file_key)]
    urls.append(_media(sandbox, _image_key(sandbox, job)))
    for url in urls:
        asked = ["editor", "outsider", None, "editor", None, "outsider"]
        statuses = [
            httpx.get(url, headers=_auth(demo, user) if user else {}).status_code for user in asked
        ]
        refused = 404 if "componentinterfacevalue" in url else 403
        assert statuses == [302, refused, refused, 302, refused, refused]


def test_media_algorithm_image_redirects_only_editors_when_tarball_exists(
    sandbox: Sandbox, demo: DemoInfo
):
    with sandbox.apps.sessionmaker() as session:
        key = session.scalar(
            select(AlgorithmImage.image_key).where(AlgorithmImage.image_key.is_not(None))
        )
    assert httpx.get(_media(sandbox, key), headers=_auth(demo, "editor")).status_code == 302
    _assert_html(httpx.get(_media(sandbox, key), headers=_auth(demo, "viewer")), 403)
    _assert_html(httpx.get(_media(sandbox, key)), 403)
    unknown = f"docker/images/algorithms/algorithmimage/{uuid.UUID(int=2, version=4)}/x.tar.gz"
    _assert_html(httpx.get(_media(sandbox, unknown), headers=_auth(demo, "editor")), 404)


def test_media_answers_html_404_when_path_unknown(sandbox: Sandbox):
    _assert_html(httpx.get(_media(sandbox, "nothing/here.txt")), 404)
