"""Query-string filters validated as django-filter validates them (§2, §5.3, §5.4, §5.7).

A filter on a related object is a model-choice field: a value that is not a UUID, or names no
row at all (visible or not), is a 400 with field-keyed messages. Empty values do not filter.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute, Session

INVALID_CHOICE = "Select a valid choice. That choice is not one of the available choices."


def canonical_uuid(raw: str) -> str | None:
    """The lowercase hyphenated form of a UUID string, or None if it is not one."""
    try:
        return str(uuid.UUID(raw))
    except (ValueError, AttributeError):
        return None


@dataclass
class FilterErrors:
    """Messages per field; `body` is the 400 response body (None if no error)."""

    messages: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.messages.setdefault(name, []).append(message)

    @property
    def body(self) -> dict[str, list[str]] | None:
        return self.messages or None


def model_choice(
    session: Session,
    pk_column: InstrumentedAttribute[str],
    name: str,
    raw: str | None,
    errors: FilterErrors,
) -> str | None:
    """Django's ModelChoiceField: the canonical pk, None for no filter; errors on bad input."""
    if raw is None or raw == "":
        return None
    pk = canonical_uuid(raw)
    if pk is None or session.scalar(select(pk_column).where(pk_column == pk)) is None:
        errors.add(name, INVALID_CHOICE)
        return None
    return pk


def model_multiple_choice(
    session: Session,
    pk_column: InstrumentedAttribute[str],
    name: str,
    raws: Sequence[str],
    errors: FilterErrors,
) -> list[str]:
    """Django's ModelMultipleChoiceField: every value must be a UUID naming an existing row.

    As in Django, a value is compared to the row's canonical pk as a string, so an uppercase
    UUID is "not one of the available choices". No values means no filter.
    """
    if not raws:
        return []
    for raw in raws:
        if canonical_uuid(raw) is None:
            errors.add(name, f"\u201c{raw}\u201d is not a valid UUID.")
            return []
    wanted = {canonical_uuid(raw) for raw in raws}
    found = set(session.scalars(select(pk_column).where(pk_column.in_(wanted))))
    for raw in raws:
        if raw not in found:
            errors.add(name, f"Select a valid choice. {raw} is not one of the available choices.")
            return []
    return list(dict.fromkeys(raws))


def exact(column: InstrumentedAttribute[str], raw: str | None) -> ColumnElement[bool] | None:
    """An exact-match filter on a plain field; None when absent or empty."""
    if raw is None or raw == "":
        return None
    return column == raw
