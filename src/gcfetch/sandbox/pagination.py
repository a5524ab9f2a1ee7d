"""Limit/offset pagination exactly as DRF's `LimitOffsetPagination` with `max_limit=1000` (§3).

Counting and slicing happen in SQL; `next`/`previous` are the request's own URL with `limit`
and `offset` replaced and the query parameters re-sorted alphabetically, as DRF does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.interfaces import ORMOption

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

T = TypeVar("T")


@dataclass(frozen=True)
class PageParams:
    """The effective `limit` and `offset` of one request."""

    limit: int
    offset: int

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> PageParams:
        """Bad values fall back like DRF: limit 0/negative/non-numeric -> 100, offset -> 0."""
        limit = DEFAULT_LIMIT
        if "limit" in query:
            try:
                limit = _positive_int(query["limit"], strict=True, cutoff=MAX_LIMIT)
            except ValueError:
                limit = DEFAULT_LIMIT
        try:
            offset = _positive_int(query["offset"], strict=False) if "offset" in query else 0
        except ValueError:
            offset = 0
        return cls(limit=limit, offset=offset)


def paginate(
    session: Session,
    statement: Select[tuple[T]],
    url: str,
    query: Mapping[str, str],
    shape: Callable[[Sequence[T]], list[dict[str, Any]]],
    options: Sequence[ORMOption] = (),
) -> dict[str, Any]:
    """The envelope `{count, next, previous, results}` for the ordered `statement`.

    `url` is the full request URL; `shape` turns the page's rows into JSON objects; `options`
    (eager loads) apply to the page query only, not to the count.
    """
    params = PageParams.from_query(query)
    count = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    count = count or 0
    rows: Sequence[T] = []
    if count and params.offset <= count:
        page = statement.options(*options).limit(params.limit).offset(params.offset)
        rows = session.scalars(page).all()
    return {
        "count": count,
        "next": next_link(url, params, count),
        "previous": previous_link(url, params),
        "results": shape(rows),
    }


def next_link(url: str, params: PageParams, count: int) -> str | None:
    if params.offset + params.limit >= count:
        return None
    url = replace_query_param(url, "limit", str(params.limit))
    return replace_query_param(url, "offset", str(params.offset + params.limit))


def previous_link(url: str, params: PageParams) -> str | None:
    if params.offset <= 0:
        return None
    url = replace_query_param(url, "limit", str(params.limit))
    if params.offset - params.limit <= 0:
        return remove_query_param(url, "offset")
    return replace_query_param(url, "offset", str(params.offset - params.limit))


def replace_query_param(url: str, key: str, value: str) -> str:
    """Set `key` to `value`; every other parameter kept, all sorted by name (DRF)."""
    scheme, netloc, path, query, fragment = urlsplit(url)
    params = parse_qs(query, keep_blank_values=True)
    params[key] = [value]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(params.items()), doseq=True),
                       fragment))  # fmt: skip


def remove_query_param(url: str, key: str) -> str:
    """Drop `key`; every other parameter kept, all sorted by name (DRF)."""
    scheme, netloc, path, query, fragment = urlsplit(url)
    params = parse_qs(query, keep_blank_values=True)
    params.pop(key, None)
    return urlunsplit((scheme, netloc, path, urlencode(sorted(params.items()), doseq=True),
                       fragment))  # fmt: skip


def _positive_int(raw: str, *, strict: bool, cutoff: int | None = None) -> int:
    value = int(raw)  # Python's int(), as DRF: accepts " 5", "+5" and "1_0"
    if value < 0 or (value == 0 and strict):
        raise ValueError(raw)
    return min(value, cutoff) if cutoff else value
