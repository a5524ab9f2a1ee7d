"""Pure shaping rules of the sandbox API: URLs, durations, datetimes, socket value order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from gcfetch.sandbox.serialize import iso_datetime, iso_duration, sort_socket_values
from gcfetch.sandbox.storage import value_file_key
from gcfetch.sandbox.tables import Socket, SocketValue


@pytest.mark.parametrize(
    ("pk", "prefix"),
    [(42, "00/2a"), (1234567, "d6/87"), (1, "00/01"), (0xABCD, "ab/cd"), (0x10000, "00/00")],
)
def test_value_file_key_uses_last_two_hex_pairs_when_pk_varies(pk: int, prefix: str) -> None:
    key = value_file_key(pk, "report.pdf")
    assert key == f"components/componentinterfacevalue/{prefix}/{pk}/report.pdf"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, None), (0, "P0DT00H00M00S"), (65.25, "P0DT00H01M05.250000S"),
     (42.118, "P0DT00H00M42.118000S"), (90061, "P1DT01H01M01S")],
)  # fmt: skip
def test_iso_duration_matches_django_when_seconds_vary(seconds: float | None, text: str) -> None:
    assert iso_duration(seconds) == text


def test_iso_datetime_renders_utc_with_z_when_naive_or_aware() -> None:
    assert iso_datetime(datetime(2025, 5, 26, 15, 4, 2, 123456)) == "2025-05-26T15:04:02.123456Z"
    aware = datetime(2025, 5, 26, 17, 4, 2, 5, tzinfo=timezone(timedelta(hours=2)))
    assert iso_datetime(aware) == "2025-05-26T15:04:02.000005Z"
    assert iso_datetime(datetime(2025, 5, 26, tzinfo=UTC)) == "2025-05-26T00:00:00Z"


def test_sort_socket_values_groups_by_kind_then_slug_when_mixed() -> None:
    kinds = {
        "z-image": "Image", "a-seg": "Segmentation", "m-pdf": "PDF file", "b-csv": "CSV file",
        "y-thumb": "Thumbnail png", "x-chart": "Chart", "c-chart": "Chart", "w-float": "Float",
        "d-json-file": "Anything", "e-odd": "Unknown kind",
    }  # fmt: skip
    values = [
        SocketValue(pk=i, socket=Socket(slug=slug, kind=kind))
        for i, (slug, kind) in enumerate(kinds.items())
    ]
    ordered = [v.socket.slug for v in sort_socket_values(values)]
    assert ordered == ["d-json-file", "w-float", "y-thumb", "c-chart", "x-chart", "b-csv",
                       "m-pdf", "a-seg", "z-image", "e-odd"]  # fmt: skip
