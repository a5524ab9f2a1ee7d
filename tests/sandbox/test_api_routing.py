"""Django's edges of the sandbox API: trailing slashes, unknown paths, methods, bad pks."""

from __future__ import annotations

import httpx
import pytest

from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo


@pytest.mark.parametrize(
    "path", ["algorithms", "algorithms/jobs", "gcapi", "cases/images", "components/interfaces"]
)
def test_api_redirects_301_to_slashed_url_when_trailing_slash_is_missing(
    editor: httpx.Client, path: str
) -> None:
    response = editor.get(path, params={"limit": "2"})
    assert response.status_code == 301
    assert response.headers["location"] == f"/api/v1/{path}/?limit=2"


def test_api_redirects_detail_path_when_trailing_slash_is_missing(
    editor: httpx.Client, demo: DemoInfo
) -> None:
    pk = next(iter(demo.jobs))
    response = editor.get(f"algorithms/jobs/{pk}")
    assert response.status_code == 301
    assert response.headers["location"] == f"/api/v1/algorithms/jobs/{pk}/"


@pytest.mark.parametrize("path", ["nothing-here/", "algorithms/jobs/x/y/", "nothing-here"])
def test_api_answers_html_404_when_path_is_unknown(editor: httpx.Client, path: str) -> None:
    response = editor.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>Not Found</h1>" in response.text


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_api_answers_405_when_method_is_not_get(editor: httpx.Client, method: str) -> None:
    response = editor.request(method, "algorithms/")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"detail": f'Method "{method}" not allowed.'}


def test_api_answers_401_before_405_when_token_is_bad(sandbox: Sandbox) -> None:
    response = httpx.post(sandbox.base_url + "algorithms/", headers={"Authorization": "Bearer"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("path", "model"),
    [("algorithms/", "Algorithm"), ("algorithms/images/", "AlgorithmImage"),
     ("algorithms/jobs/", "Job"), ("cases/images/", "Image")],
)  # fmt: skip
def test_detail_answers_404_by_model_name_when_uuid_is_unknown(
    editor: httpx.Client, path: str, model: str
) -> None:
    response = editor.get(f"{path}00000000-0000-4000-8000-000000000000/")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"detail": f"No {model} matches the given query."}


@pytest.mark.parametrize(
    "path", ["algorithms/", "algorithms/images/", "algorithms/jobs/", "cases/images/",
             "components/interfaces/"],
)  # fmt: skip
def test_detail_answers_not_found_when_pk_is_malformed(editor: httpx.Client, path: str) -> None:
    response = editor.get(f"{path}not-a-pk/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_interface_detail_answers_404_by_model_name_when_pk_is_unknown(
    editor: httpx.Client,
) -> None:
    response = editor.get("components/interfaces/999999/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No ComponentInterface matches the given query."}


def test_head_answers_like_get_without_body_when_resource_exists(editor: httpx.Client) -> None:
    response = editor.head("algorithms/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == b""


def test_api_root_is_refused_as_on_gc_401_anonymous_403_with_a_token(
    editor: httpx.Client,
) -> None:
    refused = editor.get("")
    assert refused.status_code == 403
    assert refused.json() == {"detail": "You do not have permission to perform this action."}
    anonymous = httpx.get(str(editor.base_url))
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"] == "Bearer"
    assert editor.get(str(editor.base_url).rstrip("/")).status_code == 301


def test_api_builds_urls_from_the_host_the_client_used_when_host_differs(
    sandbox: Sandbox, demo: DemoInfo
) -> None:
    base = sandbox.base_url.replace("127.0.0.1", "localhost")
    headers = {"Authorization": f"Bearer {demo.tokens['editor']}"}
    body = httpx.get(base + "algorithms/jobs/", headers=headers, params={"limit": "1"}).json()
    job = body["results"][0]
    origin = base.removesuffix("/api/v1/")
    assert job["api_url"].startswith(origin + "/api/v1/algorithms/jobs/")
    assert job["algorithm"].startswith(origin + "/api/v1/algorithms/")
    assert body["next"].startswith(base + "algorithms/jobs/?")
