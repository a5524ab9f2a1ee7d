"""Request dependencies of every view: settings, database session, the user behind the token
(§1.3), 404s and the serializer."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from gcfetch.sandbox.serialize import Serializer
from gcfetch.sandbox.settings import SandboxSettings
from gcfetch.sandbox.tables import Token, User


class InvalidToken(Exception):
    """A Bearer header that the API answers with 401; `detail` is the body's message."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def token_digest(token: str) -> str:
    """Tokens are stored as their SHA-512 hex digest, never in clear."""
    return hashlib.sha512(token.encode()).hexdigest()


# Built once: finding a statement's compiled form costs more than running this one.
_TOKEN = select(Token).options(joinedload(Token.user)).where(Token.digest == bindparam("digest"))


def authenticate(session: Session, authorization: str | None) -> User | None:
    """The user for an `Authorization` header; None for anonymous.

    Raises InvalidToken exactly where knox answers 401 (§1.3). Other schemes are ignored.
    """
    if not authorization:
        return None
    parts = authorization.split()
    if not parts or parts[0].lower() != "bearer":
        return None
    if len(parts) == 1:
        raise InvalidToken("Invalid token header. No credentials provided.")
    if len(parts) > 2:
        raise InvalidToken("Invalid token header. Token string should not contain spaces.")
    token = session.scalar(_TOKEN, {"digest": token_digest(parts[1])})
    now = datetime.now(UTC).replace(tzinfo=None)
    if token is None or (token.expiry is not None and token.expiry < now):
        raise InvalidToken("Invalid token.")
    if not token.user.is_active:
        raise InvalidToken("User inactive or deleted.")
    return token.user


# Both are async so that FastAPI runs them on the event loop: a sync dependency costs a hop to
# the thread pool and back (a generator one two), on every request. Neither waits: a session
# connects only when a (sync) view first uses it, and closing it returns the connection.
async def get_settings(request: Request) -> SandboxSettings:
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    with request.app.state.sessionmaker() as session:
        yield session


SettingsDep = Annotated[SandboxSettings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]

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


def serializer(request: Request, settings: SettingsDep) -> Serializer:
    """A serializer building URLs from the scheme, host and port this request used."""
    return Serializer(str(request.base_url), interface_only=settings.interface_only)


SerializerDep = Annotated[Serializer, Depends(serializer)]
