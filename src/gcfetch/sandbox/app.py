"""`create_app(settings)`: the API origin and the storage origin of one sandbox."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI, Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from gcfetch.sandbox.db import make_engine, make_sessionmaker
from gcfetch.sandbox.faults import Origin
from gcfetch.sandbox.injection import FaultInjector, FaultMiddleware
from gcfetch.sandbox.responses import html_not_found
from gcfetch.sandbox.routes import api_router, media_router, storage_router
from gcfetch.sandbox.settings import SandboxSettings
from gcfetch.sandbox.traffic import Traffic


@dataclass
class SandboxApps:
    """The two ASGI apps of one sandbox, sharing one database."""

    api: FastAPI
    storage: FastAPI
    engine: Engine
    sessionmaker: sessionmaker[Session]
    faults: FaultInjector
    traffic: Traffic


def _new_app(
    settings: SandboxSettings,
    maker: sessionmaker[Session],
    faults: FaultInjector,
    traffic: Traffic,
    origin: Origin,
) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, redirect_slashes=False)
    app.state.settings = settings
    app.state.sessionmaker = maker
    app.state.faults = faults
    app.add_middleware(FaultMiddleware, injector=faults, traffic=traffic, origin=origin)
    return app


def create_app(settings: SandboxSettings) -> SandboxApps:
    """Build both apps for `settings` (whose ports must already be bound)."""
    engine = make_engine(settings)
    maker = make_sessionmaker(engine)
    faults = FaultInjector(settings.faults)
    traffic = Traffic()
    api = _new_app(settings, maker, faults, traffic, "api")
    api.include_router(api_router(), prefix="/api/v1")
    api.include_router(media_router(), prefix="/media")

    @api.api_route(
        "/{rest:path}",
        methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    def not_found(rest: str) -> Response:
        """Django's HTML 404 page for every other path, never JSON (contract §2)."""
        return html_not_found()

    storage = _new_app(settings, maker, faults, traffic, "storage")
    storage.include_router(storage_router())
    return SandboxApps(
        api=api, storage=storage, engine=engine, sessionmaker=maker, faults=faults, traffic=traffic
    )
