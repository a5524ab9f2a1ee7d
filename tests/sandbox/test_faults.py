"""Fault injection in the sandbox: each fault as a client sees it over HTTP."""

from __future__ import annotations

import gzip
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from tests.reliability.helpers import wait_idle

from gcfetch.sandbox import Sandbox, SandboxSettings
from gcfetch.sandbox.demo import DemoInfo
from gcfetch.sandbox.faults import Fault, FaultSettings, draw
from gcfetch.sandbox.injection import accepts_gzip
from gcfetch.sandbox.storage import signer_for
from gcfetch.sandbox.tables import ImageFile, SocketValue


@pytest.fixture(scope="module")
def blob(faulty: Sandbox) -> tuple[str, str, bytes]:
    """(media path, storage key, bytes) of the largest image file of the demo (tens of kB)."""
    with faulty.apps.sessionmaker() as session:
        keys = list(session.scalars(select(ImageFile.key)))
    key = max(keys, key=lambda k: (faulty.settings.blob_dir / k).stat().st_size)
    return f"/media/{key}", key, (faulty.settings.blob_dir / key).read_bytes()


def _signed(sandbox: Sandbox, key: str) -> str:
    return signer_for(sandbox.settings).url(sandbox.settings.storage_origin, key)


def _stream(url: str, headers: dict[str, str] | None = None) -> tuple[httpx.Response, bytes, str]:
    """GET `url`, keeping the bytes that arrived and the name of the error that ended it."""
    received = b""
    with httpx.Client() as client, client.stream("GET", url, headers=headers) as response:
        try:
            for piece in response.iter_raw():
                received += piece
        except httpx.HTTPError as exc:
            return response, received, type(exc).__name__
    return response, received, ""


def test_draw_is_the_same_when_seed_and_parts_are_the_same():
    assert draw(7, "x", "/a", 1) == draw(7, "x", "/a", 1)
    assert draw(7, "x", "/a", 1) != draw(8, "x", "/a", 1)
    assert 0 <= draw(0, "y") < 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "nope"},
        {"kind": "status", "status": 404},
        {"kind": "drop", "rate": 1.5},
        {"kind": "drop", "always": True},
        {"kind": "gzip", "star_total": True},
    ],
)
def test_fault_raises_value_error_when_settings_invalid(kwargs):
    with pytest.raises(ValueError):
        Fault(**kwargs)


def test_latency_delays_every_request_when_latency_ms_set(demo_dir: Path):
    settings = SandboxSettings(data_dir=demo_dir, faults=FaultSettings(latency_ms=150.0))
    with Sandbox(settings) as sandbox, httpx.Client() as client:
        started = time.monotonic()
        api = client.get(sandbox.base_url)
        storage = client.get(sandbox.storage_url + "nothing")
        elapsed = time.monotonic() - started
    assert api.status_code == 401  # the API root, anonymous
    assert storage.status_code == 403
    assert elapsed >= 0.3


def test_latency_does_not_block_the_other_origin_when_storage_is_slow(faulty: Sandbox):
    faulty.set_faults(FaultSettings(storage_latency_ms=3000.0))
    with ThreadPoolExecutor(1) as pool, httpx.Client() as client:
        slow = pool.submit(httpx.get, faulty.storage_url + "nothing")
        while faulty.traffic.in_flight == 0:
            time.sleep(0.01)
        fast = client.get(faulty.base_url + "algorithms/")
        assert fast.status_code == 200
        assert not slow.done()
        assert slow.result().status_code == 403


def test_set_faults_changes_latency_when_sandbox_is_running(faulty: Sandbox):
    faulty.set_faults(FaultSettings(latency_ms=300.0))
    started = time.monotonic()
    httpx.get(faulty.base_url)
    assert time.monotonic() - started >= 0.3


def _statuses(sandbox: Sandbox, faults: FaultSettings, paths: list[str]) -> list[int]:
    sandbox.set_faults(faults)
    with httpx.Client() as client:
        return [client.get(sandbox.settings.api_origin + p).status_code for p in paths]


def test_status_fault_replays_same_answers_when_seed_is_the_same(faulty: Sandbox):
    paths = ["/api/v1/", "/api/v1/algorithms/"] * 20
    rule = (Fault("status", status=503, rate=0.5),)
    first = _statuses(faulty, FaultSettings(seed=3, rules=rule), paths)
    again = _statuses(faulty, FaultSettings(seed=3, rules=rule), paths)
    other = _statuses(faulty, FaultSettings(seed=4, rules=rule), paths)
    assert first == again
    assert set(first) == {200, 401, 503} or set(first) == {200, 503}
    assert first != other


def test_status_fault_answers_first_requests_per_path_when_first_given(faulty: Sandbox):
    rule = Fault("status", status=429, first=2, path="/api/v1/a*", retry_after=3)
    faulty.set_faults(FaultSettings(rules=(rule,)))
    before = faulty.faults_injected.get("status", 0)
    with httpx.Client(base_url=faulty.settings.api_origin) as client:
        answers = [client.get("/api/v1/algorithms/") for _ in range(3)]
        other = [client.get("/api/v1/algorithms/images/").status_code for _ in range(3)]
        untouched = client.get("/api/v1/gcapi/")
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].headers["retry-after"] == "3"
    assert other == [429, 429, 200]
    assert untouched.status_code == 200
    assert faulty.faults_injected["status"] == before + 4


def test_status_fault_sends_http_date_when_retry_after_date(faulty: Sandbox):
    rule = Fault("status", status=503, first=1, retry_after=5, retry_after_date=True)
    faulty.set_faults(FaultSettings(rules=(rule,)))
    answer = httpx.get(faulty.base_url)
    when = parsedate_to_datetime(answer.headers["retry-after"])
    assert answer.status_code == 503
    assert (when - datetime.now(UTC)).total_seconds() >= 4


def test_status_fault_spares_api_when_origin_is_storage(faulty: Sandbox, blob):
    rule = Fault("status", status=502, rate=1.0, origin="storage")
    faulty.set_faults(FaultSettings(rules=(rule,)))
    assert httpx.get(faulty.base_url + "gcapi/").status_code == 200
    assert httpx.get(_signed(faulty, blob[1])).status_code == 502


def test_drop_fault_closes_connection_after_k_bytes_when_body_is_longer(faulty: Sandbox, blob):
    faulty.set_faults(FaultSettings(rules=(Fault("drop", first=1, after_bytes=1000),)))
    url = _signed(faulty, blob[1])
    response, received, error = _stream(url)
    assert response.status_code == 200
    assert received == blob[2][:1000]
    assert error in ("RemoteProtocolError", "ReadError")
    assert httpx.get(url).content == blob[2]


def test_short_fault_ends_body_before_content_length_when_fired(faulty: Sandbox, blob):
    faulty.set_faults(FaultSettings(rules=(Fault("short", first=1, after_bytes=10),)))
    response, received, error = _stream(_signed(faulty, blob[1]))
    assert int(response.headers["content-length"]) == len(blob[2]) + 10
    assert received == blob[2]
    assert error in ("RemoteProtocolError", "ReadError")


def test_drop_fault_cuts_ranged_answer_too_when_range_requested(faulty: Sandbox, blob):
    faulty.set_faults(FaultSettings(rules=(Fault("drop", rate=1.0, after_bytes=100),)))
    response, received, error = _stream(_signed(faulty, blob[1]), {"Range": "bytes=500-"})
    assert response.status_code == 206
    assert received == blob[2][500:600]
    assert error


def test_slow_fault_delays_first_body_byte_when_fired(faulty: Sandbox, blob):
    faulty.set_faults(FaultSettings(rules=(Fault("slow", first=1, delay_ms=400),)))
    started = time.monotonic()
    response = httpx.get(_signed(faulty, blob[1]))
    assert time.monotonic() - started >= 0.4
    assert response.content == blob[2]


def test_slow_fault_trips_client_read_timeout_when_longer_than_it(faulty: Sandbox, blob):
    faulty.set_faults(FaultSettings(rules=(Fault("slow", first=1, delay_ms=1500),)))
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(_signed(faulty, blob[1]), timeout=httpx.Timeout(5.0, read=0.3))


def test_etag_fault_sends_same_bytes_under_other_etag_when_fired(faulty: Sandbox, blob):
    url = _signed(faulty, blob[1])
    normal = httpx.get(url)
    faulty.set_faults(FaultSettings(rules=(Fault("etag", first=1),)))
    ranged = {"Range": "bytes=100-", "If-Range": normal.headers["etag"]}
    changed = httpx.get(url, headers=ranged)
    unchanged = httpx.get(url, headers=ranged)
    assert changed.status_code == 200 and changed.content == blob[2]
    assert changed.headers["etag"] != normal.headers["etag"]
    assert unchanged.status_code == 206 and unchanged.content == blob[2][100:]


def test_ifrange_fault_answers_range_with_206_when_if_range_no_longer_matches(
    faulty: Sandbox, blob
):
    url = _signed(faulty, blob[1])
    stale = {"Range": "bytes=100-", "If-Range": '"an-old-etag"'}
    faulty.set_faults(FaultSettings())
    honoured = httpx.get(url, headers=stale)
    faulty.set_faults(FaultSettings(rules=(Fault("ifrange", rate=1.0),)))
    ignored = httpx.get(url, headers=stale)
    assert honoured.status_code == 200 and honoured.content == blob[2]
    assert ignored.status_code == 206 and ignored.content == blob[2][100:]


def test_changed_fault_sends_other_bytes_of_same_size_when_fired(faulty: Sandbox, blob):
    url = _signed(faulty, blob[1])
    normal = httpx.get(url)
    faulty.set_faults(FaultSettings(rules=(Fault("changed", first=1),)))
    changed = httpx.get(url)
    assert changed.headers["etag"] != normal.headers["etag"]
    assert len(changed.content) == len(blob[2]) and changed.content != blob[2]
    assert httpx.get(url).content == blob[2]


def test_expired_fault_redirects_to_refused_link_when_fired(faulty: Sandbox, demo: DemoInfo, blob):
    faulty.set_faults(FaultSettings(rules=(Fault("expired", first=1),)))
    auth = {"Authorization": f"Bearer {demo.tokens['editor']}"}
    with httpx.Client(base_url=faulty.settings.api_origin, headers=auth) as client:
        stale = client.get(blob[0])
        fresh = client.get(blob[0])
    assert stale.status_code == fresh.status_code == 302
    assert httpx.get(stale.headers["location"]).status_code == 403
    assert httpx.get(fresh.headers["location"]).content == blob[2]


def test_traffic_records_each_request_and_counts_only_file_bytes_when_served(faulty: Sandbox):
    with faulty.apps.sessionmaker() as session:  # a key no other test asks for
        key = min(session.scalars(select(ImageFile.key)))
    data = (faulty.settings.blob_dir / key).read_bytes()
    httpx.get(_signed(faulty, key))
    httpx.get(_signed(faulty, key), headers={"Authorization": "Bearer x"})
    wait_idle(faulty)  # a request is logged once its answer is complete, maybe after ours
    mine = [r for r in faulty.traffic if r.path == "/" + key]
    assert [(r.origin, r.status, r.authorization) for r in mine] == [
        ("storage", 200, False),
        ("storage", 403, True),
    ]
    assert mine[0].body_bytes == len(data) and mine[1].body_bytes > 0
    # file bytes only: the 403 error page is not counted
    assert faulty.traffic.bytes_sent("storage", "/" + key) == len(data)


def test_bandwidth_limit_paces_storage_body_when_set(faulty: Sandbox, blob):
    faulty.set_faults(FaultSettings(storage_bytes_per_second=len(blob[2]) * 2))
    started = time.monotonic()
    response = httpx.get(_signed(faulty, blob[1]))
    assert time.monotonic() - started >= 0.45
    assert response.content == blob[2]


def test_connection_cap_paces_answers_on_one_connection_together(faulty: Sandbox, blob):
    size = len(blob[2])
    faulty.set_faults(FaultSettings(storage_conn_bytes_per_second=size * 4))
    started = time.monotonic()
    with httpx.Client() as client:  # one kept-alive connection: four bodies at its one rate
        bodies = [client.get(_signed(faulty, blob[1])).content for _ in range(4)]
    assert time.monotonic() - started >= 0.9
    assert bodies == [blob[2]] * 4


def test_connection_cap_leaves_each_connection_its_own_rate(faulty: Sandbox, blob):
    size = len(blob[2])
    faulty.set_faults(FaultSettings(storage_conn_bytes_per_second=size * 2))

    def fetch(_: int) -> bytes:
        with httpx.Client() as client:
            return client.get(_signed(faulty, blob[1])).content

    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        bodies = list(pool.map(fetch, range(4)))
    elapsed = time.monotonic() - started
    assert bodies == [blob[2]] * 4
    assert 0.45 <= elapsed < 1.5  # four connections at once: ~0.5 s, not the 2 s of one


def test_norange_fault_answers_range_with_whole_body(faulty: Sandbox, blob):
    faulty.set_faults(FaultSettings(rules=(Fault("norange", rate=1.0),)))
    response = httpx.get(_signed(faulty, blob[1]), headers={"Range": "bytes=10-19"})
    assert response.status_code == 200
    assert response.content == blob[2]
    faulty.set_faults(FaultSettings())
    ranged = httpx.get(_signed(faulty, blob[1]), headers={"Range": "bytes=10-19"})
    assert (ranged.status_code, ranged.content) == (206, blob[2][10:20])


@pytest.fixture(scope="module")
def files(faulty: Sandbox) -> dict[str, tuple[str, bytes]]:
    """(storage key, bytes) of one `.json`, `.csv` and `.pdf` file output of the demo."""
    with faulty.apps.sessionmaker() as session:
        keys = [k for k in session.scalars(select(SocketValue.file_key)) if k]
    found = {}
    for suffix in (".json", ".csv", ".pdf"):
        key = min(k for k in keys if k.endswith(suffix))
        found[suffix] = key, (faulty.settings.blob_dir / key).read_bytes()
    return found


@pytest.mark.parametrize("suffix", [".json", ".csv", ".pdf"])
def test_gzip_fault_compresses_body_when_client_accepts_gzip(faulty: Sandbox, files, suffix):
    key, data = files[suffix]
    faulty.set_faults(FaultSettings(rules=(Fault("gzip", rate=1.0),)))
    ranged = {"Accept-Encoding": "gzip, deflate", "Range": "bytes=5-"}
    response, received, error = _stream(_signed(faulty, key), ranged)
    assert (response.status_code, error) == (200, "")
    assert response.headers["content-encoding"] == "gzip"
    assert int(response.headers["content-length"]) == len(received) != len(data)
    assert gzip.decompress(received) == data


@pytest.mark.parametrize("accept", ["identity", "gzip;q=0, identity", "br", None])
def test_gzip_fault_sends_file_bytes_when_client_does_not_accept_gzip(
    faulty: Sandbox, files, accept
):
    key, data = files[".json"]
    faulty.set_faults(FaultSettings(rules=(Fault("gzip", rate=1.0),)))
    headers = {"Accept-Encoding": accept} if accept else {}
    with httpx.Client() as client:
        request = client.build_request("GET", _signed(faulty, key), headers=headers)
        if accept is None:
            del request.headers["Accept-Encoding"]
        response = client.send(request)
    assert "content-encoding" not in response.headers
    assert response.content == data


def test_gzip_fault_compresses_even_for_identity_when_always(faulty: Sandbox, files):
    key, data = files[".csv"]
    faulty.set_faults(FaultSettings(rules=(Fault("gzip", first=1, always=True),)))
    url = _signed(faulty, key)
    first, received, _ = _stream(url, {"Accept-Encoding": "identity"})
    second, again, _ = _stream(url, {"Accept-Encoding": "identity"})
    assert first.headers["content-encoding"] == "gzip" and gzip.decompress(received) == data
    assert "content-encoding" not in second.headers and again == data


def test_gzip_fault_leaves_other_files_alone_when_fired(faulty: Sandbox, blob):
    faulty.set_faults(FaultSettings(rules=(Fault("gzip", rate=1.0, always=True),)))
    response = httpx.get(_signed(faulty, blob[1]), headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in response.headers
    assert response.content == blob[2]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("GZIP;q=0.5", True),
        ("x-gzip", True),
        ("*", True),
        ("identity", False),
        ("gzip;q=0", False),
        ("gzip; q=0.0, identity", False),
        ("*, gzip;q=0", False),
        ("deflate", False),
        ("", False),
        (None, False),
    ],
)
def test_accepts_gzip_reads_q_values_when_parsing_accept_encoding(accept, expected):
    assert accepts_gzip(accept) is expected


def test_traffic_records_accept_encoding_when_served(faulty: Sandbox, blob):
    httpx.get(_signed(faulty, blob[1]), headers={"Accept-Encoding": "identity"})
    wait_idle(faulty)
    assert [r for r in faulty.traffic if r.path == "/" + blob[1]][-1].accept_encoding == "identity"


def test_nolength_fault_sends_chunked_body_when_fired(faulty: Sandbox, blob):
    faulty.set_faults(FaultSettings(rules=(Fault("nolength", rate=1.0),)))
    url = _signed(faulty, blob[1])
    whole, received, error = _stream(url)
    ranged, tail, _ = _stream(url, {"Range": "bytes=100-"})
    size = len(blob[2])
    assert "content-length" not in whole.headers and not error
    assert whole.headers["transfer-encoding"] == "chunked" and received == blob[2]
    assert "content-length" not in ranged.headers and tail == blob[2][100:]
    assert ranged.headers["content-range"] == f"bytes 100-{size - 1}/{size}"


def test_nolength_fault_hides_total_when_star(faulty: Sandbox, blob):
    faulty.set_faults(FaultSettings(rules=(Fault("nolength", rate=1.0, star_total=True),)))
    ranged, tail, _ = _stream(_signed(faulty, blob[1]), {"Range": "bytes=100-"})
    assert ranged.headers["content-range"] == f"bytes 100-{len(blob[2]) - 1}/*"
    assert tail == blob[2][100:]


def test_drop_with_nolength_ends_body_cleanly_when_both_fire(faulty: Sandbox, blob):
    rules = (Fault("nolength", first=1), Fault("drop", first=1, after_bytes=1000))
    faulty.set_faults(FaultSettings(rules=rules))
    url = _signed(faulty, blob[1])
    response, received, error = _stream(url)
    assert response.status_code == 200 and error == ""
    assert received == blob[2][:1000]
    assert httpx.get(url).content == blob[2]
