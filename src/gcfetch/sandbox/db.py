"""Engine and sessions for one sandbox."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from gcfetch.sandbox.settings import SandboxSettings
from gcfetch.sandbox.tables import Base

# Connections kept open: one per thread the sync views run on (anyio's default of 40), so a
# busy sandbox does not open and close a connection (and run its PRAGMAs) per request.
POOL_SIZE = 40


def make_engine(settings: SandboxSettings) -> Engine:
    """Create the engine and the tables (idempotent)."""
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, pool_size=POOL_SIZE, max_overflow=10
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
    else:
        engine = create_engine(url)
    Base.metadata.create_all(engine)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
