"""API tokens of a sandbox's users, minted outside a running server (e.g. by the CLI)."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from gcfetch.sandbox.db import make_engine
from gcfetch.sandbox.deps import token_digest
from gcfetch.sandbox.settings import SandboxSettings
from gcfetch.sandbox.tables import Token, User


def issue_token(settings: SandboxSettings, username: str) -> str:
    """A new non-expiring token of `username` (created, active, if missing), in clear.

    Only its digest is stored, as for every token of the sandbox.
    """
    token = secrets.token_hex(32)
    engine = make_engine(settings)
    try:
        with Session(engine) as session:
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                user = User(username=username, is_active=True)
                session.add(user)
                session.flush()
            session.add(Token(user_id=user.id, digest=token_digest(token), expiry=None))
            session.commit()
    finally:
        engine.dispose()
    return token
