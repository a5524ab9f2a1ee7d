"""One router per resource; each top-level router lives in its own module."""

from gcfetch.sandbox.routes.api import api_router
from gcfetch.sandbox.routes.media import media_router
from gcfetch.sandbox.routes.storage_origin import storage_router

__all__ = ["api_router", "media_router", "storage_router"]
