"""What every API view shares: the user behind the token, 404s and the serializer."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from gcfetch.sandbox.deps import InvalidToken, SessionDep, authenticate
from gcfetch.sandbox.serialize import Serializer
from gcfetch.sandbox.tables import User

WWW_AUTHENTICATE = {"WWW-Authenticate": "Bearer"}
READ_METHODS = ["GET", "HEAD"]


def current_user(request: Request, session: SessionDep) -> User | None:
    """The token's user, None for anonymous; a bad Bearer header is a 401 on every view."""
    try:
        return authenticate(session, request.headers.get("authorization"))
    except InvalidToken as exc:
        raise HTTPException(401, exc.detail, headers=WWW_AUTHENTICATE) from exc


def authenticated_user(user: User | None) -> User:
    """A non-anonymous user, else DRF's 401 `NotAuthenticated`."""
    if user is None:
        raise HTTPException(
            401, "Authentication credentials were not provided.", headers=WWW_AUTHENTICATE
        )
    return user


UserDep = Annotated[User | None, Depends(current_user)]


def not_found(model: str | None = None) -> HTTPException:
    """Django's 404 for a missing or invisible `model`; a malformed pk gives `Not found.`."""
    return HTTPException(404, f"No {model} matches the given query." if model else "Not found.")


def serializer(request: Request) -> Serializer:
    """A serializer building URLs from the scheme, host and port this request used."""
    return Serializer(str(request.base_url))


SerializerDep = Annotated[Serializer, Depends(serializer)]
