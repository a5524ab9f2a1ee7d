"""Authentication (§1.3) and visibility (§1.4) of the sandbox API."""

from __future__ import annotations

import httpx
import pytest

from gcfetch.sandbox import Sandbox
from gcfetch.sandbox.demo import DemoInfo

NO_CREDENTIALS = "Authentication credentials were not provided."


def _get(sandbox: Sandbox, path: str, header: str | None = None, **params: str) -> httpx.Response:
    headers = {"Authorization": header} if header is not None else {}
    return httpx.get(sandbox.base_url + path, headers=headers, params=params)


def _bearer(demo: DemoInfo, user: str) -> str:
    return f"Bearer {demo.tokens[user]}"


@pytest.mark.parametrize("path", ["gcapi/", "algorithms/", "algorithms/jobs/", "cases/images/"])
@pytest.mark.parametrize(
    ("header", "detail"),
    [
        ("Bearer", "Invalid token header. No credentials provided."),
        ("Bearer a b", "Invalid token header. Token string should not contain spaces."),
        ("Bearer " + "0" * 64, "Invalid token."),
        ("Bearer not-hex", "Invalid token."),
    ],
)
def test_api_answers_401_with_www_authenticate_when_bearer_header_is_bad(
    sandbox: Sandbox, path: str, header: str, detail: str
) -> None:
    response = _get(sandbox, path, header)
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/json"


def test_api_answers_401_when_token_is_expired(sandbox: Sandbox, demo: DemoInfo) -> None:
    response = _get(sandbox, "algorithms/", f"Bearer {demo.expired_token}")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_api_answers_401_when_user_is_inactive(sandbox: Sandbox, demo: DemoInfo) -> None:
    response = _get(sandbox, "gcapi/", _bearer(demo, "inactive"))
    assert response.status_code == 401
    assert response.json() == {"detail": "User inactive or deleted."}
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("header", [None, "", "Token abc", "Basic dXNlcjpwYXNz"])
def test_api_runs_as_anonymous_when_header_is_absent_or_another_scheme(
    sandbox: Sandbox, demo: DemoInfo, header: str | None
) -> None:
    response = _get(sandbox, "algorithms/", header)
    assert response.status_code == 200
    assert [a["slug"] for a in response.json()["results"]] == [demo.public_algorithm]


def test_api_accepts_uppercase_bearer_keyword_when_token_is_valid(
    sandbox: Sandbox, demo: DemoInfo
) -> None:
    response = _get(sandbox, "algorithms/", f"BEARER {demo.tokens['editor']}")
    assert response.status_code == 200
    assert {a["slug"] for a in response.json()["results"]} == set(demo.algorithms)


def test_version_returns_configured_versions_when_anonymous(sandbox: Sandbox) -> None:
    response = _get(sandbox, "gcapi/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "latest_version": sandbox.settings.gcapi_latest_version,
        "lowest_supported_version": sandbox.settings.gcapi_lowest_supported_version,
    }


@pytest.mark.parametrize("path", ["components/interfaces/", "components/interfaces/1/"])
@pytest.mark.parametrize("header", [None, "Token abc"])
def test_interfaces_answer_401_when_anonymous(
    sandbox: Sandbox, path: str, header: str | None
) -> None:
    response = _get(sandbox, path, header)
    assert response.status_code == 401
    assert response.json() == {"detail": NO_CREDENTIALS}
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("user", ["outsider", "viewer", "editor"])
def test_interfaces_list_every_socket_when_user_is_not_anonymous(
    sandbox: Sandbox, demo: DemoInfo, user: str
) -> None:
    body = _get(sandbox, "components/interfaces/", _bearer(demo, user)).json()
    assert body["count"] == len(demo.sockets)


@pytest.mark.parametrize(
    ("user", "expected"),
    [(None, {"lung-nodule-detector"}), ("outsider", {"lung-nodule-detector"}),
     ("viewer", {"lung-nodule-detector", "tissue-overlay"})],
)  # fmt: skip
def test_algorithms_list_only_visible_ones_when_user_varies(
    sandbox: Sandbox, demo: DemoInfo, user: str | None, expected: set[str]
) -> None:
    header = _bearer(demo, user) if user else None
    body = _get(sandbox, "algorithms/", header).json()
    assert {a["slug"] for a in body["results"]} == expected
    assert body["count"] == len(expected)


def test_algorithm_detail_answers_404_not_403_when_algorithm_is_private(
    sandbox: Sandbox, demo: DemoInfo
) -> None:
    private = demo.algorithms["tissue-overlay"]
    response = _get(sandbox, f"algorithms/{private}/", _bearer(demo, "outsider"))
    assert response.status_code == 404
    assert response.json() == {"detail": "No Algorithm matches the given query."}


@pytest.mark.parametrize("user", [None, "outsider", "viewer", "editor"])
def test_jobs_list_public_jobs_and_viewed_jobs_when_user_varies(
    sandbox: Sandbox, demo: DemoInfo, user: str | None
) -> None:
    header = _bearer(demo, user) if user else None
    body = _get(sandbox, "algorithms/jobs/", header, limit="1000").json()
    expected = set(demo.public_jobs) | set(demo.job_viewers.get(user or "", []))
    assert {job["pk"] for job in body["results"]} == expected
    assert body["count"] == len(expected)


def test_job_detail_answers_404_when_user_does_not_view_job(
    sandbox: Sandbox, demo: DemoInfo
) -> None:
    hidden = next(pk for pk in demo.jobs if pk not in demo.public_jobs)
    response = _get(sandbox, f"algorithms/jobs/{hidden}/", _bearer(demo, "outsider"))
    assert response.status_code == 404
    assert response.json() == {"detail": "No Job matches the given query."}


def test_algorithm_images_are_hidden_when_user_is_not_an_editor(
    sandbox: Sandbox, demo: DemoInfo
) -> None:
    image_pk = demo.algorithm_images["tissue-overlay"][0]
    for user in ("viewer", "outsider"):
        listing = _get(sandbox, "algorithms/images/", _bearer(demo, user)).json()
        assert listing["count"] == 0
        detail = _get(sandbox, f"algorithms/images/{image_pk}/", _bearer(demo, user))
        assert detail.status_code == 404
        assert detail.json() == {"detail": "No AlgorithmImage matches the given query."}
    editor = _get(sandbox, f"algorithms/images/{image_pk}/", _bearer(demo, "editor"))
    assert editor.status_code == 200


def test_image_detail_answers_404_when_no_visible_job_uses_it(
    sandbox: Sandbox, demo: DemoInfo
) -> None:
    editor_images = _get(sandbox, "cases/images/", _bearer(demo, "editor"), limit="1000").json()
    outsider_images = _get(sandbox, "cases/images/", _bearer(demo, "outsider"), limit="1000")
    visible = {image["pk"] for image in outsider_images.json()["results"]}
    hidden = next(i["pk"] for i in editor_images["results"] if i["pk"] not in visible)
    response = _get(sandbox, f"cases/images/{hidden}/", _bearer(demo, "outsider"))
    assert response.status_code == 404
    assert response.json() == {"detail": "No Image matches the given query."}
